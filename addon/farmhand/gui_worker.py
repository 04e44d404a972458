"""The GUI worker: the engine on its own thread, Blender's main thread driven by
``bpy.app.timers``.

Each timer tick asks the engine for a job without waiting (``next_job(0)``); a job is
rendered with the append strategy (:func:`jobrun.render_appended`), so the artist's open
file is never discarded or changed. Between jobs the UI stays responsive (ticks every
second while idle).
"""

from __future__ import annotations

import bpy

from .core_loader import load_core
from .handover import process_job
from .jobrun import render_appended
from .log import log

IDLE_INTERVAL_S = 1.0


class GuiWorker:
    """One running worker. ``start()`` / ``stop()``; ``status()`` for the UI."""

    def __init__(self, settings):
        self.settings = settings
        self.engine = None
        self.stopping = False
        self.rendering_job = None
        self.error = ""

    def start(self) -> None:
        """Start the engine and the timer. Raises what Engine() raises (key file...)."""
        core = load_core()
        self.engine = core.Engine(self.settings.engine_config(bpy.app.version))
        self.engine.start()
        bpy.app.timers.register(self._tick, first_interval=IDLE_INTERVAL_S, persistent=True)
        log.info("worker %s started (GUI, device %s)", self.engine.worker_address,
                 self.settings.device)

    def __bool__(self) -> bool:  # the stop flag seen by process_job
        return self.stopping

    def _tick(self):
        if self.stopping or self.engine is None:
            return None
        job = self.engine.next_job(0)
        if job is None:
            return IDLE_INTERVAL_S
        self.rendering_job = job
        try:
            process_job(self.engine, job, self.settings.device, self,
                        strategy=render_appended)
        finally:
            self.rendering_job = None
        return 0.1

    def status(self) -> dict:
        """``engine.status()`` or a stopped placeholder."""
        if self.engine is None:
            return {"state": "stopped", "last_error": self.error}
        return self.engine.status()

    def stop(self) -> None:
        """Stop polling; the engine finishes pending uploads (graceful) and hands back
        prefetched jobs."""
        self.stopping = True
        if bpy.app.timers.is_registered(self._tick):
            bpy.app.timers.unregister(self._tick)
        if self.engine is not None:
            self.engine.stop(graceful=True, timeout_s=30)
            log.info("worker stopped")
