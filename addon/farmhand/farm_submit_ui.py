"""The *Render on the farm* operator and its panel (Properties > Render > Farmhand: Render on
the farm). The work is in farm_submit.py; this module only wires it to Blender: packing on the
main thread, the rest in a background thread, the panel redrawn by a timer while it runs.
Chunk size and reward live on the window manager, so nothing is written into the artist's
file."""

from __future__ import annotations

import tempfile

import bpy

from . import farm_submit
from .log import log

_state = {"submission": None}


def current():
    """The last Submission (or None)."""
    return _state["submission"]


def _settings(op):
    from .settings import WorkerSettings

    if op.backend_url:
        settings = WorkerSettings(backend_url=op.backend_url.rstrip("/"),
                                  ipfs_rpc_urls=[u.strip() for u in op.ipfs_rpc.split(",")
                                                 if u.strip()],
                                  key_file=op.key_file)
        settings.validate()
        return settings
    from .ui import settings_from_prefs

    return settings_from_prefs(bpy.context.preferences.addons[__package__].preferences)


def _redraw():
    sub = current()
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type == "PROPERTIES":
                area.tag_redraw()
    if sub is None or sub.state in ("done", "failed", "cancelled"):
        return None
    return 0.5


class FARMHAND_OT_render_on_farm(bpy.types.Operator):
    """Pack a copy of this file, upload it and render the scene's frame range on the farm;
    the frames land in the scene's output folder"""

    bl_idname = "farmhand.render_on_farm"
    bl_label = "Render on the Farm"

    # Optional overrides of the add-on preferences (scripts, tests).
    backend_url: bpy.props.StringProperty(options={"HIDDEN", "SKIP_SAVE"})
    ipfs_rpc: bpy.props.StringProperty(options={"HIDDEN", "SKIP_SAVE"})
    key_file: bpy.props.StringProperty(options={"HIDDEN", "SKIP_SAVE"})
    poll_s: bpy.props.FloatProperty(default=1.0, min=0.1, options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, _context):
        sub = current()
        return sub is None or sub.state in ("done", "failed", "cancelled")

    def execute(self, context):
        from .core_loader import load_core

        scene = context.scene
        wm = context.window_manager
        try:
            core = load_core()
            settings = _settings(self)
            out_dir = farm_submit.output_dir(scene)
            work = tempfile.mkdtemp(prefix="farmhand-submit-")
            report = farm_submit.pack_copy(work)
        except (farm_submit.SubmitError, ValueError, ImportError, RuntimeError) as exc:
            self.report({"ERROR"}, f"Render on the farm: {exc}")
            log.error("farm: %s", exc)
            return {"CANCELLED"}
        fields = farm_submit.scene_job(scene)
        sub = farm_submit.Submission(core, settings, report.path, fields, out_dir,
                                     chunk_size=wm.farmhand_chunk_size,
                                     reward=wm.farmhand_reward or "0", poll_s=self.poll_s,
                                     cleanup_dir=work)
        _state["submission"] = sub.start()
        if not bpy.app.background:
            bpy.app.timers.register(_redraw, first_interval=0.5)
        self.report({"INFO"}, f"Render on the farm: {len(fields['frames'])} frame(s) submitted")
        return {"FINISHED"}


class FARMHAND_OT_stop_following(bpy.types.Operator):
    """Stop following the farm job (it keeps rendering on the farm)"""

    bl_idname = "farmhand.stop_following"
    bl_label = "Stop Following"

    def execute(self, _context):
        if current() is not None:
            current().cancel()
        return {"FINISHED"}


class FARMHAND_PT_render_on_farm(bpy.types.Panel):
    bl_label = "Farmhand: Render on the Farm"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "render"

    def draw(self, context):
        layout = self.layout
        wm = context.window_manager
        scene = context.scene
        row = layout.row()
        row.prop(wm, "farmhand_chunk_size")
        row.prop(wm, "farmhand_reward")
        count = len(range(scene.frame_start, scene.frame_end + 1, max(1, scene.frame_step)))
        layout.label(text=f"Frames {scene.frame_start}-{scene.frame_end} ({count})")
        layout.operator(FARMHAND_OT_render_on_farm.bl_idname, icon="RENDER_ANIMATION")
        sub = current()
        if sub is None:
            return
        box = layout.box()
        box.label(text=sub.message, icon="ERROR" if sub.state == "failed" else "INFO")
        if sub.state in ("uploading", "submitting", "rendering", "downloading"):
            box.progress(factor=sub.progress, text=f"{sub.state} {100 * sub.progress:.0f}%") \
                if hasattr(box, "progress") else box.label(text=f"{100 * sub.progress:.0f}%")
            box.operator(FARMHAND_OT_stop_following.bl_idname, icon="CANCEL")


_classes = (FARMHAND_OT_render_on_farm, FARMHAND_OT_stop_following, FARMHAND_PT_render_on_farm)


def register():
    bpy.types.WindowManager.farmhand_chunk_size = bpy.props.IntProperty(
        name="Chunk Size", default=10, min=0, max=10000,
        description="Frames per task (0: one task for all frames)")
    bpy.types.WindowManager.farmhand_reward = bpy.props.StringProperty(
        name="Reward", default="1.00", description="Reward for the whole job (decimal)")
    for cls in _classes:
        bpy.utils.register_class(cls)


def unregister():
    sub = current()
    if sub is not None:
        sub.cancel()
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
    del bpy.types.WindowManager.farmhand_chunk_size
    del bpy.types.WindowManager.farmhand_reward
