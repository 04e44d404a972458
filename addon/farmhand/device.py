"""Compute device and denoiser setup for Cycles, with honest fallbacks.

``configure_cycles(scene, device_type)`` picks the preferred device type through Cycles'
add-on preferences (``compute_device_type``, ``refresh_devices()``, enable that type's
devices, ``scene.cycles.device = 'GPU'``). With no usable device it renders on the CPU and
says so. Without OpenImageDenoise (``_cycles.with_openimagedenoise`` false: Debian's
build) it turns denoising off instead of failing the render.
"""

from __future__ import annotations

import bpy

DEVICE_TYPES = ("CPU", "CUDA", "OPTIX", "HIP", "METAL", "ONEAPI")


def _cycles_prefs():
    addon = bpy.context.preferences.addons.get("cycles")
    return addon.preferences if addon else None


def available_device_types() -> list[str]:
    """Device types Cycles reports on this machine with at least one device, plus 'CPU'."""
    prefs = _cycles_prefs()
    found = ["CPU"]
    if prefs is None:
        return found
    saved = prefs.compute_device_type
    try:
        for dtype in DEVICE_TYPES[1:]:
            try:
                prefs.compute_device_type = dtype
            except TypeError:  # type not compiled into this build
                continue
            prefs.refresh_devices()
            if any(d.type == dtype for d in prefs.devices):
                found.append(dtype)
    finally:
        prefs.compute_device_type = saved  # asking must not change the user's choice
    return found


def _use_gpu(device_type: str) -> str | None:
    """Enable ``device_type``'s devices; returns their names joined, or None if none."""
    prefs = _cycles_prefs()
    if prefs is None:
        return None
    try:
        prefs.compute_device_type = device_type
    except TypeError:
        return None
    prefs.refresh_devices()
    names = []
    for dev in prefs.devices:
        dev.use = dev.type == device_type
        if dev.use:
            names.append(dev.name)
    return ", ".join(names) or None


def has_oidn() -> bool:
    """True when this Blender's Cycles was built with OpenImageDenoise."""
    try:
        import _cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def rendered_device_class(scene, device_type: str) -> str:
    """The device class ``scene`` renders with once ``configure_cycles(scene, device_type)``
    ran, as ``/complete`` says it (docs/protocol.md): ``device_type`` when Cycles renders on
    the GPU, ``"CPU"`` when it renders on the CPU (a GPU worker that fell back says so),
    ``""`` for other render engines (the device the worker polled with stands)."""
    if scene.render.engine != "CYCLES":
        return ""
    return (device_type or "CPU").upper() if scene.cycles.device == "GPU" else "CPU"


def configure_compositor(scene, device_type: str) -> list[str]:
    """The compositor's device follows the worker's, as Cycles' does: a CPU worker
    (``device_type`` "CPU") composites on the CPU a scene set to the GPU compositor
    (``RenderSettings.compositor_device``, Blender 4.2+; older Blenders have no GPU
    compositor for final renders). Seen 2026-12-03: bpy 5.0 without a GPU (headless, EGL on
    llvmpipe) segfaults compositing a 17000 x 16 px frame on the GPU (at 32 x 24 px it works),
    and so do bpy 4.2, 4.5 and 5.2; on the CPU it renders. Returns notes (empty when nothing changed)."""
    render = scene.render
    if (device_type or "CPU").upper() != "CPU" or \
            getattr(render, "compositor_device", "CPU") != "GPU":
        return []
    render.compositor_device = "CPU"
    return ["compositor device GPU -> CPU: this worker renders on its CPU"]


def configure_cycles(scene, device_type: str) -> list[str]:
    """Set up ``scene`` for the preferred ``device_type`` (one of DEVICE_TYPES).

    Returns notes for the log and the job result (fallbacks taken). Non-Cycles scenes are
    left as the file says.
    """
    notes: list[str] = []
    if scene.render.engine != "CYCLES":
        notes.append(f"render engine {scene.render.engine}: device preference not applied")
        return notes
    device_type = (device_type or "CPU").upper()
    if device_type == "CPU":
        scene.cycles.device = "CPU"
    else:
        names = _use_gpu(device_type)
        if names:
            scene.cycles.device = "GPU"
            notes.append(f"device {device_type}: {names}")
        else:
            scene.cycles.device = "CPU"
            notes.append(f"no active {device_type} device found: rendering on CPU")
    if not has_oidn():
        optix_ok = scene.cycles.device == "GPU" and device_type == "OPTIX"
        # read the denoiser only with OptiX: Debian's 3.4 warns on its (OIDN) enum value
        denoiser = getattr(scene.cycles, "denoiser", "") if optix_ok else ""
        # Cycles denoises a final render only when the scene's switch and a view layer's
        # are both on (scene.cycles.use_denoising is the master switch since 2.90).
        uses_denoise = scene.cycles.use_denoising and any(
            getattr(getattr(vl, "cycles", None), "use_denoising", False)
            for vl in scene.view_layers)
        if uses_denoise and not (optix_ok and denoiser == "OPTIX"):
            scene.cycles.use_denoising = False
            for vl in scene.view_layers:
                if hasattr(getattr(vl, "cycles", None), "use_denoising"):
                    vl.cycles.use_denoising = False
            notes.append("this Blender lacks OpenImageDenoise: denoising turned off")
    return notes
