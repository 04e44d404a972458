"""Headless worker: a blocking loop on ``engine.next_job()`` on Blender's main thread.

The line (Debian Blender, add-on installed as a legacy add-on where Blender finds it)::

    blender -b --python-expr "import farmhand; farmhand.run_headless()" -- [options]

or in the ``bpy`` module's Python::

    python -c "import farmhand; farmhand.run_headless()" [options]

Timers do not fire under ``-b``, hence the blocking loop with short timeouts (0.5 s).
Signals (SIGINT, SIGTERM): idle -> the loop exits within about 1 s; rendering -> the current
frame finishes, then the job is submitted if all its frames are done, otherwise handed back
with ``release`` (never left to lease expiry). A second signal while stopping is ignored:
the engine's graceful stop still uploads what it holds.

Exit codes (:data:`EXIT_CODES`): 0 stopped on request or after ``--max-jobs`` jobs;
1 unexpected error; 2 bad settings; 3 ``farmhand_core`` not importable; 4 online access is
off; 5 the engine could not start (key file, work dir).
"""

from __future__ import annotations

import os
import signal
import sys
import traceback

import bpy

from . import handover
from .core_loader import CoreMissing, load_core
from .jobrun import render_opened
from .log import log, setup_stream_logging
from .settings import SettingsError, from_env_and_args

EXIT_OK, EXIT_ERROR, EXIT_SETTINGS, EXIT_NO_CORE, EXIT_OFFLINE, EXIT_ENGINE = 0, 1, 2, 3, 4, 5
EXIT_CODES = {
    EXIT_OK: "stopped on request (SIGINT/SIGTERM) or after --max-jobs jobs",
    EXIT_ERROR: "unexpected error (traceback in the log)",
    EXIT_SETTINGS: "bad setting (environment variable or argument)",
    EXIT_NO_CORE: "farmhand_core (native core) not importable",
    EXIT_OFFLINE: "Blender's online access is off",
    EXIT_ENGINE: "the engine could not start (key file, work dir, config)",
}
NEXT_JOB_TIMEOUT_S = 0.5


class StopFlag:
    """Set by SIGINT/SIGTERM; asked between frames and between polls."""

    def __init__(self):
        self.signal = None

    def __bool__(self):
        return self.signal is not None

    def handler(self, signum, _frame):
        if self.signal is None:
            self.signal = signal.Signals(signum).name
            log.info("received %s: stopping after the current frame (or now, if idle)",
                     self.signal)


def _script_args(argv):
    """Arguments after ``--`` (Blender binary); all of sys.argv[1:] in the bpy module."""
    if argv is not None:
        return list(argv)
    if "--" in sys.argv:
        return sys.argv[sys.argv.index("--") + 1:]
    if os.path.basename(sys.argv[0]).startswith("blender"):
        return []
    return sys.argv[1:]


def _ensure_online(settings) -> bool:
    """Respect ``bpy.app.online_access`` (Blender >= 4.2; absent in 3.4: online)."""
    if not hasattr(bpy.app, "online_access") or bpy.app.online_access:
        return True
    if settings.online and not bpy.app.online_access_override:
        bpy.context.preferences.system.use_online_access = True
        log.info("online access enabled for this session (--online / FARMHAND_ONLINE=1)")
        return bool(bpy.app.online_access)
    log.error("Blender's online access is off, so Farmhand will not connect: start Blender "
              "with --online-mode, or pass --online (FARMHAND_ONLINE=1) to the worker")
    return False


def process_job(engine, job, device: str, stop, strategy=render_opened) -> str:
    """Render one job (blocking, ``strategy`` defaults to opening the job file) and hand it
    over; see handover.process_job. Returns 'finished', 'failed', 'released' or
    'cancelled'."""
    return handover.process_job(engine, job, device, stop, strategy)


def run(argv=None) -> int:
    """The loop; returns an exit code (see EXIT_CODES)."""
    setup_stream_logging()
    try:
        settings = from_env_and_args(argv=_script_args(argv))
    except SettingsError as exc:
        log.error("bad setting: %s", exc)
        return EXIT_SETTINGS
    try:
        core = load_core()
    except CoreMissing as exc:
        log.error("%s", exc)
        return EXIT_NO_CORE
    if not _ensure_online(settings):
        return EXIT_OFFLINE
    config = settings.engine_config(bpy.app.version)
    if settings.sandbox.startswith("not sandboxed"):
        log.warning("%s: a scene could read this account's files; start the node with "
                    "python -m farmhand_core.sandbox (docs/security.md)", settings.sandbox)
    try:
        engine = core.Engine(config)
        engine.start()
    except Exception as exc:  # core errors carry a message a person can act on
        log.error("the engine could not start: %s", exc)
        return EXIT_ENGINE
    stop = StopFlag()
    previous = {s: signal.signal(s, stop.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    log.info("worker %s: Blender %s, backend %s, IPFS %s, device %s, work dir %s",
             engine.worker_address, bpy.app.version_string, settings.backend_url,
             ",".join(settings.ipfs_rpc_urls), settings.device, config["work_dir"])
    done = 0
    try:
        while not stop:
            job = engine.next_job(NEXT_JOB_TIMEOUT_S)
            if job is None:
                continue
            process_job(engine, job, settings.device, stop)
            done += 1
            if settings.max_jobs and done >= settings.max_jobs:
                log.info("processed %d job(s) (--max-jobs): stopping", done)
                break
    finally:
        log.info("stopping the engine (pending uploads finish first)")
        engine.stop(graceful=True, timeout_s=30)
        for sig, old in previous.items():
            if old is not None:  # None: a handler installed by C code (Blender's own)
                signal.signal(sig, old)
        status = engine.status()
        log.info("stopped: %s job(s) done, %s failed", status.get("jobs_done"),
                 status.get("jobs_failed"))
    return EXIT_OK


def main(argv=None):
    """``run()`` then exit the process with its code (Blender and the bpy module alike)."""
    try:
        code = run(argv)
    except Exception:  # the last resort: say what broke, exit non-zero
        log.error("unexpected error:\n%s", traceback.format_exc())
        code = EXIT_ERROR
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
