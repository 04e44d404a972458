"""One frame of a farm job rendered as Blender's own render job (what F12 runs), so the
window stays live: ``bpy.ops.render.render('INVOKE_DEFAULT', scene=..., write_still=True)``
starts it on a render thread and returns at once; ``render_complete`` / ``render_cancel``
handlers say when it ended.

How each piece works in Blender 3.4 (measured under Xvfb; the same code paths exist in 4.x and
5.x, see docs/addon.md "The GUI worker"):

- **Which frame.** With ``scene=`` set, the render operator copies the *context* scene's
  frame into the rendered scene at invoke time (``screen_render_single_layer_set``), so the
  artist's frame is the job's for the invoke call only and restored in the same step. Not
  through RNA: ``frame_current``'s update is a frame change of the artist's scene (their
  scene re-evaluated, every editor showing it redrawn, twice: 0.3 s of a software-OpenGL
  window each, issue 16), so the frame is written into ``RenderData.cfra`` directly
  (:class:`FrameField`: its offset is found by reading, never by writing, and checked on
  two scenes; where it cannot be found, RNA as before).
- **No window over the artist's work.** ``preferences.view.render_display_type`` is read at
  invoke time only: it is set to ``'NONE'`` (keep the user interface) for the call and then
  restored, with ``preferences.is_dirty`` as it was (auto-save never stores our change).
  The render goes into the farm scene's own render slot, so the artist's Render Result (the
  render of their scene) is what the Image Editor keeps showing.
- **Cancel.** A render job stops when ``G.is_break`` is set (Esc pressed anywhere in
  Blender, or the status bar's cancel button) or when its job is killed. Python has no
  direct call for either; deleting the scene through the operator ``scene.delete`` does it:
  ``ED_scene_delete`` kills every job owned by the scene (``WM_jobs_kill_type``, which waits
  for the render thread to end: 0.5-1.3 s for Cycles on 2 loaded cores), then deletes it.
  The scene must come from ``temp_override(scene=...)`` *without* a window in the override
  (with one, ``context.scene`` is the window's scene: the artist's), so :func:`cancel` runs
  from a ``bpy.app.timers`` callback and checks ``context.scene`` before deleting.
  ``undo=False``: no step in the artist's undo history. Only a *running* render is
  deleted so; a scene whose render ended is removed by :func:`remove_scene` (why: there). After a kill the handler that fires
  is ``render_complete`` (3.4), so the worker keeps its own "cancelled" flag rather than
  trusting which handler fired. Starting *another* render kills ours the same way
  (``screen_render_invoke`` kills all other jobs) and its partial image is still written:
  the worker gives such a frame back (gui_worker.py).
- **The artist's window first.** On Linux the threads the render job starts (Blender's job
  thread, where a Cycles render with *Threads* 1 runs whole, and any thread started while it
  renders) get a lower CPU priority (nice 10, :meth:`FrameRender.yield_cpu`): the main
  thread and the OpenGL drawing threads (``llvmpipe-N`` with software OpenGL) are served
  first whenever they compete for a core (weights 1024 vs 110), while the render still gets
  enough of a busy machine to end quickly when it is cancelled (the main thread waits for
  it then; nice 19 made that wait longer). A thread that existed before the render
  (Blender's task pool, shared with the artist's own work) is left alone; the job thread
  ends with the job, so nothing stays lowered for the artist's own renders.
- **The artist's next F12 saves nothing.** ``write_still`` is not a skip-save property of
  ``RENDER_OT_render`` (``screen_render.cc``, every version from 2.8 to 5.x): when the farm
  render's modal handler finishes, Blender stores ``write_still=True`` as the operator's last
  used value, and the artist's next F12 (keymap or menu, which start from the last used
  values) would save its image to *their* output path (``/tmp/.png`` by default). The
  artist's own value is kept from before the first farm render and put back
  (:func:`restore_artist_render_props`) on every event the sharing watcher sees -- our
  render's modal handler, added later, sees each event first, so the value is back before
  any keymap runs -- and on every worker tick while no farm render runs.
- **Progress within a frame.** ``render_stats`` fires only at the end of a GUI render in
  3.4, so progress within a frame is estimated from the elapsed time and the job's previous
  frames (shown as "about").
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time

import bpy

from . import busy, trace
from .log import log
from .render import RenderFailed

RUNNING, DONE, CANCELLED, FAILED = "running", "done", "cancelled", "failed"
FARM_NICE = 10          # CPU priority of the farm render's threads (Linux nice value)
YIELD_EVERY_S = 0.5     # how often new render threads are looked for while rendering
_TASKS = "/proc/self/task"


def _thread_ids() -> set[int]:
    """This process's thread ids (Linux); empty elsewhere."""
    if not sys.platform.startswith("linux"):
        return set()
    try:
        return {int(t) for t in os.listdir(_TASKS)}
    except OSError:
        return set()


def _thread_name(tid: int) -> str:
    try:
        with open(f"{_TASKS}/{tid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


_active: dict[str, "FrameRender"] = {}  # scene name -> the render of that scene
_artist_write_still: bool | None = None  # render.render's last-used write_still before ours


def _last_render_props():
    """``render.render``'s last-used properties (what F12 starts from), or None."""
    try:
        return bpy.context.window_manager.operator_properties_last("render.render")
    except (AttributeError, RuntimeError, TypeError):  # no window manager (loading a file)
        return None


def restore_artist_render_props() -> None:
    """Put the artist's own last-used ``write_still`` of Render Image back when a farm
    render's operator stored ours (see the module doc). Does nothing when no farm render ran
    yet. Cheap: one property read. Done while a farm render runs too: the operator of an
    earlier one may still be waiting for an event to finish and store its value."""
    if _artist_write_still is None:
        return
    last = _last_render_props()
    if last is not None and last.write_still != _artist_write_still:
        last.write_still = _artist_write_still


def artist_render_props_pending() -> bool:
    """Whether a farm render's operator may still store its ``write_still`` (a farm render
    runs or its job is still listed). Called by the sharing watcher after sharing stopped:
    once this is False for an event the watcher sees, the farm render's modal handler (which
    sees every event of the window before the watcher) has finished, the artist's value is
    back, and nothing is watched any more."""
    global _artist_write_still
    if _artist_write_still is None:
        return False
    if _active or render_job_listed():
        return True
    restore_artist_render_props()
    _artist_write_still = None
    return False


class FrameField:
    """``RenderData.cfra`` (``int cfra, sfra, efra;`` in DNA_scene_types.h, 2.5 to 5.x) at an
    offset in ``scene.render``'s struct that differs between versions. :meth:`find` looks
    for the three ints (frame_current, frame_start, frame_end) as RNA reads them in two
    scenes whose triples differ, and keeps the first offset that holds both;
    :meth:`swapped` writes a frame there for the length of a ``with`` block. Nothing is
    written to find it, and nothing notifies."""

    MAX_OFFSET = 4 << 10  # RenderData is ~4-6 KiB (3.4 .. 5.2); cfra lies in its first KiB
    offset: int | None = None
    tried = False

    @staticmethod
    def _triple(scene) -> tuple[int, int, int]:
        return scene.frame_current, scene.frame_start, scene.frame_end

    @classmethod
    def find(cls, scene_a, scene_b) -> int | None:
        """The offset (cached for the process), or None when the two scenes cannot tell it
        (same frames: asked again next time) or it is not there (never asked again). Reads
        forward in small steps and stops at the first offset holding both scenes' frames
        (the struct is read no further than that: nothing past its end)."""
        if cls.offset is not None or cls.tried:
            return cls.offset
        a, b = cls._triple(scene_a), cls._triple(scene_b)
        if a == b:
            return None
        cls.tried = True
        want_a = b"".join(v.to_bytes(4, sys.byteorder, signed=True) for v in a)
        want_b = b"".join(v.to_bytes(4, sys.byteorder, signed=True) for v in b)
        base_a, base_b = scene_a.render.as_pointer(), scene_b.render.as_pointer()
        for at in range(0, cls.MAX_OFFSET - 12, 4):
            if ctypes.string_at(base_a + at, 12) == want_a and \
                    ctypes.string_at(base_b + at, 12) == want_b:
                cls.offset = at
                return at
        log.info("farm render: RenderData.cfra not found: the artist's frame is set through "
                 "RNA for each render start")
        return None

    @classmethod
    def swapped(cls, scene, frame: int):
        """Context manager: ``scene``'s cfra is ``frame`` inside the block (no RNA update,
        no notifier), the old value back after it. Only with :attr:`offset` known."""
        return _CfraSwap(scene.render.as_pointer() + cls.offset, frame)


class _CfraSwap:
    def __init__(self, address: int, frame: int):
        self.cell = ctypes.c_int.from_address(address)
        self.frame = frame
        self.saved = None

    def __enter__(self):
        self.saved = self.cell.value
        self.cell.value = self.frame

    def __exit__(self, *exc):
        self.cell.value = self.saved


class FrameRender:
    """Render ``frame`` of ``scene`` into ``path`` (``frame_0001.png``...) without blocking.

    ``state``: RUNNING after :meth:`start`, then DONE (file written), CANCELLED (Esc, or
    :func:`cancel`) or FAILED (``error`` says why). ``seconds``: wall time of the render.
    """

    def __init__(self, scene, frame: int, path: str):
        self.scene = scene
        self.scene_name = scene.name
        self.frame = frame
        self.path = path
        self.state = RUNNING
        self.error = ""
        self.started = 0.0
        self.seconds = 0.0
        self.ended_at = 0.0
        self.cancel_requested = False
        self.threads_before: set[int] = set()
        self.yielded: set[int] = set()   # thread ids given the farm's priority
        self.yield_checked = 0.0

    def start(self, window, in_window: bool = False) -> None:
        """Invoke the render job in ``window`` (the artist's main window). ``in_window``:
        called where ``bpy.context.window`` already is ``window`` (the sharing watcher's
        modal turn), so no context override is needed -- and none must be used where
        another thread may run Python (see :func:`remove_scene`). Raises RenderFailed when
        Blender refuses to start it (another render of this scene runs, no window); Blender's
        own RuntimeError / AttributeError when it refuses writes for the moment
        (busy.is_refused_write: start it again on a later turn)."""
        # Each RNA assignment sends its update notifier even when the value is unchanged, and
        # a preference's is a redraw of every area of every window (the costliest redraw
        # there is with software OpenGL): only what differs is assigned.
        _set(self.scene.render, "filepath", os.path.splitext(self.path)[0])
        artist_scene = window.scene
        prefs = bpy.context.preferences
        saved = (prefs.view.render_display_type, prefs.is_dirty, artist_scene.frame_current)
        global _artist_write_still
        if _artist_write_still is None:
            last = _last_render_props()
            _artist_write_still = bool(last.write_still) if last is not None else False
        _active[self.scene_name] = self
        self.threads_before = _thread_ids()
        self.started = time.monotonic()
        try:
            _set(prefs.view, "render_display_type", "NONE")
            _set(self.scene, "frame_current", self.frame)
            # the artist's frame is copied into the farm scene: theirs is the job's for the
            # invoke call (written directly where FrameField knows where, else through RNA)
            swap = None
            if artist_scene.frame_current != self.frame:
                if FrameField.find(artist_scene, self.scene) is not None:
                    swap = FrameField.swapped(artist_scene, self.frame)
                else:
                    _set(artist_scene, "frame_current", self.frame)
            with _in_window(window, in_window):
                if swap is not None:
                    with swap:
                        result = bpy.ops.render.render("INVOKE_DEFAULT", write_still=True,
                                                       scene=self.scene_name)
                else:
                    result = bpy.ops.render.render("INVOKE_DEFAULT", write_still=True,
                                                   scene=self.scene_name)
        except RuntimeError as exc:
            _active.pop(self.scene_name, None)
            if busy.is_refused_write(exc):
                raise  # refused for the moment only: the worker starts it on a later turn
            raise RenderFailed(f"frame {self.frame}: Blender did not start the render: "
                               f"{exc}") from exc
        finally:
            _set(prefs.view, "render_display_type", saved[0])
            _set(artist_scene, "frame_current", saved[2])
            _set(prefs, "is_dirty", saved[1])
        if "RUNNING_MODAL" not in result:
            _active.pop(self.scene_name, None)
            raise RenderFailed(f"frame {self.frame}: Blender did not start the render "
                               f"({', '.join(sorted(result))}); is another render running?")
        self.yield_cpu()

    def yield_cpu(self) -> int:
        """Give every thread started since :meth:`start` (the render job's) the lowest CPU
        priority, once each; returns how many were lowered now. Linux only (elsewhere 0).
        Threads named ``llvmpipe-*`` (software OpenGL drawing the window) are skipped.
        Called at the start and from the worker's turns (at most every YIELD_EVERY_S)."""
        self.yield_checked = time.monotonic()
        if self.state != RUNNING or not self.threads_before:
            return 0
        lowered = 0
        for tid in _thread_ids() - self.threads_before - self.yielded:
            self.yielded.add(tid)
            if _thread_name(tid).startswith("llvmpipe"):
                continue
            try:
                if os.getpriority(os.PRIO_PROCESS, tid) < FARM_NICE:
                    os.setpriority(os.PRIO_PROCESS, tid, FARM_NICE)
                    lowered += 1
            except OSError:  # the thread ended meanwhile
                continue
        if lowered:
            log.info("farm render of frame %d: %d render thread(s) at CPU priority nice %d "
                     "(your window first)", self.frame, lowered, FARM_NICE)
        return lowered

    def yield_due(self) -> bool:
        return time.monotonic() - self.yield_checked >= YIELD_EVERY_S

    def elapsed(self) -> float:
        """Seconds since :meth:`start` (the final time once ended)."""
        return self.seconds if self.state != RUNNING else time.monotonic() - self.started

    def _ended(self, cancelled: bool) -> None:
        _active.pop(self.scene_name, None)
        self.ended_at = time.monotonic()
        self.seconds = self.ended_at - self.started
        if cancelled or self.cancel_requested:
            self.state = CANCELLED
        elif os.path.isfile(self.path):
            self.state = DONE
        else:
            self.state = FAILED
            self.error = (f"frame {self.frame}: Blender reported the render done but "
                          f"{self.path} was not written")


def _set(struct, name: str, value) -> None:
    """``struct.name = value`` unless it already is (no update notifier, no redraw)."""
    if getattr(struct, name) != value:
        setattr(struct, name, value)


@trace.traced("cancel")
def cancel(render: FrameRender) -> float:
    """Stop ``render`` now by deleting its scene (see the module doc); returns the seconds
    the kill took. Call only from a ``bpy.app.timers`` callback (no window in context).
    Raises RuntimeError if the context would name another scene (nothing is deleted)."""
    render.cancel_requested = True
    started = time.monotonic()
    scene = bpy.data.scenes.get(render.scene_name)
    if scene is None:
        render._ended(True)
        return 0.0
    delete_scene(scene)
    if render.state == RUNNING:  # no handler fired (the job had ended already)
        render._ended(True)
    took = time.monotonic() - started
    log.info("farm render of frame %d cancelled in %.2f s", render.frame, took)
    return took


def _in_window(window, in_window: bool):
    """The context for an operator in ``window``: as it is when ``in_window`` (a modal turn
    of that window), else a ``temp_override`` of window and screen."""
    if in_window:
        return contextlib.nullcontext()
    return bpy.context.temp_override(window=window, screen=window.screen)


def remove_scene(scene) -> None:
    """Remove ``scene`` once no render job of it is listed (``bpy.data.scenes.remove``).

    Not the Scene menu's operator: with a context override, an operator looks its context
    up in the override's Python dict, and Blender (``BPY_context_member_get``) takes the
    GIL for that only when ``PyC_IsInterpreterActive()`` is false. Up to Python 3.11 that
    asks whether *any* thread holds the GIL, and ``bpy.ops`` releases it while the operator
    runs: with another thread running Python at that moment (a render thread's handlers or
    Cycles' session start, a Python thread of any add-on) both threads use Python's heap
    unlocked and Blender crashes (``PyUnicode_New`` under ``PyDict_GetItemString``,
    backtraces of 2026-12-04 in docs/addon.md). An RNA call keeps the GIL throughout."""
    bpy.data.scenes.remove(scene)


def delete_scene(scene) -> None:
    """Delete ``scene`` the way the Scene menu does (its render and other jobs are killed
    first), outside the undo history: the one way Python has to stop a render job. Needs a
    context override: the GUI worker runs no Python thread of its own while sharing (see
    :func:`remove_scene`; a scene whose render ended goes through that instead). Raises
    RuntimeError if the override does not make it the context scene (then nothing is
    deleted)."""
    with bpy.context.temp_override(scene=scene):
        if bpy.context.scene != scene:
            raise RuntimeError(f"cannot delete scene '{scene.name}' safely from this context "
                               f"(its scene is '{bpy.context.scene.name}'); call from a "
                               "bpy.app.timers callback")
        bpy.ops.scene.delete("EXEC_DEFAULT", False)


def _on_end(cancelled: bool):
    @trace.traced(f"handler render_{'cancel' if cancelled else 'complete'}")
    def handler(scene, *_args):
        render = _active.get(getattr(scene, "name", None))
        if render is not None:
            render._ended(cancelled)
    handler.__name__ = f"farmhand_render_{'cancel' if cancelled else 'complete'}"
    return bpy.app.handlers.persistent(handler)


_HANDLERS = {"render_complete": _on_end(False), "render_cancel": _on_end(True)}


def register() -> None:
    """Install the render handlers (idempotent)."""
    for name, handler in _HANDLERS.items():
        handlers = getattr(bpy.app.handlers, name)
        if handler not in handlers:
            handlers.append(handler)


def unregister() -> None:
    for name, handler in _HANDLERS.items():
        handlers = getattr(bpy.app.handlers, name)
        if handler in handlers:
            handlers.remove(handler)


def render_job_listed() -> bool:
    """True while Blender lists any render job (ours ending, or the artist's): from a render's
    end handler (on the render thread) until Blender's window manager has run the job's end
    and freed it (its next job timer, <= 0.2 s later). Blender < 3.1 cannot tell: False."""
    return hasattr(bpy.app, "is_job_running") and bpy.app.is_job_running("RENDER")


def artist_render_running(farm: FrameRender | None) -> bool:
    """True while a render job runs that is not ``farm`` (the artist's F12 or animation).

    ``bpy.app.is_job_running`` (Blender >= 3.1) counts every render job, so with a farm render
    running the artist's render is seen by the worker's render_pre hook instead."""
    if not hasattr(bpy.app, "is_job_running"):
        return False
    running = bpy.app.is_job_running("RENDER")
    return running and (farm is None or farm.state != RUNNING)
