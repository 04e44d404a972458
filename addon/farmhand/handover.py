"""Hand a rendered (or failed, or interrupted) job back to the engine: one place for the
GUI worker and the headless loop.

A job's render ends in one of four outcomes, each one engine call:

- ``finished``: every frame written -> ``engine.finish(job, paths, seconds, device=...)``
  (the device class the frames were rendered with; the engine uploads and submits on its
  own threads);
- ``released``: stopped on request (untick, Pause, Esc, quit, F12, a signal) ->
  ``engine.release(job, reason)``: the job goes back to ``pending`` on the coordinator with
  its attempts unchanged (docs/protocol.md, release);
- ``failed``: the file was refused (:class:`failures.JobRefused`: the audit, missing
  files, an unreadable file) or Blender could not render it (:class:`render.RenderFailed`,
  a scene error) -> ``engine.fail(...)`` with the kind's code and retryable flag
  (:mod:`failures`) and the scrubbed log tail;
- ``cancelled``: the engine lost the lease or the creator cancelled the job
  (``engine.job_cancelled(job)``): the result is dropped, nothing is reported.

:class:`JobLog` collects the job's log lines (the ``log_tail`` of a failure report) from
:func:`JobLog.open` to :func:`JobLog.close`; the GUI worker keeps one open across many main
loop turns, the headless loop around one blocking call (:func:`process_job`).
"""

from __future__ import annotations

import os
import time
import traceback

import bpy

from .failures import KINDS, JobFailure, classify_blender_error, report_text
from .log import TailBuffer, log
from .render import RenderResult
from .scrub import Scrubber

FINISHED, RELEASED, FAILED, CANCELLED = "finished", "released", "failed", "cancelled"


class JobLog:
    """The log lines of one job, from :meth:`open` to :meth:`close` (``text()`` meanwhile)."""

    def __init__(self):
        self._tail = TailBuffer()
        self.started = time.monotonic()

    def open(self, job) -> "JobLog":
        """Start collecting and log the job's first line (id, CID, bytes, frames, format)."""
        log.addHandler(self._tail)
        self.started = time.monotonic()
        size = os.path.getsize(job.blend_path) if os.path.exists(job.blend_path) else -1
        log.info("job %s: rendering %s (%d bytes), frames %s, format %s", job.id,
                 job.asset_cid, size, list(job.frames) or "current",
                 job.output_format or "PNG")
        return self

    def text(self) -> str:
        """The collected lines, newline-joined (at most TailBuffer.max_lines)."""
        return self._tail.text()

    def close(self) -> None:
        """Stop collecting (idempotent)."""
        log.removeHandler(self._tail)


def report_frame(engine, job, done: int, total: int, seconds: float) -> None:
    """Frame ``done`` of ``total`` written in ``seconds``: a progress heartbeat."""
    engine.progress(job, done / total, f"frame {done}/{total} rendered in {seconds:.2f} s")


def report_result(engine, job, result: RenderResult, stop_reason: str,
                  started: float) -> str:
    """Hand ``result`` over; returns the outcome (FINISHED, RELEASED or CANCELLED).

    ``stop_reason`` (plain words, e.g. 'you pressed Esc') is the release reason when
    ``result.interrupted``; ``started`` is the job's ``time.monotonic()`` start for the log.
    """
    if engine.job_cancelled(job):
        log.warning("job %s: lease lost or job cancelled; result dropped", job.id)
        return CANCELLED
    if result.interrupted:
        done = len(result.paths)
        return report_release(engine, job, f"{stop_reason} after {done} frame(s)",
                              f"after {done} frame(s)")
    if result.notes:
        engine.progress(job, 1.0, "; ".join(result.notes))
    engine.finish(job, result.paths, result.seconds, device=result.device)
    log.info("job %s: rendered %d frame(s) in %.2f s (%.2f s wall); uploading", job.id,
             len(result.paths), result.seconds, time.monotonic() - started)
    return FINISHED


def report_release(engine, job, reason: str, logged: str = "") -> str:
    """Give the job back (attempts unchanged) with ``reason`` (sent to the coordinator);
    ``logged`` replaces it in the log line. Returns RELEASED, or CANCELLED when the engine
    no longer holds the job."""
    if engine.job_cancelled(job):
        log.warning("job %s: lease lost or job cancelled; nothing to release", job.id)
        return CANCELLED
    engine.release(job, reason)
    log.info("job %s: handed back (release) %s", job.id, logged or f"({reason})")
    return RELEASED


def report_error(engine, job, exc: BaseException, log_tail: str) -> str:
    """Report ``exc`` raised while preparing or rendering ``job``; returns FAILED.

    The failure kind (failures.KINDS) decides the code, the retryable flag and the word:
    a :class:`failures.JobFailure` carries its own (JobRefused: "refused", not retryable;
    RenderFailed: classified from Blender's message); a bare RuntimeError is Blender's own
    error (classified the same way); anything else is a worker bug (``worker_error``,
    retryable, so the job is handed back at once). Error and log tail are scrubbed of the
    worker's paths and user name (:mod:`scrub`) before they leave the machine.
    """
    if isinstance(exc, JobFailure):
        kind = exc.kind
        detail = str(exc)
    elif isinstance(exc, RuntimeError):
        detail = str(exc).strip()
        kind = KINDS[classify_blender_error(detail)]
    else:
        kind = KINDS["worker_error"]
        detail = f"worker error: {type(exc).__name__}: {exc}"
    text = report_text(kind, detail)
    if kind.word == "refused":
        log.error("job %s: %s [%s]", job.id, text, kind.code)
    else:
        log.error("job %s: %s [%s]\n%s", job.id, text, kind.code, _trace(exc))
    clean = _scrubber(job)
    engine.fail(job, clean(text), clean(log_tail), kind.retryable, code=kind.code)
    return FAILED


def _scrubber(job) -> Scrubber:
    extra = {}
    binary = getattr(bpy.app, "binary_path", "")
    if binary:
        extra[os.path.dirname(binary)] = "<blender>"
    return Scrubber(getattr(job, "work_dir", None) or None, extra=extra)


def _trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def process_job(engine, job, device: str, stop, strategy) -> str:
    """Render one job with the blocking ``strategy`` (jobrun.render_opened or
    render_appended) and hand it over; ``stop`` is truthy once the worker should stop (its
    ``signal`` attribute, if any, names why). Returns the outcome."""
    job_log = JobLog().open(job)

    def on_frame(done, total, seconds):
        report_frame(engine, job, done, total, seconds)

    def should_stop():
        return bool(stop) or engine.job_cancelled(job)

    try:
        result = strategy(job, device, on_frame=on_frame, should_stop=should_stop)
        reason = f"worker stopping ({getattr(stop, 'signal', None) or 'stop'})"
        return report_result(engine, job, result, reason, job_log.started)
    except Exception as exc:  # any error must still hand the job back at once
        return report_error(engine, job, exc, job_log.text())
    finally:
        job_log.close()
