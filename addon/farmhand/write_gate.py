"""A write Blender refuses from Python *for good*, made where Blender allows writes: inside a
property's update callback.

Blender's guard against writes from read-only Python callbacks (``pyrna_write_check``,
bpy_rna.cc) is one process-wide flag. Read-only callbacks (draw, poll, a render engine's
instance) set it and property callbacks save and restore it, on the main thread and on a
render job's thread alike, without a lock: when the two threads' Python overlaps, the flag
can stay set with no read-only callback running at all. From then on every data write and
operator call from Python is refused ("Writing to ID classes in this context is not
allowed", "can't modify blend data in this state") until Blender quits: seen in Debian
Blender 3.4 after ~25 cancel rounds of the GUI loop session (the job's scene could not be
removed, the session could not quit). busy.py tells these refusals apart; a refusal that
outlasts any read-only callback (gui_worker: 1 s) is such a stuck flag.

A bpy.props update callback runs with writes allowed whatever the flag (bpy_props.cc,
``bpy_prop_update_fn``: ``if (!is_write_ok) pyrna_write_set(true)`` around the call, the
same in 3.4 to 5.x), and setting a window manager's property is allowed (window managers are
exempt from the guard, ``rna_id_write_error``). :func:`run` calls a function there, on the
main thread, synchronously.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import bpy

T = TypeVar("T")
_calls: list[tuple[Callable, list]] = []  # (function, its outcome) of the run() in progress


def _update(_wm, _context) -> None:
    fn, outcome = _calls[-1]
    try:
        outcome.append((True, fn()))
    except BaseException as exc:  # handed to run()'s caller, never printed by Blender
        outcome.append((False, exc))


def register() -> None:
    bpy.types.WindowManager.farmhand_write_gate = bpy.props.IntProperty(
        name="Farmhand write gate", update=_update, options={"HIDDEN", "SKIP_SAVE"})


def unregister() -> None:
    if hasattr(bpy.types.WindowManager, "farmhand_write_gate"):
        del bpy.types.WindowManager.farmhand_write_gate


def run(fn: Callable[[], T]) -> T:
    """``fn()`` with Blender's writes from Python allowed; returns what it returns, raises
    what it raises. Main thread only (a ``bpy.app.timers`` callback, an operator). Raises
    RuntimeError if the gate is not registered (:func:`register`)."""
    outcome: list = []
    _calls.append((fn, outcome))
    try:
        bpy.context.window_manager.farmhand_write_gate = 0  # the update callback runs now
    except AttributeError as exc:
        raise RuntimeError("farmhand.write_gate is not registered") from exc
    finally:
        _calls.pop()
    if not outcome:
        raise RuntimeError("the write gate's update callback did not run")
    ok, value = outcome[0]
    if ok:
        return value
    raise value
