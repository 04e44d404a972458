"""The add-on's operators. None has ``UNDO`` in ``bl_options``: sharing, pausing and stopping
are never steps in the artist's undo history (the preference *Share my GPU* is changed by
:class:`FARMHAND_OT_toggle_sharing`, not drawn as a property, because a property toggled in
the UI pushes an undo step).
"""

from __future__ import annotations

import time

import bpy

from . import farm_render, sharing, trace
from .log import log

# Event types that are not the artist's input (for Only when idle).
_NOT_INPUT_PREFIXES = ("TIMER", "NDOF_MOTION")
_NOT_INPUT = {"NONE", "WINDOW_DEACTIVATE", "ACTIONZONE_AREA", "ACTIONZONE_REGION",
              "ACTIONZONE_FULLSCREEN", "XR_ACTION"}


TURN_S = 0.05  # the sharing watcher's window timer (GuiWorker.window_turn)


def _prefs():
    return bpy.context.preferences.addons[__package__].preferences


class FARMHAND_OT_share_watch(bpy.types.Operator):
    """Watch the artist's events while sharing (F12, input for Only when idle); every event
    passes on untouched (Esc reaches the render job itself: G.is_break)"""

    bl_idname = "farmhand.share_watch"
    bl_label = "Farmhand: Watch While Sharing"
    bl_options = {"INTERNAL"}

    def invoke(self, context, _event):
        wm = context.window_manager
        wm.modal_handler_add(self)
        # its events keep the worker's turns in the window coming (GuiWorker.window_turn)
        self._timer = wm.event_timer_add(TURN_S, window=context.window)
        sharing.session()["modal"] = True
        sharing.session()["modal_seen"] = time.monotonic()
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        with trace.span("modal"):
            try:
                result = self._modal(event)
            except Exception:  # an error here must not end the watcher (F12, Esc, starts)
                log.exception("sharing watcher: unexpected error")
                result = {"PASS_THROUGH"}
        if "FINISHED" in result:
            self.cancel(context)
        return result

    def _modal(self, event):
        farm_render.restore_artist_render_props()  # before any keymap sees this event
        worker = sharing.worker()
        if worker is None:
            if farm_render.artist_render_props_pending():
                return {"PASS_THROUGH"}  # a farm render's operator may still store its own
            return {"FINISHED", "PASS_THROUGH"}
        sharing.session()["modal_seen"] = time.monotonic()
        kind = event.type
        if not (kind in _NOT_INPUT or kind.startswith(_NOT_INPUT_PREFIXES)):
            worker.artist_input()
            if event.value == "PRESS" and kind == "F12":
                worker.artist_render(True)  # Render Image / Animation: the farm render yields
        worker.window_turn()  # a frame start waiting for the window's own context
        return {"PASS_THROUGH"}

    def cancel(self, context):
        sharing.session()["modal"] = False
        timer, self._timer = getattr(self, "_timer", None), None
        if timer is not None:
            context.window_manager.event_timer_remove(timer)


class FARMHAND_OT_farm_render_watch(bpy.types.Operator):
    """Watch one farm render for the artist's Esc; every event passes on untouched.

    The render operator's own modal handler takes Esc (``screen_render_modal``) and Blender
    stops the render only at Cycles' next sample batch, up to ~2.7 s later. Invoked right
    after each farm render starts, this handler is put ahead of the render's (Blender adds
    modal handlers at the head of the window's list), so the worker sees the Esc at once
    and gives the job back before the render has ended. It ends at the first event after
    the render it watches is over."""

    bl_idname = "farmhand.farm_render_watch"
    bl_label = "Farmhand: Watch the Farm Render"
    bl_options = {"INTERNAL"}

    def invoke(self, context, _event):
        worker = sharing.worker()
        self._render = getattr(worker, "render", None)
        if self._render is None:
            return {"CANCELLED"}
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, _context, event):
        worker = sharing.worker()
        if (worker is None or worker.render is not self._render or
                self._render.state != farm_render.RUNNING):
            return {"FINISHED", "PASS_THROUGH"}
        # Blender breaks a render on Esc without Shift, Ctrl or Alt (3.4's GHOST ignores the
        # OS key; 4.x+ counts it as a modifier, and the worker then cancels the render itself)
        if event.type == "ESC" and event.value == "PRESS" and not (
                event.shift or event.ctrl or event.alt):
            worker.farm_render_escaped()
        return {"PASS_THROUGH"}


class FARMHAND_OT_toggle_sharing(bpy.types.Operator):
    """Render jobs from the farm while Blender is open (click again to stop: the job in
    hand is given back at once)"""

    bl_idname = "farmhand.toggle_sharing"
    bl_label = "Share my GPU"
    bl_options = {"INTERNAL"}

    def execute(self, _context):
        prefs = _prefs()
        if sharing.worker() is not None:
            prefs.share_gpu = False
            sharing.stop("you turned off Share my GPU")
            return {"FINISHED"}
        from .ui import start_from_prefs

        prefs.share_gpu = True
        sharing.cancel_resume()
        error = start_from_prefs(prefs)
        if error:
            self.report({"ERROR"}, f"Farmhand could not start: {error}")
            return {"CANCELLED"}
        return {"FINISHED"}


class FARMHAND_OT_pause(bpy.types.Operator):
    """Pause sharing: the job in hand is given back at once; Resume to share again"""

    bl_idname = "farmhand.pause"
    bl_label = "Pause"
    bl_options = {"INTERNAL"}

    def execute(self, _context):
        worker = sharing.worker()
        if worker is not None:
            worker.pause("you paused sharing")
        return {"FINISHED"}


class FARMHAND_OT_resume(bpy.types.Operator):
    """Share again after a pause"""

    bl_idname = "farmhand.resume"
    bl_label = "Resume"
    bl_options = {"INTERNAL"}

    def execute(self, _context):
        worker = sharing.worker()
        if worker is not None:
            worker.resume()
        return {"FINISHED"}


class FARMHAND_OT_stop(bpy.types.Operator):
    """Stop sharing now: the job in hand is given back at once"""

    bl_idname = "farmhand.stop"
    bl_label = "Stop"
    bl_options = {"INTERNAL"}

    after_job: bpy.props.BoolProperty(
        name="After This Job", default=False,
        description="Let the job in hand finish and be handed in first")

    def execute(self, _context):
        if not self.after_job:
            _prefs().share_gpu = False
        sharing.stop("you stopped sharing", after_job=self.after_job)
        return {"FINISHED"}


class FARMHAND_OT_cancel_resume(bpy.types.Operator):
    """Do not resume sharing now (Keep sharing after restart)"""

    bl_idname = "farmhand.cancel_resume"
    bl_label = "Don't Share Now"
    bl_options = {"INTERNAL"}

    def execute(self, _context):
        sharing.cancel_resume()
        _prefs().share_gpu = False
        return {"FINISHED"}


class FARMHAND_OT_copy_address(bpy.types.Operator):
    """Copy this worker's full address to the clipboard"""

    bl_idname = "farmhand.copy_address"
    bl_label = "Copy Worker Address"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        from .ui import worker_address

        address = worker_address()
        context.window_manager.clipboard = address
        self.report({"INFO"}, f"Copied {address}")
        log.info("worker address copied to the clipboard")
        return {"FINISHED"}


class FARMHAND_OT_refresh_devices(bpy.types.Operator):
    """Ask Cycles again which compute devices this machine has"""

    bl_idname = "farmhand.refresh_devices"
    bl_label = "Refresh Devices"
    bl_options = {"INTERNAL"}

    def execute(self, _context):
        from . import ui

        ui.forget_devices()
        return {"FINISHED"}


CLASSES = (FARMHAND_OT_share_watch, FARMHAND_OT_farm_render_watch, FARMHAND_OT_toggle_sharing,
           FARMHAND_OT_pause, FARMHAND_OT_resume, FARMHAND_OT_stop, FARMHAND_OT_cancel_resume,
           FARMHAND_OT_copy_address, FARMHAND_OT_refresh_devices)
