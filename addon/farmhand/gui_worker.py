"""The GUI worker: a small state machine driven by a ``bpy.app.timers`` callback every
0.05 s, so Blender's window never waits for it.

The engine (``farmhand_core.Engine``) claims, downloads, uploads and heartbeats on its own
threads; this class only does what must happen on Blender's main thread, in short steps:

====================  ==============================================================
state                 one step (one timer turn)
====================  ==============================================================
``waiting``           pause if asked to (or the artist renders, or is not idle);
                      before the first job, the audit's preparation in 20 ms slices;
                      else ``engine.next_job(0)`` (never waits)
``preparing``         append the job's scene (one ``libraries.load``), then audit it,
                      then set its output and device: three turns
``rendering``         a frame renders as Blender's own render job (farm_render.py);
                      each turn checks whether it ended or must be cancelled
``handing over``      finish / release / fail through handover.py (at once); then,
                      once Blender lists no render job (its end has run), remove
                      what the job added to the file
``paused``            nothing (Pause, Esc, the artist renders, Only when idle); the
                      engine is stopped after PAUSE_STOP_ENGINE_S
``stopping``          ``engine.stop()`` on a helper thread (uploads finish first)
``stopped``           the timer ends
====================  ==============================================================

Whatever interrupts a render (untick, Pause, Stop, Esc, quit, the artist's F12, the
artist's input with *Only when idle*) cancels it at once and *releases* the job (attempts
unchanged on the coordinator). *Stop after this job* lets the running job finish first.
"""

from __future__ import annotations

import os
import shutil
import time

import bpy

from . import audit, busy, compat, engine_id, farm_render, handover, trace, write_gate
from .core_loader import load_core
from .device import rendered_device_class
from .jobrun import AppendedJob
from .log import log
from .private_output import strip_metadata
from .render import RenderFailed, RenderResult, frame_filename, prepare_scene

TICK_S = 0.05           # the state machine's turn while preparing / rendering
IDLE_TICK_S = 0.25      # while waiting for work or paused
PROGRESS_EVERY_S = 2.0  # progress sent to the engine (its heartbeats carry it)
SETTLE_S = 1.5          # a finished render job is still listed as running this long at most
ARTIST_SETTLE_S = 2.0   # after the artist's own render ended, no farm work starts this long
BUSY_RETRY_S = 30.0     # how long a step Blender refuses for the moment is retried
GATE_AFTER_S = 1.0      # refused this long: Blender's write guard is stuck (write_gate.py)
WARM_UP_S = 0.02        # main-thread time per turn for the audit's preparation (audit.warm_up)
WINDOW_SETTLE_S = 4.0   # after the engine probe's redraw, before the first job
# A pause stops the engine after this long: at once, now that an engine stopped while its
# claim is in flight lets the claim finish and releases the job (docs/engine.md, attempts
# unchanged); it was 3 s while such a claim was cut off and left to its lease's expiry.
PAUSE_STOP_ENGINE_S = 0.0
WINDOW_TURN_WAIT_S = 1.0  # a frame start waits this long for the watcher's turn in the window
STAGING_DIR = "rendering"  # beside the job dirs in the work dir: frames being rendered

WAITING, PREPARING, RENDERING, HANDING_OVER = "waiting", "preparing", "rendering", "handing over"
PAUSED, STOPPING, STOPPED = "paused", "stopping", "stopped"
ESC_REASON = "you cancelled the render (Esc)"


class Interrupt:
    """Why a job is being given back (plain words for the log, the coordinator and the UI)
    and what the worker does next: ``then`` is PAUSED or STOPPING."""

    def __init__(self, reason: str, then: str):
        self.reason = reason
        self.then = then


def _redraw_everything() -> None:
    """Tag every area of every window for a redraw (an RNA function of the screen, allowed
    even while Blender refuses writes to data)."""
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            area.tag_redraw()


class GuiWorker:
    """One sharing session. ``start()``; the artist's actions arrive as method calls from
    operators, the modal operator and handlers; ``snapshot()`` is what the UI shows."""

    def __init__(self, settings, idle_minutes: float = 0.0, lifetime=None):
        self.settings = settings
        self.idle_minutes = idle_minutes  # > 0: Only when idle
        self.lifetime = lifetime          # lifetime.Lifetime (jobs done, kept across restarts)
        self.engine = None
        self.state = STOPPED
        self.error = ""
        self.window = None
        # the job in hand
        self.job = None
        self.job_log = None
        self.appended = None
        self.prepare_step = 0
        self.frames: list[int] = []
        self.frame_index = 0
        self.render = None
        self.result = RenderResult()
        self.outcome = None        # callable(engine, job) -> outcome, set when a job ends
        self.cleanup_from = 0.0    # when the outcome was handed over (monotonic)
        self.busy = busy.RetryWindow(BUSY_RETRY_S)  # a step Blender refused for the moment
        self.gated = False         # every step through write_gate (Blender's guard was stuck)
        self.handed = False        # the job's outcome reached the engine (its data may remain)
        self.last_progress = 0.0
        self.device_used = ""
        self.device_warning = ""
        # what the artist asked for / does
        self.stop_reason = ""      # set: stop (and release the job) now
        self.stop_after_job = False
        self.user_pause = ""       # set: paused by the artist (Pause button, Esc)
        self.pause_reason = ""
        self.artist_rendering = False
        self.artist_render_at = 0.0
        self.last_render_end = 0.0
        self.last_input = time.monotonic()
        self.paused_at = 0.0
        self._stopper = None
        self.engine_running = False
        self.timings: list[float] = []  # gaps between turns (for tests and the log)
        self.append_span = (0.0, 0.0)   # monotonic start, end of the last scene append
        self.engines_known = False      # engine_id.warm_up() done (before the first job)
        self.quiet_from = 0.0           # no job before (monotonic): the window's redraws
        self.staging_dirty = False      # a dropped job's render may still write a frame
        # a frame start waiting for the sharing watcher's next turn in the window (no
        # context override there: see farm_render.remove_scene)
        self.start_wanted_at = 0.0      # monotonic; 0.0: none wanted
        self.start_retry_at = 0.0       # a start Blender refused: not before (monotonic)
        self.start_error = None         # what that start raised, re-raised on the next tick
        self.window_turns = None        # callable -> the watcher runs in self.window

    # -- life cycle -----------------------------------------------------------------------

    def start(self, window) -> None:
        """Start the engine and the timer; ``window``: the artist's main window (renders are
        invoked there). Raises what Engine() raises (key file, work dir...)."""
        self.window = window
        # frames a crashed or killed Blender left staged (see _staging_dir)
        shutil.rmtree(self._staging_root(), ignore_errors=True)
        why = self._why_not_start()
        if why:  # e.g. Only when idle: claim nothing until the artist is away
            self.pause_reason = why
            self.state = PAUSED
            load_core()  # a missing core is an error now, not when the pause ends
        else:
            self._start_engine()
            self.state = WAITING
        compat.register_timer(self._tick, first_interval=TICK_S, persistent=True)
        log.info("worker started (GUI, device %s%s)", self.settings.device,
                 f", only when idle for {self.idle_minutes:g} min" if self.idle_minutes else "")

    def _start_engine(self) -> None:
        core = load_core()
        self.engine = core.Engine(self.settings.engine_config(bpy.app.version))
        self.engine.start()
        self.engine_running = True

    def _stop_engine_soon(self) -> None:
        """Stop the engine on a helper thread (uploads finish, claimed jobs are released):
        a paused worker holds no job on the coordinator."""
        if not self.engine_running:
            return
        self.engine_running = False
        # a C++ thread of the core, never a Python one (Blender 3.x/4.x: docs/addon.md)
        self._stopper = self.engine.stop_in_background(graceful=True, timeout_s=30)

    def request_stop(self, reason: str, after_job: bool = False) -> None:
        """Stop sharing: now (the job is released) or, ``after_job``, once it is handed in."""
        if after_job:
            self.stop_after_job = True
            log.info("worker: stopping after this job (%s)", reason)
        elif not self.stop_reason:
            self.stop_reason = reason
            log.info("worker: stopping: %s", reason)

    def pause(self, reason: str) -> None:
        """Pause sharing (the running job is released) until :meth:`resume`."""
        self.user_pause = reason
        log.info("worker: paused: %s", reason)

    def resume(self) -> None:
        self.user_pause = ""
        self.stop_after_job = False
        log.info("worker: resumed")

    def artist_input(self) -> None:
        """The artist used the keyboard or mouse (seen by the modal operator)."""
        self.last_input = time.monotonic()

    def artist_render(self, running: bool) -> None:
        """The artist's own render started (F12, render_init of another scene) or ended."""
        if running != self.artist_rendering:
            log.info("worker: the artist's render %s", "started" if running else "ended")
        self.artist_rendering = running
        self.artist_render_at = time.monotonic()
        if running:  # seen before the keymap's render starts and kills ours
            self._release_before_render_ends("you are rendering")

    def farm_render_escaped(self) -> None:
        """The artist pressed Esc on the farm render (seen by operators.FARMHAND_OT_
        farm_render_watch before the render's own handler): Blender stops the render at
        Cycles' next sample batch; the job goes back now and sharing pauses."""
        if not self.stop_reason and not self.user_pause:
            self.pause(ESC_REASON)
        self._release_before_render_ends(ESC_REASON)

    def drop_job(self, reason: str) -> None:
        """Another file is being loaded (Blender kills the render and frees the job's
        scene with the old file): release the job and forget its data."""
        if self.job is None:
            return
        if self.render is not None:
            self.render.cancel_requested = True
        if not self.handed:
            handover.report_release(self.engine, self.job, reason)
        if self.job_log is not None:
            self.job_log.close()
        self.staging_dirty = True  # removed once no render job is listed (_waiting)
        self.job = self.appended = self.render = self.job_log = self.outcome = None
        self.handed = False
        self.start_wanted_at = self.start_retry_at = 0.0
        self.start_error = None
        if self.state in (PREPARING, RENDERING, HANDING_OVER):
            self.state = WAITING

    def shutdown_now(self, reason: str) -> None:
        """Blender is quitting or the add-on is disabled: give the job back and stop the
        engine, blocking (at most ~10 s for pending uploads)."""
        if self.state == STOPPED:
            return
        if self.render is not None and self.render.state == farm_render.RUNNING:
            self.render.cancel_requested = True
        if self.job is not None and not self.handed:
            handover.report_release(self.engine, self.job, reason)
        if self.job is not None:  # (Blender kills its render jobs before atexit hooks run)
            shutil.rmtree(self._staging_dir(), ignore_errors=True)
        self.job = None
        if bpy.app.timers.is_registered(self._tick):
            bpy.app.timers.unregister(self._tick)
        self.state = STOPPED
        if self._stopping_engine():
            self._stopper.wait(10)
        if self.engine_running:
            self.engine_running = False
            self.engine.stop(graceful=True, timeout_s=10)
        log.info("worker stopped (%s)", reason)

    # -- the machine ----------------------------------------------------------------------

    def _tick(self):
        now = time.monotonic()
        if self.timings is not None:
            self.timings.append(now)
            del self.timings[:-2000]
        state = self.state
        try:
            farm_render.restore_artist_render_props()
            return _STEPS[state](self)
        except Exception as exc:  # a bug must not kill the timer: hand the job back
            log.exception("worker: unexpected error in state %s", self.state)
            self.error = f"{type(exc).__name__}: {exc}"
            if self.job is not None:
                log_tail = self.job_log.text() if self.job_log else ""
                self._end_job(lambda e, j, exc=exc: handover.report_error(e, j, exc, log_tail))
                return TICK_S
            return IDLE_TICK_S
        finally:
            trace.record(now, time.monotonic(), f"tick {state}")

    def _interrupt(self):
        """Why the job in hand must be given back now, or None."""
        if self.stop_reason:
            return Interrupt(self.stop_reason, STOPPING)
        if self.user_pause:
            return Interrupt(self.user_pause, PAUSED)
        if self.artist_rendering:
            return Interrupt("you are rendering", PAUSED)
        if self.idle_minutes and time.monotonic() - self.last_input < 2.0:
            return Interrupt("you are working (Only when idle)", PAUSED)
        return None

    def _why_not_start(self) -> str:
        """Why no new job may start now ('' = it may)."""
        if self.user_pause:
            return self.user_pause
        # a farm render job just ended is still listed as running for a moment
        settling = time.monotonic() - self.last_render_end < SETTLE_S
        other_render = farm_render.artist_render_running(None) and not settling
        if self.artist_rendering and time.monotonic() - self.artist_render_at > 3.0 and \
                not other_render:
            self.artist_render(False)  # F12 seen, but no render came of it (or it ended)
        if self.artist_rendering or other_render:
            return "you are rendering"
        if time.monotonic() - self.artist_render_at < ARTIST_SETTLE_S:
            # their render has just ended: its job's end, the render window's first redraws
            # and the engine's Python (Cycles frees its session) come first
            return "you are rendering"
        if self.idle_minutes:
            idle = time.monotonic() - self.last_input
            if idle < self.idle_minutes * 60:
                return (f"waiting until you are away for {self.idle_minutes:g} min "
                        f"(away {idle / 60:.1f} min)")
        return ""

    # one method per state ---------------------------------------------------------------

    def _waiting(self):
        if self.stop_reason or self.stop_after_job:
            return self._begin_stopping()
        why = self._why_not_start()
        if why:
            return self._enter_pause(why)
        with trace.span("audit warm-up"):
            ready = audit.warm_up(WARM_UP_S)
        if not ready:  # the audit's once-per-process preparation, in slices first
            return TICK_S
        if not self.engines_known:
            # the render engines' probe scene (engine_id.py) now, not inside a job: each
            # use of it redraws the whole window, and the artist's 3D view then redraws
            # itself for its anti-aliasing samples (8 by default: ~2.5 s of redraws of up to
            # 0.28 s each with software OpenGL); the first job waits for them
            try:
                with trace.span("engine probe"):
                    self._write(engine_id.warm_up)
            except Exception as exc:
                if self._retry_later(exc, "asking Blender about render engines"):
                    return TICK_S * 4
                raise
            self.busy.reset()
            self.engines_known = True
            self.quiet_from = time.monotonic() + WINDOW_SETTLE_S
            return TICK_S
        if time.monotonic() < self.quiet_from:
            return IDLE_TICK_S
        if farm_render.render_job_listed():
            # no job is appended while any render job exists (ours still ending, or one
            # _why_not_start does not count yet): its end runs first, then the next append
            return TICK_S
        if self.staging_dirty:  # a job dropped while its render ran: that render is over now
            self.staging_dirty = False
            shutil.rmtree(self._staging_root(), ignore_errors=True)
        if not self.engine_running:
            # stopped with a release (_hand_over_and_hold) and the pause already over (the
            # artist clicked Resume while the job was handed over): start it again
            if self._stopping_engine():
                return IDLE_TICK_S
            log.info("worker: starting the engine again")
            self._start_engine()
            return TICK_S
        with trace.span("engine.next_job"):
            job = self.engine.next_job(0)
        if job is None:
            return IDLE_TICK_S
        self.job = job
        self.job_log = handover.JobLog().open(job)
        self.result = RenderResult()
        self.frames = list(job.frames)
        self.frame_index = 0
        self.prepare_step = 0
        self.device_used = self.device_warning = ""
        self.state = PREPARING
        return TICK_S

    def _preparing(self):
        interrupt = self._interrupt()
        if interrupt is not None:
            return self._give_back(interrupt)
        try:
            wait = self._write(self._prepare_one)
        except Exception as exc:
            if self.prepare_step > 0 and self._retry_later(exc, "preparing the job"):
                return TICK_S * 4
            log_tail = self.job_log.text()
            return self._end_job(lambda e, j, exc=exc: handover.report_error(e, j, exc,
                                                                             log_tail))
        if wait is not None:
            return wait
        self.prepare_step += 1
        self.busy.reset()
        return TICK_S

    def _prepare_one(self):
        """One step of the preparation (self.prepare_step); a turn's delay to return now, or
        None to go on with the next step."""
        job = self.job
        if self.prepare_step == 0:
            started = time.monotonic()
            self.appended = AppendedJob(job)
            with trace.span("append"):
                self.appended.append()
            self.append_span = (started, time.monotonic())
            log.info("job %s: scene appended in %.2f s", job.id,
                     self.append_span[1] - started)
        elif self.prepare_step == 1:
            with trace.span("audit"):
                self.appended.audit()
        elif self.prepare_step == 2:
            scene = self.appended.scene
            os.makedirs(job.output_dir, exist_ok=True)
            self.result.notes = prepare_scene(scene, job.output_dir,
                                              job.output_format or "PNG",
                                              self.settings.device)
            self.result.device = rendered_device_class(scene, self.settings.device)
            self._leave_a_core(scene)
            self._note_device(scene)
            self.frames = self.frames or [scene.frame_current]
        else:
            # The render starts in a turn of its own, once no render job is listed: the
            # main loop has handled what the preparation notified, and starting a render
            # kills every other job (screen_render_invoke), an artist's just begun too.
            if farm_render.render_job_listed():
                return TICK_S
            self.state = RENDERING
            self.render = None
            return self._start_next_frame()
        return None

    def _rendering(self):
        render = self.render
        interrupt = self._interrupt()
        if render is None:  # the next frame: not started yet, or refused for the moment
            if interrupt is not None:
                return self._give_back(interrupt)
            if self.start_error is not None:  # raised in the watcher's turn
                exc, self.start_error = self.start_error, None
                raise exc
            return self._start_next_frame()
        if self.handed:
            # given back while its render ran (the artist's F12 or Esc, seen by the
            # watchers): whatever the render did, nothing more of it reaches the engine
            if interrupt is not None and interrupt.then == PAUSED and not self.stop_reason:
                self.pause_reason = interrupt.reason
            if render.state == farm_render.DONE:  # (the F12 kill fires render_complete)
                render.state = farm_render.CANCELLED  # its frame is dropped, not handed in
            return self._end_job(None)
        if render.state == farm_render.RUNNING:
            if interrupt is not None:
                return self._give_back(interrupt)  # released first, then cancelled
            with trace.span("engine.job_cancelled"):
                lost = self.engine.job_cancelled(self.job)
            if lost:
                return self._end_job(None)
            if render.yield_due():
                render.yield_cpu()
            self._send_progress()
            return TICK_S
        if render.state == farm_render.CANCELLED:  # Esc, or the status bar's cancel
            if interrupt is None:
                # Esc never reaches the watcher (the render operator's modal handler takes
                # it), so a cancel we did not ask for is the artist's Esc or the status
                # bar's cancel button.
                interrupt = Interrupt(ESC_REASON, PAUSED)
                self.user_pause = interrupt.reason
            return self._give_back(interrupt)
        if render.state == farm_render.DONE and not self.artist_rendering and \
                farm_render.artist_render_running(render) and \
                time.monotonic() - render.ended_at < SETTLE_S:
            return TICK_S  # our own render job may still be ending: look again
        if render.state == farm_render.DONE and (
                self.artist_rendering or farm_render.artist_render_running(render)):
            # Starting a render kills every other render job (screen_render_invoke:
            # WM_jobs_kill_all_except), and a killed render still writes its partial image
            # and fires render_complete: with the artist's render running, this frame may
            # be unfinished. Give the job back rather than hand in a partial frame.
            render.state = farm_render.CANCELLED
            return self._give_back(interrupt or Interrupt("you are rendering", PAUSED))
        if render.state == farm_render.FAILED:
            exc = RenderFailed(render.error)
            log_tail = self.job_log.text()
            return self._end_job(lambda e, j: handover.report_error(e, j, exc, log_tail))
        # DONE: one more frame written (staged); into the job's output, stripped of what
        # would tell strangers about this worker
        path = os.path.join(self.job.output_dir, os.path.basename(render.path))
        try:
            os.replace(render.path, path)
            stripped = strip_metadata(path)
        except (OSError, ValueError) as exc:
            failed = RenderFailed(f"frame {render.frame}: could not move the frame into the "
                                  f"job's output or strip its metadata ({path}): {exc}")
            log_tail = self.job_log.text()
            return self._end_job(lambda e, j: handover.report_error(e, j, failed, log_tail))
        self.result.paths.append(path)
        self.result.seconds += render.seconds
        log.info("frame %d rendered in %.2f s: %s (%d bytes; %d bytes of metadata removed)",
                 render.frame, render.seconds, path, os.path.getsize(path), stripped)
        self.frame_index += 1
        handover.report_frame(self.engine, self.job, self.frame_index, len(self.frames),
                              render.seconds)
        if self.frame_index < len(self.frames):
            if interrupt is not None:
                return self._give_back(interrupt)
            self.render = None
            return self._start_next_frame()
        started = self.job_log.started
        result = self.result
        return self._end_job(lambda e, j: handover.report_result(e, j, result, "", started))

    def _handing_over(self):
        """First turn: the outcome reaches the engine (a release at once). Then the job's
        data is removed -- once Blender has finished with the render job (see
        :meth:`_render_job_gone`) -- and the worker moves on."""
        if self.job is None:  # dropped meanwhile (another file loaded, Blender quitting)
            self.outcome = None
            return self._after_job()
        if not self.handed:
            try:
                self._hand_over()
            except Exception:
                self._remove_job_data()
                raise
        if not self._render_job_gone() or not self._remove_job_data():
            return TICK_S
        return self._after_job()

    def _hand_over(self) -> None:
        """The job's outcome (``self.outcome``) reaches the engine, once per job. The engine
        sends it on its own thread (non-blocking) and, for a release, removes the job dir."""
        if self.handed:
            return
        outcome, job = self.outcome, self.job
        self.outcome, self.handed = None, True
        done = outcome(self.engine, job) if outcome is not None else None
        if done == handover.FINISHED and self.lifetime is not None:
            self.lifetime.add_job(self.result.seconds)

    def _after_job(self):
        """The state after a job: stopping, paused or waiting for the next."""
        if self.stop_reason or self.stop_after_job:
            return self._begin_stopping()
        why = self._why_not_start()
        if why:
            return self._enter_pause(why)
        self.state = WAITING
        return TICK_S

    def _render_job_gone(self) -> bool:
        """Whether the job's scene may be removed now: no render job is listed any more
        (a render that ended on its own -- done, Esc, failed -- is still listed until
        Blender's window manager has run its end, <= 0.2 s later), or SETTLE_S passed (the
        listed job is then the artist's, which killed ours when it started)."""
        if self.render is None or bpy.data.scenes.get(self.render.scene_name) is None:
            return True
        return (not farm_render.render_job_listed() or
                time.monotonic() - self.cleanup_from >= SETTLE_S)

    def _remove_job_data(self) -> bool:
        """Remove everything the job added to the artist's file (its scene first: a render
        job of it still listed is killed with it), close its log, forget the job. Returns
        False, with nothing forgotten, while Blender refuses the removal for the moment (see
        :meth:`_retry_later`): the next turn tries again."""
        job = self.job

        def remove() -> int:
            # the job's scenes through the Scene menu's operator (the render's first: a
            # render job still listed is killed with it), then the rest of what the job
            # added, unused by then, removed without a redraw of the window (jobrun.py)
            names = [self.render.scene_name] if self.render is not None else []
            if self.appended is not None:
                names += sorted(self.appended.scene_names - set(names))
            running = self.render is not None and self.render.state == farm_render.RUNNING
            for name in names:
                scene = bpy.data.scenes.get(name)
                if scene is None:
                    continue
                if running and name == self.render.scene_name:
                    # its render job still runs: the operator kills it first
                    farm_render.delete_scene(scene)
                else:  # (our render job's end is waited out: _render_job_gone)
                    farm_render.remove_scene(scene)
            return self.appended.discard() if self.appended is not None else 0

        try:
            removed = self._write(remove)
        except Exception as exc:
            if self._retry_later(exc, "removing the job's data"):
                return False
            self._forget_job()
            raise
        if job is not None:
            shutil.rmtree(self._staging_dir(), ignore_errors=True)
            log.info("job %s: %d datablock(s) the job added were removed", job.id, removed)
        self._forget_job()
        return True

    def _forget_job(self) -> None:
        if self.job_log is not None:
            self.job_log.close()
        self.job = self.appended = self.render = self.job_log = self.outcome = None
        self.cleanup_from = 0.0
        self.busy.reset()
        self.handed = False
        self.start_wanted_at = self.start_retry_at = 0.0
        self.start_error = None

    def _write(self, step):
        """``step()``; through the write gate (write_gate.py) once Blender has refused this
        step for GATE_AFTER_S: its write guard is then stuck, not guarding a callback."""
        if not self.gated and self.busy.stuck(time.monotonic(), GATE_AFTER_S):
            self.gated = True  # for the rest of this session: the gate is harmless otherwise
            log.warning("job %s: Blender's write guard is stuck (every write from Python "
                        "refused for %.1f s, a Blender bug); the worker's steps run inside a "
                        "property update from now on, where Blender allows writes",
                        getattr(self.job, "id", "?"), time.monotonic() - self.busy.since)
        return write_gate.run(step) if self.gated else step()

    def _retry_later(self, exc: BaseException, what: str) -> bool:
        """Whether ``exc`` is Blender refusing writes for the moment (busy.py) and the step
        is to be tried again on a later turn (for at most BUSY_RETRY_S). Tags every area for
        a redraw: a Python draw callback that ends sets Blender's write guard back."""
        if not busy.is_refused_write(exc):
            return False
        _redraw_everything()
        if self.busy.first:
            log.info("job %s: Blender refuses changes for the moment (%s); %s again shortly",
                     getattr(self.job, "id", "?"), str(exc).splitlines()[0][:120], what)
        return self.busy.allow(time.monotonic())

    def _enter_pause(self, why: str):
        self.pause_reason = why
        self.state = PAUSED
        self.paused_at = time.monotonic()
        log.info("worker: paused: %s", why)
        return IDLE_TICK_S

    def _paused(self):
        if self.stop_reason:
            return self._begin_stopping()
        why = self._why_not_start()
        if not why:
            if self._stopping_engine():
                return IDLE_TICK_S  # the paused engine is still handing in its uploads
            log.info("worker: sharing again (was paused: %s)", self.pause_reason)
            self.pause_reason = ""
            if not self.engine_running:
                self._start_engine()
            self.state = WAITING
            return TICK_S
        self.pause_reason = why
        if self.engine_running and time.monotonic() - self.paused_at >= PAUSE_STOP_ENGINE_S:
            self._stop_engine_soon()  # a paused worker holds no job on the coordinator
        return IDLE_TICK_S

    def _stopping(self):
        if self._stopping_engine():
            return IDLE_TICK_S
        self.state = STOPPED
        status = self.engine.status() if self.engine is not None else {}
        log.info("worker stopped (%s): %s job(s) done, %s failed", self.stop_reason or
                 "after the job", status.get("jobs_done"), status.get("jobs_failed"))
        return None

    # helpers ----------------------------------------------------------------------------

    def _stopping_engine(self) -> bool:
        """True while the engine's stop (started by :meth:`_stop_engine_soon`) runs."""
        return self._stopper is not None and not self._stopper.done

    def _staging_root(self) -> str:
        work_dir = self.settings.engine_config(bpy.app.version)["work_dir"]
        return os.path.join(work_dir, STAGING_DIR)

    def _staging_dir(self) -> str:
        """Where the job's frames are rendered before they join its output:
        ``<work dir>/rendering/job-<id>`` (beside the job dir, not in it). A cancelled
        render still writes its partial frame when Blender ends it, after the job was
        released and its dir removed by the engine; here that frame harms nothing and is
        removed with the job's data (:meth:`_remove_job_data`)."""
        return os.path.join(os.path.dirname(os.path.abspath(self.job.work_dir)), STAGING_DIR,
                            f"job-{self.job.id}")

    def _start_frame(self, in_window: bool = False) -> None:
        """Start the job's next frame as a render job in ``self.window``; ``in_window``: in
        the sharing watcher's modal turn there (no context override: see
        farm_render.remove_scene)."""
        frame = self.frames[self.frame_index]
        staging = self._staging_dir()
        os.makedirs(staging, exist_ok=True)
        path = os.path.join(staging, frame_filename(frame, self.job.output_format or "PNG"))
        try:  # a partial frame of an earlier claim of this job must not pass for this one
            os.remove(path)
        except FileNotFoundError:
            pass
        render = farm_render.FrameRender(self.appended.scene, frame, path)
        with trace.span("render start"):
            render.start(self.window, in_window)
        self.render = render  # only once started: a refused start leaves no render behind
        self.start_wanted_at = self.start_retry_at = 0.0
        try:  # Esc seen ahead of the render's own handler (operators.py)
            if in_window:
                bpy.ops.farmhand.farm_render_watch("INVOKE_DEFAULT")
            else:
                with bpy.context.temp_override(window=self.window, screen=self.window.screen):
                    bpy.ops.farmhand.farm_render_watch("INVOKE_DEFAULT")
        except RuntimeError as exc:  # refused for the moment (busy.py): Esc is then seen
            log.info("job %s: the Esc watcher did not start (%s); an Esc is seen when the "
                     "render ends", self.job.id, exc)
        log.info("job %s: rendering frame %d (%d of %d) as a Blender render job (started %s)",
                 self.job.id, frame, self.frame_index + 1, len(self.frames),
                 "in the window's turn" if in_window else "from the timer")

    def _start_next_frame(self):
        """Start the job's next frame: in the sharing watcher's next turn in the window
        (:meth:`window_turn`, within WINDOW_TURN_WAIT_S), else from here. While Blender
        refuses it for the moment (busy.py) the render stays None and a later turn tries
        again (_rendering)."""
        now = time.monotonic()
        if self.window_turns is not None and self.window_turns():
            if not self.start_wanted_at:
                self.start_wanted_at = now
            if now - self.start_wanted_at < WINDOW_TURN_WAIT_S:
                return TICK_S
            log.info("job %s: the sharing watcher did not start the frame within %.1f s; "
                     "starting it from the timer", self.job.id, WINDOW_TURN_WAIT_S)
        self.start_wanted_at = 0.0
        try:
            self._write(self._start_frame)
        except Exception as exc:
            if not self._retry_later(exc, "starting the next frame"):
                raise
            return TICK_S * 4
        self.busy.reset()
        return TICK_S

    def window_turn(self) -> None:
        """Called by the sharing watcher's modal operator on each event in its window (a
        0.05 s timer keeps them coming): start the frame :meth:`_start_next_frame` asked
        for, with the window as Blender's own context. Never raises (a modal handler must
        not): an error is kept for the next tick, which reports it."""
        if (not self.start_wanted_at or self.state != RENDERING or self.render is not None
                or self.job is None or self.handed or bpy.context.window != self.window
                or time.monotonic() < self.start_retry_at):
            return
        # what the tick checked may have changed since (Pause, the artist's input or render)
        if self._interrupt() is not None or farm_render.render_job_listed():
            return  # the next tick gives the job back, or asks again
        self.start_wanted_at = 0.0
        try:
            self._write(lambda: self._start_frame(in_window=True))
        except Exception as exc:  # noqa: BLE001 -- handed to the tick, which knows
            if self._retry_later(exc, "starting the next frame"):
                self.start_wanted_at = time.monotonic()  # a later turn tries again
                self.start_retry_at = self.start_wanted_at + TICK_S * 4
            else:
                log.exception("job %s: starting frame %d failed", self.job.id,
                              self.frames[self.frame_index])
                self.start_error = exc
            return
        self.busy.reset()

    def _give_back(self, interrupt: Interrupt):
        """Release the job in hand (nothing is uploaded) and go on to ``interrupt.then``."""
        reason = interrupt.reason
        if interrupt.then == PAUSED and not self.stop_reason:
            self.pause_reason = reason
        outcome = self._release_outcome(reason)
        if self.render is not None and self.render.state == farm_render.RUNNING:
            self.outcome = outcome
            self._hand_over_and_hold()  # before the cancel, which waits for Cycles
        return self._end_job(outcome)

    def _release_outcome(self, reason: str, logged_note: str = ""):
        done = len(self.result.paths)
        sent = f"{reason} (after {done} frame(s))"
        logged = f"({sent}; {logged_note})" if logged_note else ""
        return lambda e, j: handover.report_release(e, j, sent, logged)

    def _release_before_render_ends(self, reason: str) -> None:
        """Give the job in hand back now, while its render is still running (it ends on a
        later turn: the artist's F12 kills it, Esc stops it at Cycles' next sample batch).
        Safe from a modal handler: only the engine is called (non-blocking)."""
        if (self.state != RENDERING or self.job is None or self.handed or
                self.render is None or self.render.state != farm_render.RUNNING):
            return
        self.outcome = self._release_outcome(reason, "its render is still ending")
        self._hand_over_and_hold()

    def _hand_over_and_hold(self) -> None:
        """Release the job now and, as the worker pauses or stops next, stop the engine now
        too: while the render ends (up to Cycles' sample batch) the engine would otherwise
        claim again, the same job often, only to release it when the pause stops it. The
        engine sends the queued ``/release`` before it stops (service_loop.cpp)."""
        self._hand_over()
        if PAUSE_STOP_ENGINE_S == 0.0 or self.stop_reason:
            self._stop_engine_soon()

    def _end_job(self, outcome):
        """The job's render is over, or must end now: hand it over in this same turn.

        A render still running is cancelled *after* the outcome (a release, mostly) has
        reached the engine: the cancel waits for Cycles' current sample batch (up to ~2.7 s
        in a window, docs/addon.md), while the engine sends ``/release`` on its own thread
        at once. The frame being rendered is staged outside the job dir
        (:meth:`_staging_dir`), so its partial image never lands in the dir the engine
        removes meanwhile."""
        self.outcome = outcome
        if self.render is not None and self.render.state == farm_render.RUNNING:
            try:
                self._hand_over()
            finally:
                farm_render.cancel(self.render)
        if self.render is not None:
            self.last_render_end = self.render.ended_at or time.monotonic()
        self.cleanup_from = time.monotonic()
        self.state = HANDING_OVER
        return self._handing_over()

    def _begin_stopping(self):
        self.state = STOPPING
        self._stop_engine_soon()
        return IDLE_TICK_S

    def _leave_a_core(self, scene) -> None:
        """The artist keeps working: a CPU render uses at most all cores but one."""
        cores = os.cpu_count() or 1
        limit = max(1, cores - 1)
        render = scene.render
        if render.threads_mode == "AUTO" or render.threads > limit:
            render.threads_mode = "FIXED"
            render.threads = limit
            self.result.notes.append(f"render threads limited to {limit} of {cores} cores "
                                     "(the artist keeps one)")

    def _note_device(self, scene) -> None:
        wanted = self.settings.device
        if scene.render.engine != "CYCLES":
            self.device_used = scene.render.engine.replace("BLENDER_", "").title()
            return
        gpu = [n for n in self.result.notes if n.startswith("device ")]
        if scene.cycles.device == "GPU" and gpu:
            self.device_used = gpu[0][len("device "):]
        else:
            self.device_used = "CPU"
            if wanted != "CPU":
                self.device_warning = f"your {wanted} GPU is not used: rendering on the CPU"

    def _send_progress(self) -> None:
        now = time.monotonic()
        if now - self.last_progress < PROGRESS_EVERY_S:
            return
        self.last_progress = now
        fraction, _ = self.progress()
        with trace.span("engine.progress"):
            self.engine.progress(self.job, fraction,
                                 f"frame {self.frame_index + 1}/{len(self.frames)}: "
                                 f"{self.render.elapsed():.0f} s")

    def progress(self) -> tuple[float, float | None]:
        """(job fraction 0..1, estimated fraction of the current frame or None when there is
        nothing to estimate from yet). The frame estimate is the elapsed time over the mean
        time of the job's frames so far, capped at 0.95."""
        total = max(1, len(self.frames))
        frame_part = None
        if self.render is not None and self.result.paths:
            mean = self.result.seconds / len(self.result.paths)
            frame_part = min(0.95, self.render.elapsed() / mean) if mean > 0 else None
        return (self.frame_index + (frame_part or 0.0)) / total, frame_part

    def snapshot(self) -> dict:
        """What the UI shows (status_text.describe turns it into words)."""
        with trace.span("engine.status"):
            status = self.engine.status() if self.engine is not None else {}
        job_fraction, frame_part = self.progress()
        return {
            "state": self.state, "engine_state": status.get("state", "stopped"),
            "job_id": self.job.id if self.job is not None else "",
            "frame_number": self.frame_index + 1, "frame_count": len(self.frames),
            "frame_elapsed_s": self.render.elapsed() if self.render is not None else 0.0,
            "frame_part": frame_part, "job_fraction": job_fraction,
            "pause_reason": self.pause_reason, "stop_reason": self.stop_reason,
            "stop_after_job": self.stop_after_job,
            "device_used": self.device_used, "device_warning": self.device_warning,
            "last_error": status.get("last_error") or self.error,
            "jobs_done": status.get("jobs_done", 0), "jobs_failed": status.get("jobs_failed", 0),
        }


_STEPS = {WAITING: GuiWorker._waiting, PREPARING: GuiWorker._preparing,
          RENDERING: GuiWorker._rendering, HANDING_OVER: GuiWorker._handing_over,
          PAUSED: GuiWorker._paused, STOPPING: GuiWorker._stopping,
          STOPPED: lambda _self: None}
