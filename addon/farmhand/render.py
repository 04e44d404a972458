"""Render one job's frames of one scene into the job's output directory.

Output files are ``frame_0001.png`` ... (4-digit frame number, extension from the
format: PNG ``.png``, JPEG ``.jpg``, OPEN_EXR ``.exr``). The scene's ``render.filepath``
is forced into the output dir; nothing else is written.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field

import bpy

from .device import configure_compositor, configure_cycles, rendered_device_class
from .failures import JobFailure, classify_blender_error, with_fix
from .log import log
from .private_output import disable_stamp, strip_metadata

EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "OPEN_EXR": ".exr"}
#: Bytes a pixel of one view's render result holds at the least: the Combined pass, four
#: 32-bit floats (Blender's RenderResult/RenderPass; Cycles' film buffers come on top).
RESULT_BYTES_PER_PIXEL = 16
GIB = 1 << 30


class RenderFailed(JobFailure):
    """Blender could not render a frame (message says which and why); ``code`` given, or
    else :func:`failures.classify_blender_error` of the message (retryable unless e.g.
    ``no_camera``)."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message, code or classify_blender_error(str(message)))


@dataclass
class RenderResult:
    """Frames written (absolute paths, in frame order), seconds spent, notes for the log,
    the device class they were rendered with (device.rendered_device_class)."""

    paths: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    device: str = ""
    interrupted: bool = False  # stopped early on request; ``paths`` holds the frames done


def frame_filename(frame: int, output_format: str) -> str:
    """``frame_0001.png`` for frame 1 in PNG."""
    return f"frame_{frame:04d}{EXTENSIONS[output_format]}"


def _cgroup_memory_max(proc_cgroup: str = "/proc/self/cgroup",
                       root: str = "/sys/fs/cgroup") -> int | None:
    """The ``memory.max`` of this process's cgroup v2 (systemd's ``MemoryMax=``, e.g.
    packaging/node/farmhand-worker.service) in bytes, or None: no cgroup v2, "max", or
    unreadable."""
    try:
        with open(proc_cgroup, encoding="ascii") as f:
            path = next((line[3:].strip() for line in f if line.startswith("0::")), None)
        if path is None:
            return None
        with open(os.path.join(root, path.lstrip("/"), "memory.max"), encoding="ascii") as f:
            value = f.read().strip()
    except (OSError, ValueError):
        return None
    return int(value) if value.isdigit() else None


def memory_ceiling() -> int | None:
    """This process's memory ceiling in bytes: the lowest of its RLIMIT_DATA and RLIMIT_AS
    soft limits (the node launcher's ``--memory-max`` sets RLIMIT_DATA, native/src/sandbox/
    launcher.cpp; 75 % of the machine's memory by default) and its cgroup's ``memory.max``,
    or None when none is set."""
    limits = [resource.getrlimit(which)[0] for which in (resource.RLIMIT_DATA,
                                                           resource.RLIMIT_AS)]
    limits.append(_cgroup_memory_max())
    finite = [v for v in limits
              if v is not None and v not in (resource.RLIM_INFINITY, -1) and v > 0]
    return min(finite) if finite else None


def frame_size(scene) -> tuple[int, int]:
    """(width, height) in pixels Blender renders: resolution times its percentage."""
    r = scene.render
    pct = r.resolution_percentage
    return r.resolution_x * pct // 100, r.resolution_y * pct // 100


def check_memory(scene, ceiling: int | None) -> None:
    """Fail ``out_of_memory`` (retryable: a worker with more memory may render it) before
    rendering when one frame's render result alone (:data:`RESULT_BYTES_PER_PIXEL` a pixel
    and view, of the border region when the frame is cropped to it) is larger than ``ceiling``
    bytes (:func:`memory_ceiling`; None: no check). Without it Blender's allocation fails
    mid-render and Blender aborts (``crashed``)."""
    if ceiling is None:
        return
    width, height = frame_size(scene)
    r = scene.render
    views = 1
    if r.use_multiview:
        views = max(1, sum(1 for v in r.views if v.use)) if r.views_format == "MULTIVIEW" \
            else 2
    area = 1.0
    if r.use_border and r.use_crop_to_border:  # the frame is the border region alone
        area = max(0.0, r.border_max_x - r.border_min_x) * max(0.0, r.border_max_y -
                                                                r.border_min_y)
    need = int(width * height * area) * views * RESULT_BYTES_PER_PIXEL
    if need > ceiling:
        raise RenderFailed(
            f"scene '{scene.name}' renders {width} x {height} px"
            + (f" in {views} views" if views > 1 else "")
            + f": its render result alone needs {need / GIB:.1f} GiB, over this worker's "
            f"memory ceiling of {ceiling / GIB:.1f} GiB: lower the resolution (Output "
            "Properties > Format > Resolution X/Y or %) and submit again, or leave it to "
            "workers with more memory", code="out_of_memory")


def set_file_format(image_settings, output_format: str) -> None:
    """``image_settings.file_format = output_format``. Raises TypeError (Blender's RNA: enum
    value not found) where this Blender build lacks the format (a build without OpenEXR)."""
    image_settings.file_format = output_format


def prepare_scene(scene, output_dir: str, output_format: str, device_type: str) -> list[str]:
    """Format, output path and device settings. Returns notes (see configure_cycles).
    Raises RenderFailed: ``unsupported_format`` for a format outside :data:`EXTENSIONS`,
    ``worker_error`` for one this Blender build cannot write (retryable: another worker's
    build can), ``out_of_memory`` (:func:`check_memory`)."""
    if output_format not in EXTENSIONS:
        raise RenderFailed(f"unknown output format {output_format!r}; expected one of "
                           f"{', '.join(EXTENSIONS)}", code="unsupported_format")
    try:
        set_file_format(scene.render.image_settings, output_format)
    except TypeError as exc:  # the enum of a build without that format lacks it
        # This worker's limit, not the job's: retryable (docs/protocol.md, worker_error).
        raise RenderFailed(f"this worker's Blender {bpy.app.version_string} was built without "
                           f"{output_format} ({exc}): another worker can render the job; the "
                           "worker's owner should install an official Blender build",
                           code="worker_error") from exc
    r = scene.render
    if r.use_multiview and r.image_settings.views_format == "INDIVIDUAL":
        # One file per view, named by the view's suffix: never the frame asked for (the
        # check after the render, _no_output, says the same); refused before anything is
        # written.
        raise RenderFailed(f"scene '{scene.name}': Stereoscopy is on with Individual views "
                           "(one file per view); set Output Properties > Output > Views "
                           "Format to Stereo 3D, or turn Stereoscopy off, save and submit "
                           "again", code="scene_error")
    check_memory(scene, memory_ceiling())
    scene.render.use_file_extension = True
    scene.render.filepath = os.path.join(output_dir, "frame_")
    # Private, deterministic outputs: no path, date, host or timing stamped into results.
    disable_stamp(scene.render)
    return configure_compositor(scene, device_type) + configure_cycles(scene, device_type)


def _no_output(scene, frame: int, name: str, written: list[str]) -> tuple[str, str]:
    """(message, code) for frame ``frame`` that left no ``name`` (``written``: the files
    Blender wrote instead). Stereoscopy with "Individual" views writes ``<name>_L.png`` and
    ``<name>_R.png`` (one file per view) in every Blender: ``scene_error`` (not retryable),
    naming the setting; else ``no_output`` (retryable: e.g. this worker's disk refused the
    write; Blender 3.4 reports success writing into a read-only dir)."""
    text = f"frame {frame}: Blender reported success but wrote no {name}"
    if written:
        text += f" (it wrote {', '.join(written)})"
    r = scene.render
    if r.use_multiview and r.image_settings.views_format == "INDIVIDUAL":
        return (text + ": Stereoscopy is on with Individual views (one file per view); set "
                "Output Properties > Output > Views Format to Stereo 3D, or turn Stereoscopy "
                "off, save and submit again", "scene_error")
    return text, "no_output"


def _disk_note(output_dir: str) -> str:
    """What a frame the worker's disk refused (or cut short) needs said: not the scene's
    fault, another worker can render it, what the worker's owner should do; with the bytes
    free where the frame was written (``os.statvfs``: the unprivileged user's share)."""
    try:
        st = os.statvfs(output_dir)
        free = f" (it has {st.f_bavail * st.f_frsize} bytes free)"
    except OSError:
        free = ""
    return (f": this worker's disk did not take the frame{free}, a fault of this worker, not "
            "of the scene: another worker can render it; the worker's owner should free space "
            "in its work dir")


def _remove_partial(path: str) -> None:
    """Remove what a refused or cut-short write left at ``path`` (never uploaded, and the
    space is the worker's): best effort."""
    try:
        os.remove(path)
    except OSError:
        pass


def _render_still(scene, frame: int) -> None:
    """Render ``frame`` of ``scene`` and write it to ``scene.render.filepath``.

    ``render.render(scene=...)`` takes the frame from the *context* scene (seen in 3.4 and
    5.0), so when ``scene`` is not the context scene (GUI strategy) the context scene's
    ``frame_current`` is set for the call and restored afterwards.
    """
    context_scene = bpy.context.scene
    saved = context_scene.frame_current
    scene.frame_current = frame
    context_scene.frame_current = frame
    try:
        bpy.ops.render.render(write_still=True, scene=scene.name)
    finally:
        if context_scene != scene:
            context_scene.frame_current = saved


def render_frames(scene, frames, output_dir: str, output_format: str, device_type: str,
                  on_frame=None, should_stop=None) -> RenderResult:
    """Render ``frames`` (empty: the scene's current frame) of ``scene``.

    ``on_frame(done, total, seconds)`` is called after each frame; ``should_stop()`` is
    asked between frames (True: stop, result.interrupted set). Raises RenderFailed.
    """
    os.makedirs(output_dir, exist_ok=True)
    result = RenderResult(notes=prepare_scene(scene, output_dir, output_format, device_type))
    result.device = rendered_device_class(scene, device_type)
    for note in result.notes:
        log.info("render note: %s", note)
    frames = list(frames) or [scene.frame_current]
    for i, frame in enumerate(frames):
        if should_stop is not None and should_stop():
            result.interrupted = True
            break
        path = os.path.join(output_dir, frame_filename(frame, output_format))
        scene.render.filepath = os.path.splitext(path)[0]
        before = set(os.listdir(output_dir))
        started = time.monotonic()
        try:
            _render_still(scene, frame)
        except RuntimeError as exc:
            text = str(exc).strip()
            if text.startswith("Error: "):
                text = text[len("Error: "):]
            code = classify_blender_error(text)
            message = with_fix(f"frame {frame} of scene '{scene.name}': {text}")
            if code == "no_output":  # Blender's own report of a refused write
                message += _disk_note(output_dir)
                _remove_partial(path)
            raise RenderFailed(message, code=code) from exc
        took = time.monotonic() - started
        if not os.path.isfile(path):
            written = sorted(set(os.listdir(output_dir)) - before)
            text, code = _no_output(scene, frame, os.path.basename(path), written)
            raise RenderFailed(text, code=code)
        size = os.path.getsize(path)
        try:
            if size == 0:
                raise ValueError("empty file")
            stripped = strip_metadata(path)  # ValueError for a cut-short PNG or JPEG
        except (OSError, ValueError) as exc:
            # bpy 5.0 reports "Saved" for a PNG the full disk cut short (seen 2026-12-03)
            note = _disk_note(output_dir)
            _remove_partial(path)
            raise RenderFailed(f"frame {frame}: Blender reported success but "
                               f"{os.path.basename(path)} is unusable ({size} bytes: {exc})"
                               + note, code="no_output") from exc
        result.paths.append(path)
        result.seconds += took
        log.info("frame %d rendered in %.2f s: %s (%d bytes; %d bytes of metadata removed)",
                 frame, took, path, os.path.getsize(path), stripped)
        if on_frame is not None:
            on_frame(i + 1, len(frames), took)
    return result
