"""Headless: watch the running frame and stop it midway (frame_abort.FrameAbort) when

- the engine lost the job's lease (a heartbeat answered 409): the result would be dropped;
- a second SIGINT/SIGTERM arrived: the worker is asked to stop now, not after the frame;
- the frame ran past the per-frame time budget (``--frame-budget``): the job fails "too slow
  for this worker", retryable on another worker.

Two ways to stop, in this order (docs/addon.md, "Stopping a frame midway"):

1. Cooperative (:class:`frame_abort.FrameAbort`, Debian's Blender binary): Blender's break
   flag; Cycles reads it between sample batches, which in background mode are planned to last
   up to 30 s each (Cycles' RenderScheduler, "headless" mode), longer on a loaded machine.
2. If the frame is still running :data:`STOP_GRACE_S` seconds later (at once where there is
   no break flag: the bpy module), ``on_stuck(reason, why)``: the headless worker hands the
   job over (release or fail; nothing for a lost lease), stops the engine (finished results
   are journaled on disk and submitted after the restart) and ends the process; the service
   manager starts it again (packaging/node: ``Restart=on-failure``).

Signals are read from Python's wakeup fd by a thread of their own (:class:`SignalReader`):
Python runs its signal handlers on the main thread only between bytecodes, and during a
render the main thread is inside Blender's C code.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from .log import log
from .render import RenderFailed, RenderResult

POLL_S = 0.25
STOP_GRACE_S = 1.5  # seconds a cooperative stop may take before on_stuck (lost lease: 409
# heartbeat + poll + grace + ending the process stays within 5 s)


def too_slow(budget_s: float) -> RenderFailed:
    """The failure of a job whose frame ran past ``budget_s`` seconds (retryable: another
    worker may be faster)."""
    return RenderFailed(f"too slow for this worker: a frame took longer than its budget of "
                        f"{budget_s:g} s (--frame-budget); another worker may be faster",
                        code="too_slow")


class SignalReader:
    """Counts SIGINT/SIGTERM as they arrive (``stop.note(signum)``), even while the main
    thread renders. Start on the main thread, after the Python handlers are installed."""

    def __init__(self, stop):
        self.stop = stop
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        self._previous = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        self._thread = threading.Thread(target=self._run, name="farmhand-signals", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self._r, 64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum in (signal.SIGINT, signal.SIGTERM):
                    self.stop.note(signum)

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous)
        os.close(self._w)  # ends the reader thread (read returns b"")
        self._thread.join(timeout=1)
        os.close(self._r)


class FrameWatch:
    """One job's watcher thread; wrap the render strategy with :meth:`wrap`.

    ``on_stuck(reason, why)`` (optional) is called once, from the watcher thread, when a
    requested stop has not ended the frame after ``grace_s`` seconds (default
    :data:`STOP_GRACE_S` where ``aborter.available``, else 0: at once); ``reason`` is
    "lease", "signal" or "budget", ``why`` the words logged with it."""

    def __init__(self, engine, job, stop, aborter, budget_s: float, on_stuck=None,
                 grace_s: float | None = None):
        self.engine, self.job, self.stop, self.aborter = engine, job, stop, aborter
        self.budget_s = budget_s
        self.on_stuck = on_stuck
        if grace_s is None:
            grace_s = STOP_GRACE_S if getattr(aborter, "available", True) else 0.0
        self.grace_s = grace_s
        self.frame_started = time.monotonic()
        self.reason = None  # "lease", "signal" or "budget" once a stop was requested
        self.why = ""
        self._requested_at = 0.0
        self._stuck_called = False
        self._rendering = False  # inside the wrapped strategy (a frame may be running)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="farmhand-frame-watch",
                                        daemon=True)

    def __enter__(self) -> "FrameWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join(timeout=2)

    def _request(self, reason: str, why: str) -> None:
        if self.reason is None:
            self.reason, self.why = reason, why
            self._requested_at = time.monotonic()
            self.aborter.stop(f"job {self.job.id}: {why}")

    def _check_stuck(self) -> None:
        if (self.on_stuck is None or self._stuck_called or not self._rendering
                or time.monotonic() - self._requested_at < self.grace_s):
            return
        self._stuck_called = True
        self.on_stuck(self.reason, self.why)

    def _run(self) -> None:
        while not self._done.wait(POLL_S):
            if self.reason is None:
                if self.engine.job_cancelled(self.job):
                    self._request("lease", "its lease was lost")
                elif getattr(self.stop, "count", 0) >= 2:
                    self._request("signal", f"second {self.stop.signal}")
                elif self.budget_s and time.monotonic() - self.frame_started > self.budget_s:
                    self._request("budget",
                                  f"a frame ran past the {self.budget_s:g} s budget")
            if self.reason is not None and not self._done.is_set():
                self._check_stuck()

    def wrap(self, strategy):
        """``strategy`` with frame starts recorded and an aborted frame turned into the
        right outcome: lease -> interrupted (the result is dropped), signal -> interrupted
        (released), budget -> RenderFailed 'too slow for this worker' (retryable)."""

        def run(job, device, on_frame=None, should_stop=None):
            def frame_done(done, total, seconds):
                self.frame_started = time.monotonic()
                if on_frame is not None:
                    on_frame(done, total, seconds)

            self._rendering = True
            try:
                result = strategy(job, device, on_frame=frame_done, should_stop=should_stop)
            except RenderFailed:
                if self.reason is None:
                    raise
                result = RenderResult(interrupted=True)  # Blender wrote no file
            finally:
                self._rendering = False
            if self.reason == "budget":
                raise too_slow(self.budget_s)
            if self.reason is not None:
                result.interrupted = True
                log.info("job %s: frame stopped midway (%s)", job.id,
                         "lease lost" if self.reason == "lease" else "second signal")
            return result

        return run
