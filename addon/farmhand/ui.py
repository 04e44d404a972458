"""Preferences, the status panel, operators and the status-bar progress.

Preferences (``AddonPreferences.bl_idname = __package__``): *Share my GPU*; backend URL;
IPFS RPC URL(s) and gateway URL(s) (comma-separated); key file (created on first enable in
Blender's user config dir, worker address shown with a copy button); compute device (what
Cycles reports); max job size (MiB); cache dir. ``bpy.app.online_access`` (Blender >= 4.2)
is respected: with it off nothing connects and the panel says why.
"""

from __future__ import annotations

import bpy

from . import device
from .log import log, setup_stream_logging
from .settings import WorkerSettings, default_key_file, default_work_dir

_state = {"worker": None, "address": "", "address_error": "", "devices": None}


def _prefs():
    return bpy.context.preferences.addons[__package__].preferences


def _online() -> bool:
    return getattr(bpy.app, "online_access", True)


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


def _start_worker(prefs) -> None:
    from .gui_worker import GuiWorker

    if _state["worker"] is not None:
        return
    if not _online():
        log.info("Share my GPU is on, but Blender's online access is off: not connecting")
        return
    worker = GuiWorker(settings_from_prefs(prefs))
    try:
        worker.start()
    except Exception as exc:  # shown in the panel; the toggle stays as the user set it
        worker.error = f"{type(exc).__name__}: {exc}"
        log.error("could not start the worker: %s", worker.error)
        _state["worker"] = worker
        return
    _state["worker"] = worker


def _stop_worker() -> None:
    worker = _state["worker"]
    _state["worker"] = None
    if worker is not None:
        worker.stop()


def _share_changed(self, _context):
    if self.share_gpu:
        _start_worker(self)
    else:
        _stop_worker()


def ensure_key() -> None:
    """Create the key file (if missing) and remember the worker address for the UI."""
    try:
        from .core_loader import load_core

        core = load_core()
        settings = settings_from_prefs(_prefs())
        engine = core.Engine(settings.engine_config(bpy.app.version))
        _state["address"] = engine.worker_address
        _state["address_error"] = ""
    except Exception as exc:
        _state["address_error"] = f"{type(exc).__name__}: {exc}"
        log.error("worker key: %s", _state["address_error"])


def draw_status(layout) -> None:
    """State, current job, progress, done/failed, last error."""
    box = layout.box()
    if not _online():
        box.label(text="Online access is off (Preferences > System > Network): "
                       "Farmhand does not connect.", icon="ERROR")
    worker = _state["worker"]
    if worker is None:
        box.label(text="Not sharing.", icon="PAUSE")
        return
    status = worker.status()
    box.label(text=f"State: {status.get('state', '?')}", icon="RENDER_STILL")
    if status.get("job_id"):
        box.label(text=f"Job {status['job_id']}: {100 * status.get('progress', 0):.0f}% "
                       f"{status.get('message', '')}")
    box.label(text=f"Jobs done: {status.get('jobs_done', 0)}, "
                   f"failed: {status.get('jobs_failed', 0)}")
    error = status.get("last_error") or worker.error
    if error:
        box.label(text=f"Last error: {error}", icon="ERROR")


class FARMHAND_OT_copy_address(bpy.types.Operator):
    """Copy this worker's address to the clipboard"""

    bl_idname = "farmhand.copy_address"
    bl_label = "Copy Worker Address"

    def execute(self, context):
        context.window_manager.clipboard = _state["address"]
        self.report({"INFO"}, f"Copied {_state['address']}")
        return {"FINISHED"}


class FARMHAND_OT_refresh_devices(bpy.types.Operator):
    """Ask Cycles again which compute devices this machine has"""

    bl_idname = "farmhand.refresh_devices"
    bl_label = "Refresh Devices"

    def execute(self, _context):
        _state["devices"] = None
        return {"FINISHED"}


class FarmhandPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    share_gpu: bpy.props.BoolProperty(
        name="Share my GPU", default=False, update=_share_changed,
        description="Render jobs from the farm while Blender is open")
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
        layout = self.layout
        layout.prop(self, "share_gpu")
        row = layout.row()
        row.label(text=f"Worker: {_state['address'] or _state['address_error'] or '?'}")
        row.operator(FARMHAND_OT_copy_address.bl_idname, text="", icon="COPYDOWN")
        for name in ("backend_url", "ipfs_rpc_urls", "gateway_urls", "key_file",
                     "max_job_mib", "cache_dir"):
            layout.prop(self, name)
        row = layout.row()
        row.prop(self, "device")
        row.operator(FARMHAND_OT_refresh_devices.bl_idname, text="", icon="FILE_REFRESH")
        draw_status(layout)


class FARMHAND_PT_status(bpy.types.Panel):
    bl_label = "Farmhand"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "render"

    def draw(self, context):
        prefs = context.preferences.addons[__package__].preferences
        self.layout.prop(prefs, "share_gpu")
        draw_status(self.layout)


def _statusbar(self, _context):
    worker = _state["worker"]
    if worker is None or worker.rendering_job is None:
        return
    status = worker.status()
    self.layout.label(text=f"Farmhand job {status.get('job_id', '')}: "
                           f"{100 * status.get('progress', 0):.0f}%", icon="RENDER_STILL")


_classes = (FARMHAND_OT_copy_address, FARMHAND_OT_refresh_devices, FarmhandPreferences,
            FARMHAND_PT_status)


def _after_register():
    prefs = _prefs()
    if prefs.share_gpu:
        _start_worker(prefs)
    return None


def register():
    setup_stream_logging()  # log lines to Blender's console (stderr)
    for cls in _classes:
        bpy.utils.register_class(cls)
    bpy.types.STATUSBAR_HT_header.append(_statusbar)
    ensure_key()  # first enable: creates the key file (0600) and shows the address
    bpy.app.timers.register(_after_register, first_interval=0.1)


def unregister():
    _stop_worker()
    bpy.types.STATUSBAR_HT_header.remove(_statusbar)
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
