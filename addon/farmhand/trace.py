"""Where the main thread's time goes while sharing: an opt-in trace of the add-on's own work
on Blender's main thread (for finding what makes the window late, docs/addon.md "Measuring
the window's responsiveness").

Off unless the environment variable ``FARMHAND_TRACE`` is ``1`` (then recording costs one
``time.monotonic()`` pair per span). Each record is ``(start_s, end_s, name)`` in
``time.monotonic()`` seconds; names say what ran: ``tick waiting`` (one state-machine turn
in that state), ``append``, ``audit``, ``render start``, ``cancel``, ``hand over``,
``draw statusbar``, ``draw panel``, ``redraw timer``, ``gc gen2``... Python's garbage
collector is recorded too (``gc.callbacks``). What is *not* covered by a span while the main
thread was late is Blender's own work (drawing, event handling, its render job's updates).

:func:`spans` returns the records (the newest ``MAX_SPANS``); :func:`gaps_explained` lines
up a heartbeat's gaps with them.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from contextlib import contextmanager

ENABLED = os.environ.get("FARMHAND_TRACE") == "1"
MAX_SPANS = 200_000

_spans: list[tuple[float, float, str]] = []
_gc_start = [0.0]
_main = threading.main_thread()


def record(start: float, end: float, name: str) -> None:
    """Keep one span (no-op when tracing is off)."""
    if ENABLED:
        _spans.append((start, end, name))
        if len(_spans) > MAX_SPANS:
            del _spans[: MAX_SPANS // 10]


@contextmanager
def span(name: str):
    """``with trace.span("append"):`` records how long the block took on this thread."""
    if not ENABLED:
        yield
        return
    start = time.monotonic()
    try:
        yield
    finally:
        record(start, time.monotonic(), name)


def traced(name: str):
    """Decorator form of :func:`span` (``name`` fixed at decoration)."""
    def wrap(fn):
        if not ENABLED:
            return fn

        def inner(*args, **kwargs):
            start = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                record(start, time.monotonic(), name)
        inner.__name__ = fn.__name__
        inner.__doc__ = fn.__doc__
        return inner
    return wrap


def _on_gc(phase: str, info: dict) -> None:
    if threading.current_thread() is not _main:
        return
    if phase == "start":
        _gc_start[0] = time.monotonic()
    elif _gc_start[0]:
        record(_gc_start[0], time.monotonic(), f"gc gen{info.get('generation')}")
        _gc_start[0] = 0.0


if ENABLED and _on_gc not in gc.callbacks:
    gc.callbacks.append(_on_gc)


def spans() -> list[tuple[float, float, str]]:
    """The recorded spans, oldest first."""
    return list(_spans)


def _covered(recorded, a: float, b: float) -> float:
    """Seconds of [a, b] inside at least one span (nested spans counted once)."""
    parts = sorted((max(s, a), min(e, b)) for s, e, _ in recorded if e > a and s < b)
    total, reach = 0.0, a
    for start, end in parts:
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def gaps_explained(beats: list[float], min_gap_s: float = 0.1,
                   recorded: list[tuple[float, float, str]] | None = None) -> list[dict]:
    """For each gap between consecutive ``beats`` (monotonic seconds of a heartbeat timer)
    longer than ``min_gap_s``: ``{"at", "gap_s", "ours_s", "spans"}`` where ``spans`` are
    the recorded spans overlapping the gap (name and seconds inside it, longest first) and
    ``ours_s`` the part of the gap they cover (the garbage collector included: it runs
    inside our code or Blender's Python calls); the rest is Blender's own work."""
    recorded = spans() if recorded is None else recorded
    out = []
    for a, b in zip(beats, beats[1:]):
        if b - a <= min_gap_s:
            continue
        inside = {}
        for start, end, name in recorded:
            if end <= a or start >= b:
                continue
            inside[name] = inside.get(name, 0.0) + min(end, b) - max(start, a)
        named = sorted(inside.items(), key=lambda kv: -kv[1])
        out.append({"at": round(a, 3), "gap_s": round(b - a, 3),
                    "ours_s": round(_covered(recorded, a, b), 3),
                    "spans": [(k, round(v, 3)) for k, v in named]})
    return out
