"""Render one job's frames of one scene into the job's output directory.

Output files are ``frame_0001.png`` ... (4-digit frame number, extension from the
format: PNG ``.png``, JPEG ``.jpg``, OPEN_EXR ``.exr``). The scene's ``render.filepath``
is forced into the output dir; nothing else is written.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import bpy

from .device import configure_cycles, rendered_device_class
from .failures import JobFailure, classify_blender_error
from .log import log
from .private_output import disable_stamp, strip_metadata

EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "OPEN_EXR": ".exr"}


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


def prepare_scene(scene, output_dir: str, output_format: str, device_type: str) -> list[str]:
    """Format, output path and device settings. Returns notes (see configure_cycles)."""
    if output_format not in EXTENSIONS:
        raise RenderFailed(f"unknown output format {output_format!r}; expected one of "
                           f"{', '.join(EXTENSIONS)}", code="unsupported_format")
    settings = scene.render.image_settings
    settings.file_format = output_format
    scene.render.use_file_extension = True
    scene.render.filepath = os.path.join(output_dir, "frame_")
    # Private, deterministic outputs: no path, date, host or timing stamped into results.
    disable_stamp(scene.render)
    return configure_cycles(scene, device_type)


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
        started = time.monotonic()
        try:
            _render_still(scene, frame)
        except RuntimeError as exc:
            text = str(exc).strip()
            if text.startswith("Error: "):
                text = text[len("Error: "):]
            raise RenderFailed(f"frame {frame} of scene '{scene.name}': {text}",
                               code=classify_blender_error(text)) from exc
        took = time.monotonic() - started
        if not os.path.isfile(path):
            raise RenderFailed(f"frame {frame}: Blender reported success but {path} was not "
                               "written", code="no_output")
        try:
            stripped = strip_metadata(path)
        except (OSError, ValueError) as exc:
            raise RenderFailed(f"frame {frame}: could not strip metadata from {path}: "
                               f"{exc}") from exc
        result.paths.append(path)
        result.seconds += took
        log.info("frame %d rendered in %.2f s: %s (%d bytes; %d bytes of metadata removed)",
                 frame, took, path, os.path.getsize(path), stripped)
        if on_frame is not None:
            on_frame(i + 1, len(frames), took)
    return result
