"""Headless worker: a blocking loop on ``engine.next_job()`` on Blender's main thread.

The line (Debian Blender, add-on installed as a legacy add-on where Blender finds it)::

    blender -b --python-expr "import farmhand; farmhand.run_headless()" -- [options]

or in the ``bpy`` module's Python::

    python -c "import farmhand; farmhand.run_headless()" [options]

Timers do not fire under ``-b``, hence the blocking loop with short timeouts (0.5 s).
Signals (SIGINT, SIGTERM): idle -> the loop exits within about 1 s; rendering -> the current
frame finishes, then the job is submitted if all its frames are done, otherwise handed back
with ``release`` (never left to lease expiry). A second signal stops the running frame midway
(frame_watch.py) and the job is handed back; the engine's graceful stop still submits
finished results. A lost lease stops the frame the same way, and a frame running past
``--frame-budget`` fails the job "too slow for this worker". Where Blender cannot stop the
frame within frame_watch.STOP_GRACE_S (the bpy module at once: it has no break flag), the
worker hands the job over and ends its process (:func:`end_process`): exit 6, which the
service restarts, or 0 for a second signal.

Exit codes (:data:`EXIT_CODES`): 0 stopped on request or after ``--max-jobs`` jobs;
1 unexpected error; 2 bad settings; 3 ``farmhand_core`` not importable; 4 online access is
off; 5 the engine could not start (key file, work dir); 6 a frame was ended by ending the
process (lost lease or frame budget; restart it); 7 this Blender has no capability
classification in the add-on (a newer Blender than the add-on knows: the worker claims nothing,
since the audit would refuse every job; update the add-on).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import sys
import traceback

import bpy

from . import capabilities, handover
from .core_loader import CoreMissing, load_core
from .frame_abort import FrameAbort
from .frame_watch import FrameWatch, SignalReader, too_slow
from .jobrun import render_opened
from .log import log, setup_stream_logging
from .settings import SettingsError, from_env_and_args

EXIT_OK, EXIT_ERROR, EXIT_SETTINGS, EXIT_NO_CORE, EXIT_OFFLINE, EXIT_ENGINE = 0, 1, 2, 3, 4, 5
EXIT_FRAME_ENDED = 6
EXIT_UNCLASSIFIED = 7
EXIT_CODES = {
    EXIT_OK: "stopped on request (SIGINT/SIGTERM) or after --max-jobs jobs",
    EXIT_ERROR: "unexpected error (traceback in the log)",
    EXIT_SETTINGS: "bad setting (environment variable or argument)",
    EXIT_NO_CORE: "farmhand_core (native core) not importable",
    EXIT_OFFLINE: "Blender's online access is off",
    EXIT_ENGINE: "the engine could not start (key file, work dir, config)",
    EXIT_UNCLASSIFIED: "this Blender has no capability classification in the add-on "
                       "(update the Farmhand add-on)",
    EXIT_FRAME_ENDED: "a running frame could only be stopped by ending the process (lost "
                      "lease or --frame-budget); start the worker again",
}
END_STOP_TIMEOUT_S = {"lease": 1.0, "budget": 5.0, "signal": 10.0}  # engine.stop's timeout
NEXT_JOB_TIMEOUT_S = 0.5


class StopFlag:
    """Set by SIGINT/SIGTERM; asked between frames and between polls."""

    def __init__(self):
        self.signal = None
        self.count = 0  # signals received; 2: stop the running frame now
        self.reader = None  # frame_watch.SignalReader once started (it calls note())

    def __bool__(self):
        return self.signal is not None

    def note(self, signum):
        """Record a signal (from the reader thread, or the handler without one)."""
        self.count += 1
        name = signal.Signals(signum).name
        if self.signal is None:
            self.signal = name
            log.info("received %s: stopping after the current frame (or now, if idle); "
                     "send it again to stop the frame midway", name)
        elif self.count == 2:
            log.info("received %s again: stopping the running frame now", name)

    def handler(self, signum, _frame):
        if self.reader is None:
            self.note(signum)


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


def process_job(engine, job, device: str, stop, strategy=render_opened, aborter=None,
                frame_budget_s: float = 0.0, on_stuck=None) -> str:
    """Render one job (blocking, ``strategy`` defaults to opening the job file) and hand it
    over; see handover.process_job. ``aborter`` (frame_abort.FrameAbort): stop a frame midway
    on a lost lease, a second signal or past ``frame_budget_s`` seconds (0: no budget);
    ``on_stuck(reason, why)``: called when that did not end the frame (frame_watch.FrameWatch;
    the loop passes :func:`end_process`). Returns 'finished', 'failed', 'released' or
    'cancelled'."""
    if aborter is None:
        return handover.process_job(engine, job, device, stop, strategy)
    with FrameWatch(engine, job, stop, aborter, frame_budget_s, on_stuck=on_stuck) as watch:
        return handover.process_job(engine, job, device, stop, watch.wrap(strategy))


def end_process(engine, job, reason: str, why: str, budget_s: float = 0.0,
                exit=os._exit) -> None:
    """The running frame of ``job`` did not stop when asked (``reason``: "lease", "signal"
    or "budget"; ``why``: the words for the log): hand the job over as the frame's outcome
    would have (lease: nothing, the lease is gone; signal: release; budget: fail 'too slow
    for this worker', retryable), stop the engine (finished results not yet accepted stay in
    its journal on disk and are submitted by the next start; prefetched jobs are released)
    and end the process with ``exit`` (os._exit: Blender's render thread cannot be joined).
    Exit code: 0 for a signal (the worker was asked to stop), else EXIT_FRAME_ENDED, which
    the node's service restarts (packaging/node/farmhand-worker.service, Restart=on-failure).
    Called from the frame watcher thread while the main thread is inside the render."""
    log.warning("job %s: the running frame did not stop (%s); ending the worker process",
                job.id, why)
    if reason == "signal":
        handover.report_release(engine, job, "worker stopping (second signal): frame stopped "
                                "midway")
    elif reason == "budget":
        handover.report_error(engine, job, too_slow(budget_s), "")
    timeout = END_STOP_TIMEOUT_S.get(reason, 1.0)
    try:
        engine.stop(graceful=True, timeout_s=timeout)
    finally:
        code = EXIT_OK if reason == "signal" else EXIT_FRAME_ENDED
        log.warning("job %s: worker process ends now (exit %d: %s)", job.id, code,
                    EXIT_CODES[code])
        _flush_all()
        exit(code)


def _flush_all() -> None:
    """Flush the log handlers, Python's stdio and C's stdio before os._exit."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if sys.platform == "linux":
        try:
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):
            pass


def line_buffer_c_stdout() -> bool:
    """Make C's ``stdout`` (Blender's and Cycles' printf) line-buffered. Redirected to a file
    or pipe it is block-buffered and flushed at arbitrary bytes, so a half line of Blender's
    ("Fra:1 Mem:...") ended up in the log with an engine line spliced into it. Line-buffered,
    each of its lines is one write, like the engine's and the add-on's. Linux (glibc) only;
    returns whether it was done."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None)
        stream = ctypes.c_void_p.in_dll(libc, "stdout")
        sys.stdout.flush()
        libc.fflush(stream)
        return libc.setvbuf(stream, None, 1, 0) == 0  # 1 = _IOLBF
    except (OSError, ValueError, AttributeError):
        return False


def run(argv=None) -> int:
    """The loop; returns an exit code (see EXIT_CODES)."""
    setup_stream_logging()
    line_buffer_c_stdout()
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
    try:  # fail closed before claiming: every job would be refused (and cost an attempt)
        capabilities.for_running_blender()
    except capabilities.NotClassified as exc:
        log.error("not sharing: %s", exc)
        return EXIT_UNCLASSIFIED
    config = settings.engine_config(bpy.app.version)
    if settings.sandbox.startswith("not sandboxed"):
        vendor = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor")
        log.warning("%s: a scene could read this account's files; start the node through "
                    "the launcher: PYTHONPATH=%s python3 -m farmhand_core.sandbox --work-dir "
                    "DIR --key-file KEY -- <this command> (README, Render node; "
                    "docs/security.md)", settings.sandbox, vendor)
    try:
        engine = core.Engine(config)
        engine.start()
    except Exception as exc:  # core errors carry a message a person can act on
        log.error("the engine could not start: %s", exc)
        return EXIT_ENGINE
    _temp_dir_in(config["work_dir"])
    stop = StopFlag()
    aborter = FrameAbort()  # before Python takes SIGINT over from Blender
    previous = {s: signal.signal(s, stop.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    stop.reader = SignalReader(stop)
    if not aborter.available:
        log.info("this Blender has no break flag (the bpy module): a frame that must stop "
                 "midway (lost lease, second signal, --frame-budget) ends the worker process")
    log.info("worker %s: Blender %s, backend %s, IPFS %s, device %s, work dir %s",
             engine.worker_address, bpy.app.version_string, settings.backend_url,
             ",".join(settings.ipfs_rpc_urls), settings.device, config["work_dir"])
    done = 0
    try:
        while not stop:
            job = engine.next_job(NEXT_JOB_TIMEOUT_S)
            if job is None:
                continue
            process_job(engine, job, settings.device, stop, aborter=aborter,
                        frame_budget_s=settings.frame_budget_s,
                        on_stuck=functools.partial(end_process, engine, job,
                                                   budget_s=settings.frame_budget_s))
            done += 1
            if settings.max_jobs and done >= settings.max_jobs:
                log.info("processed %d job(s) (--max-jobs): stopping", done)
                break
    finally:
        log.info("stopping the engine (pending uploads finish first)")
        engine.stop(graceful=True, timeout_s=30)
        stop.reader.close()
        stop.reader = None
        for sig, old in previous.items():
            if old is not None:  # None: a handler installed by C code (Blender's own)
                signal.signal(sig, old)
        status = engine.status()
        log.info("stopped: %s job(s) done, %s failed", status.get("jobs_done"),
                 status.get("jobs_failed"))
    return EXIT_OK


def _temp_dir_in(work_dir: str) -> None:
    """Blender's temp dir (where its crash report and render caches go) inside the work
    dir, sandboxed or not: a job file that crashes Blender while it opens made 3.4 write
    /tmp/blender.crash.txt before any check ran (review of 2026-12-04; the node launcher's
    TMPDIR covered nodes only)."""
    tmp = os.path.join(work_dir, "tmp")
    try:
        os.makedirs(tmp, mode=0o700, exist_ok=True)
        bpy.context.preferences.filepaths.temporary_directory = tmp
    except (OSError, AttributeError, TypeError) as exc:
        log.warning("Blender's temp dir stays %s (%s)", bpy.app.tempdir, exc)


def main(argv=None, exit=os._exit):
    """``run()`` then end the process with its code (Blender and the bpy module alike), by
    ``exit`` (os._exit) once the logs are flushed: the worker's own work is over (the engine
    stopped, its journal on disk), and Blender's teardown at a normal exit can crash after a
    job file it opened: a fluid domain's Mantaflow grids abort in a static destructor
    ("can't clean grid cache, some grids are still in use", SIGABRT, bpy 5.0) and bpy 5.2
    segfaulted, so a worker stopped by SIGTERM ended -6 or -11 instead of its documented
    code (EXIT_CODES) 1 time in 4 in tests/security/test_hostile_corpus.py."""
    try:
        code = run(argv)
    except Exception:  # the last resort: say what broke, exit non-zero
        log.error("unexpected error:\n%s", traceback.format_exc())
        code = EXIT_ERROR
    _flush_all()
    exit(code)
