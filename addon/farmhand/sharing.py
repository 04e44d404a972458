"""The sharing session of this Blender: the one GuiWorker, its modal operator, the hooks that
tell it what the artist does (their own renders, file loads, quitting), the live redraw of
what the UI shows, and *Keep sharing after restart* (a visible notice and a delay the artist
can cancel).
"""

from __future__ import annotations

import atexit
import os
import time

import bpy

from . import compat, farm_render, trace
from .earnings import Earnings
from .gui_worker import STOPPED, GuiWorker
from .lifetime import Lifetime
from .log import log
from .status_text import describe

RESUME_DELAY_S = 10.0   # Keep sharing after restart: the notice shows this long first
REDRAW_S = 0.5          # how often the words are checked for a change while sharing
PANEL_REDRAW_S = 2.0    # the Farmhand panels are redrawn at most this often

_session = {"worker": None, "earnings": None, "lifetime": None, "resume_at": 0.0,
            "headline": "", "modal": False, "reported": None}


def worker() -> GuiWorker | None:
    """The running (or stopping) worker, or None."""
    w = _session["worker"]
    return w if w is not None and w.state != STOPPED else None


def session() -> dict:
    return _session


def main_window():
    """The artist's main window (not Preferences or another temporary window), or None."""
    wm = bpy.context.window_manager
    for win in wm.windows if wm else []:
        if win.parent is None and not win.screen.is_temporary:
            return win
    return None


def lifetime_path(key_file: str) -> str:
    return os.path.join(os.path.dirname(key_file), "lifetime.json")


def start(settings, idle_minutes: float) -> str:
    """Start sharing with ``settings`` (a validated WorkerSettings); returns '' or the error
    in words (shown in the panel)."""
    if worker() is not None:
        return ""
    window = main_window()
    if window is None:
        return "no Blender window to render in"
    key_file = settings.key_file
    _session["lifetime"] = _session["lifetime"] or Lifetime(lifetime_path(key_file))
    w = GuiWorker(settings, idle_minutes=idle_minutes, lifetime=_session["lifetime"])
    try:
        w.start(window)
    except Exception as exc:  # key file, work dir: shown in the panel
        log.error("could not start the worker: %s", exc)
        return f"{type(exc).__name__}: {exc}"
    _session["worker"] = w
    earnings = _session["earnings"] = Earnings(settings.backend_url, key_file)
    w.window_turns = watcher_turning
    ensure_modal()
    earnings.fetch_soon()
    _session["reported"] = None
    if not bpy.app.timers.is_registered(_redraw):
        compat.register_timer(_redraw, first_interval=REDRAW_S, persistent=True)
    return ""


def watcher_turning() -> bool:
    """Whether the sharing watcher runs and saw an event lately (its 0.05 s window timer
    keeps them coming): GuiWorker.window_turn will then be called."""
    return bool(_session["modal"]) and time.monotonic() - _session.get("modal_seen", 0.0) < 1.0


def ensure_modal() -> None:
    """Start the modal operator (sees Esc, F12 and the artist's input) in the main window."""
    window = main_window()
    if watcher_turning() or window is None:
        return
    with bpy.context.temp_override(window=window, screen=window.screen):
        bpy.ops.farmhand.share_watch("INVOKE_DEFAULT")


def stop(reason: str, after_job: bool = False) -> None:
    w = worker()
    if w is not None:
        w.request_stop(reason, after_job=after_job)


# -- what the UI shows, redrawn live -----------------------------------------------------

def words():
    """status_text.Words for the current state (Not sharing when no worker)."""
    w = _session["worker"]
    snap = w.snapshot() if w is not None and w.engine is not None else None
    if snap is not None and w.state == STOPPED and not w.stop_reason:
        snap = None
    return describe(snap)


def _tag_redraw(panels: bool = True) -> None:
    """Redraw the Farmhand panels (Render properties, Preferences) when ``panels``. The
    status bar is a global area Python cannot list in 3.4; it is redrawn by Blender's own
    job progress while a farm frame renders and by any event otherwise."""
    wm = bpy.context.window_manager
    if not panels or wm is None:
        return
    now = time.monotonic()
    trace.record(now, now, "tag panels")
    for win in wm.windows:
        for area in win.screen.areas:
            if area.type == "PREFERENCES" or (
                    area.type == "PROPERTIES" and area.spaces.active.context == "RENDER"):
                area.tag_redraw()


@trace.traced("redraw timer")
def _redraw():
    """Timer: redraw the panels when the words or the reward change, at most every
    PANEL_REDRAW_S (a Properties redraw is the expensive one: ~0.1-0.2 s under Xvfb); take
    the reward fetch's reply and start the next fetch when the coordinator has accepted
    another report."""
    headline = words().headline
    earnings = _session["earnings"]
    taken = earnings is not None and earnings.poll()  # a reward reply: new numbers or error
    if headline != _session["headline"] or taken or _session.get("panels_due"):
        _session["headline"] = headline
        now = time.monotonic()
        panels = now - _session.get("panels_at", 0.0) >= PANEL_REDRAW_S
        if panels:
            _session["panels_at"] = now
        _session["panels_due"] = not panels  # (redrawn at the next turn allowed)
        _tag_redraw(panels)
    w = _session["worker"]  # (also once stopped: a graceful stop's last /complete counts)
    if earnings is not None and w is not None and w.engine is not None:
        # the coordinator has accepted another report (the engine's /complete or /fail,
        # sent on its own thread after the job was handed over), or a minute has passed
        status = w.engine.status()
        reported = (status.get("jobs_done"), status.get("jobs_failed"))
        changed = _session["reported"] not in (None, reported)  # (None: start() fetched)
        _session["reported"] = reported
        if changed or (earnings.due() and worker() is not None):
            earnings.fetch_soon()
    if worker() is None and not (earnings is not None and earnings.fetching()):
        _tag_redraw()
        return None
    return REDRAW_S  # (after a stop, until the last fetch's reply is in the panel)


# -- Keep sharing after restart ----------------------------------------------------------

def schedule_resume(start_fn) -> None:
    """Show the notice now and call ``start_fn()`` after RESUME_DELAY_S unless cancelled."""
    _session["resume_at"] = time.monotonic() + RESUME_DELAY_S
    log.info("Keep sharing after restart: sharing resumes in %.0f s (Cancel in the status "
             "bar)", RESUME_DELAY_S)

    def countdown():
        if not _session["resume_at"]:
            _tag_redraw()
            return None
        left = _session["resume_at"] - time.monotonic()
        _tag_redraw()
        if left > 0:
            return min(1.0, left)
        _session["resume_at"] = 0.0
        start_fn()
        return None

    compat.register_timer(countdown, first_interval=0.5)


def cancel_resume() -> None:
    """Drop a pending resume (no-op without one)."""
    if _session["resume_at"]:
        log.info("Keep sharing after restart: cancelled by the artist")
    _session["resume_at"] = 0.0


def resume_seconds_left() -> float:
    """Seconds until sharing resumes (0: no notice)."""
    if not _session["resume_at"]:
        return 0.0
    return max(0.0, _session["resume_at"] - time.monotonic())


# -- hooks: the artist's renders, file loads, quitting -------------------------------------

def _is_farm_scene(scene) -> bool:
    """Whether ``scene`` (the one a render handler names) is a farm job's. Render handlers run
    on the render job's thread, while the main thread may be appending or removing a job's
    data: only names are compared here, no other datablock is touched."""
    w = _session["worker"]
    name = getattr(scene, "name", None)
    if name in farm_render._active:
        return True
    appended = getattr(w, "appended", None) if w is not None else None
    return appended is not None and name in appended.scene_names


@bpy.app.handlers.persistent
def _artist_render_started(scene, *_args):
    w = worker()
    if w is not None and not _is_farm_scene(scene):
        w.artist_render(True)


@bpy.app.handlers.persistent
def _artist_render_ended(scene, *_args):
    w = worker()
    if w is not None and not _is_farm_scene(scene):
        w.artist_render(False)


@bpy.app.handlers.persistent
def _file_loading(*_args):
    w = worker()
    if w is not None:
        w.drop_job("the artist opened another file")
    _session["modal"] = False  # the file load ends every modal operator


@bpy.app.handlers.persistent
def _file_loaded(*_args):
    if worker() is not None:
        compat.register_timer(_after_load, first_interval=0.1)


def _after_load():
    """The loaded file's windows replace the old ones: the worker renders in the new main
    window, watched by a new sharing watcher."""
    w = worker()
    if w is not None:
        w.window = main_window() or w.window
        ensure_modal()


def _quitting():
    w = worker()
    if w is not None:
        w.shutdown_now("Blender is quitting")


_HOOKS = {"render_init": _artist_render_started, "render_complete": _artist_render_ended,
          "render_cancel": _artist_render_ended, "load_pre": _file_loading,
          "load_post": _file_loaded}


def register() -> None:
    farm_render.register()
    for name, fn in _HOOKS.items():
        handlers = getattr(bpy.app.handlers, name)
        if fn not in handlers:
            handlers.append(fn)
    atexit.register(_quitting)


def unregister() -> None:
    w = worker()
    if w is not None:
        w.shutdown_now("the Farmhand add-on was disabled")
    _session["modal"] = False  # (Blender frees the watcher without its cancel())
    atexit.unregister(_quitting)
    for name, fn in _HOOKS.items():
        handlers = getattr(bpy.app.handlers, name)
        if fn in handlers:
            handlers.remove(fn)
    farm_render.unregister()
    if bpy.app.timers.is_registered(_redraw):
        bpy.app.timers.unregister(_redraw)
