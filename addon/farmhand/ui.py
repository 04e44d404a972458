"""Preferences, the Farmhand panel (Properties > Render) and the status-bar item.

Preferences (``AddonPreferences.bl_idname = __package__``): *Share my GPU* (a button, see
operators.py), *Only when idle* (N minutes), *Keep sharing after restart*; backend URL;
IPFS RPC URL(s) and gateway URL(s) (comma-separated); key file and cache dir (their defaults
shown); compute device (what Cycles reports); max job size (MiB). The worker address is shown
shortened with a copy button. ``bpy.app.online_access`` (Blender >= 4.2) is respected: with it
off nothing connects and the panel says why.

What the status bar and the panel say comes from status_text.describe(), redrawn live by
sharing.py while sharing.
"""

from __future__ import annotations

import bpy

from . import capabilities, compat, device, sharing, trace, write_gate
from .log import log, setup_stream_logging
from .operators import CLASSES as OPERATOR_CLASSES
from .settings import WorkerSettings, default_key_file, default_work_dir
from .status_text import duration, short_address

_state = {"address": "", "address_error": "", "devices": None}


def _prefs():
    return bpy.context.preferences.addons[__package__].preferences


def _online() -> bool:
    return getattr(bpy.app, "online_access", True)


def forget_devices() -> None:
    _state["devices"] = None


def worker_address() -> str:
    return _state["address"]


def _device_items(_self, _context):
    # Blender keeps only pointers to these strings: the list must outlive the call.
    if _state["devices"] is None:
        try:
            found = device.available_device_types()
        except Exception:  # Cycles missing or broken: CPU only
            found = ["CPU"]
        _state["devices"] = [(d, d, f"Render with {d}") for d in found]
    return _state["devices"]


def settings_from_prefs(prefs) -> WorkerSettings:
    """The worker settings the preferences describe."""
    split = [u.strip() for u in prefs.ipfs_rpc_urls.split(",") if u.strip()]
    gateways = [u.strip() for u in prefs.gateway_urls.split(",") if u.strip()]
    settings = WorkerSettings(
        backend_url=prefs.backend_url.rstrip("/"), ipfs_rpc_urls=split, gateway_urls=gateways,
        key_file=bpy.path.abspath(prefs.key_file) or default_key_file(),
        work_dir=bpy.path.abspath(prefs.cache_dir) or default_work_dir(),
        device=prefs.device or "CPU", max_job_bytes=prefs.max_job_mib * 1024 * 1024)
    settings.validate()
    return settings


def start_from_prefs(prefs) -> str:
    """Start sharing as the preferences say; '' or the error in words."""
    if not _online():
        log.info("Share my GPU is on, but Blender's online access is off: not connecting")
        return "Blender's online access is off (Preferences > System > Network)"
    try:
        settings = settings_from_prefs(prefs)
    except ValueError as exc:
        return str(exc)
    try:  # fail closed before claiming: the audit would refuse every job
        capabilities.for_running_blender()
    except capabilities.NotClassified as exc:
        log.error("Share my GPU is on, but not sharing: %s", exc)
        _state["start_error"] = str(exc)
        return _state["start_error"]
    _state["start_error"] = sharing.start(
        settings, prefs.idle_minutes if prefs.only_when_idle else 0.0)
    return _state["start_error"]


def ensure_key() -> None:
    """Create the key file (if missing) and remember the worker address for the UI."""
    try:
        from .core_loader import load_core

        core = load_core()
        settings = settings_from_prefs(_prefs())
        _state["address"] = core.Identity.load_or_create(settings.key_file).address
        _state["address_error"] = ""
    except Exception as exc:
        _state["address_error"] = f"{type(exc).__name__}: {exc}"
        log.error("worker key: %s", _state["address_error"])


# -- drawing -------------------------------------------------------------------------------

def draw_share_button(layout) -> None:
    sharing_now = sharing.worker() is not None
    layout.operator("farmhand.toggle_sharing", text="Share my GPU", depress=sharing_now,
                    icon="CHECKBOX_HLT" if sharing_now else "CHECKBOX_DEHLT")


def draw_controls(layout) -> None:
    """Pause / Resume, Stop, Stop After This Job (only while sharing)."""
    worker = sharing.worker()
    if worker is None:
        return
    row = layout.row(align=True)
    if worker.user_pause:
        row.operator("farmhand.resume", icon="PLAY")
    else:
        row.operator("farmhand.pause", icon="PAUSE")
    row.operator("farmhand.stop", icon="CANCEL").after_job = False
    row.operator("farmhand.stop", text="Stop After This Job",
                 icon="FF").after_job = True


def draw_status(layout) -> None:
    """What happens, in words; progress; device; lifetime numbers; reward; last problem."""
    box = layout.box()
    if not _online():
        box.label(text="Online access is off (Preferences > System > Network): "
                       "Farmhand does not connect.", icon="ERROR")
    left = sharing.resume_seconds_left()
    if left:
        row = box.row()
        row.label(text=f"Sharing resumes in {left:.0f} s (Keep sharing after restart)",
                  icon="INFO")
        row.operator("farmhand.cancel_resume")
    words = sharing.words()
    box.label(text=words.headline, icon=words.icon)
    if words.warning:
        box.label(text=words.warning, icon="ERROR")
    for line in words.details:
        box.label(text=line)
    col = box.column(align=True)
    lifetime = sharing.session()["lifetime"]
    if lifetime is not None:
        col.label(text=f"Jobs done: {lifetime.jobs_done} "
                       f"(rendering {duration(lifetime.seconds_rendered)} in all)")
    earnings = sharing.session()["earnings"]
    if earnings is not None:
        earnings.poll()  # a reply that came after sharing stopped (no timer takes it then)
        if earnings.numbers is not None:
            n = earnings.numbers
            col.label(text=f"Reward earned: {n['reward_total']} "
                           f"({n['jobs_completed']} job(s) credited, {n['jobs_failed']} "
                           "failed)")
        elif earnings.error:
            col.label(text=earnings.error.capitalize())
    if _state.get("start_error"):
        box.label(text=f"Could not start: {_state['start_error']}", icon="ERROR")


def draw_address(layout) -> None:
    row = layout.row()
    address = _state["address"]
    shown = short_address(address) if address else _state["address_error"] or "?"
    row.label(text=f"Worker: {shown}")
    row.operator("farmhand.copy_address", text="", icon="COPYDOWN")


class FarmhandPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    share_gpu: bpy.props.BoolProperty(
        name="Share my GPU", default=False,
        description="Sharing was on when Blender last saved its preferences (with Keep "
                    "sharing after restart, it resumes at the next start)")
    only_when_idle: bpy.props.BoolProperty(
        name="Only When Idle", default=False,
        description="Start jobs only after you have not used Blender for a while; your "
                    "next input gives the job back")
    idle_minutes: bpy.props.FloatProperty(
        name="Idle Minutes", default=5.0, min=0.05, max=240.0,
        description="Minutes without keyboard or mouse input before jobs start")
    keep_sharing: bpy.props.BoolProperty(
        name="Keep Sharing After Restart", default=False,
        description="Resume sharing when Blender starts (after a notice you can cancel)")
    backend_url: bpy.props.StringProperty(name="Backend URL", default="http://127.0.0.1:8000")
    ipfs_rpc_urls: bpy.props.StringProperty(
        name="IPFS RPC URL(s)", default="http://127.0.0.1:5001",
        description="Comma-separated kubo RPC API base URLs, tried in order")
    gateway_urls: bpy.props.StringProperty(
        name="Gateway URL(s)", default="",
        description="Comma-separated trustless IPFS gateways (every block is verified)")
    key_file: bpy.props.StringProperty(
        name="Key File", subtype="FILE_PATH", default="",
        description="Worker key (Ed25519, mode 0600); empty: Blender's config dir")
    device: bpy.props.EnumProperty(name="Compute Device", items=_device_items)
    max_job_mib: bpy.props.IntProperty(name="Max Job Size (MiB)", default=2048, min=1)
    cache_dir: bpy.props.StringProperty(
        name="Cache Dir", subtype="DIR_PATH", default="",
        description="Job downloads and renders; empty: ~/.cache/farmhand")

    def draw(self, _context):
        with trace.span("draw preferences"):
            self._draw()

    def _draw(self):
        layout = self.layout
        row = layout.row()
        draw_share_button(row)
        draw_controls(row)
        row = layout.row()
        row.prop(self, "only_when_idle")
        sub = row.row()
        sub.active = self.only_when_idle
        sub.prop(self, "idle_minutes")
        layout.prop(self, "keep_sharing")
        draw_status(layout)
        draw_address(layout)
        col = layout.column()
        col.use_property_split = True
        for name in ("backend_url", "ipfs_rpc_urls", "gateway_urls"):
            col.prop(self, name)
        col.prop(self, "key_file")
        if not self.key_file:
            col.label(text=f"Default: {default_key_file()}")
        col.prop(self, "cache_dir")
        if not self.cache_dir:
            col.label(text=f"Default: {default_work_dir()}")
        col.prop(self, "max_job_mib")
        row = col.row()
        row.prop(self, "device")
        row.operator("farmhand.refresh_devices", text="", icon="FILE_REFRESH")


class FARMHAND_PT_status(bpy.types.Panel):
    """Farmhand in Properties > Render: share, pause, stop, and what happens"""

    bl_label = "Farmhand"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "render"
    bl_order = -1  # first in the Render tab: where the artist looks after ticking it

    def draw(self, _context):
        with trace.span("draw panel"):
            self._draw()

    def _draw(self):
        layout = self.layout
        row = layout.row()
        draw_share_button(row)
        draw_controls(layout)
        draw_status(layout)
        draw_address(layout)


def _statusbar(self, _context):
    with trace.span("draw statusbar"):
        _draw_statusbar(self.layout)


def _draw_statusbar(layout):
    left = sharing.resume_seconds_left()
    if left:
        layout.label(text=f"Farmhand resumes sharing in {left:.0f} s", icon="INFO")
        layout.operator("farmhand.cancel_resume", text="Don't Share Now")
        return
    if sharing.worker() is None:
        return
    words = sharing.words()
    layout.label(text=f"Farmhand: {words.headline}", icon=words.icon)
    if words.warning:
        layout.label(text=words.warning, icon="ERROR")


_classes = (*OPERATOR_CLASSES, FarmhandPreferences, FARMHAND_PT_status)


def _after_register():
    prefs = _prefs()
    if prefs.share_gpu and prefs.keep_sharing:
        sharing.schedule_resume(lambda: start_from_prefs(_prefs()))
    return None


def register():
    setup_stream_logging()  # log lines to Blender's console (stderr)
    for cls in _classes:
        bpy.utils.register_class(cls)
    bpy.types.STATUSBAR_HT_header.append(_statusbar)
    write_gate.register()
    sharing.register()
    ensure_key()  # first enable: creates the key file (0600) and shows the address
    compat.register_timer(_after_register, first_interval=0.1)


def unregister():
    sharing.unregister()
    write_gate.unregister()
    bpy.types.STATUSBAR_HT_header.remove(_statusbar)
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
