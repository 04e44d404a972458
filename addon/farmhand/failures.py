"""The closed set of ways a job can end badly, as the worker reports them to the coordinator.

Each kind has a stable ``code`` (sent in ``/fail``, docs/protocol.md "Failure codes"), a
``retryable`` flag (True when another worker, or this one later, could succeed) and a word:
``refused`` (the worker would not run the file: nothing was rendered) or ``failed`` (Blender
tried and could not). Messages start with that word and a colon and carry no trailing
whitespace; the worker's own paths never appear in them (:mod:`scrub`).

Source of the idea: SheepIt keeps ~35 such kinds, each with a message for people
(shared/STYLE.md). This table is the one place the add-on defines them; docs/protocol.md
"Failure codes" lists the same codes (a test compares the two); the engine uses
``download_failed``, ``upload_failed``, ``too_new``, ``too_large``, ``corrupt``, ``crashed``,
``no_output`` and ``worker_error`` for the failures it reports itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One failure kind: ``code``, ``retryable``, ``word`` ("refused"/"failed"), ``what``
    (a short description for people and docs)."""

    code: str
    retryable: bool
    word: str
    what: str


KINDS = {k.code: k for k in (
    Kind("refused_by_audit", False, "refused",
         "the file uses a feature that reads or writes files or runs Python from the file, "
         "or a path outside its job dir"),
    Kind("missing_files", False, "refused",
         "external files (textures, libraries, fonts, sounds...) are neither packed nor sent"),
    Kind("corrupt", False, "refused", "Blender cannot read the file (truncated, damaged, "
         "not a .blend)"),
    Kind("too_new", False, "refused", "saved by a newer Blender than this worker's (not "
         "retryable until workers are matched by version: every older one refuses it)"),
    Kind("too_large", True, "refused", "bigger than this worker accepts"),
    Kind("unclassified_blender", True, "refused", "this worker's Blender is newer than every "
         "capability classification its add-on ships: the audit cannot vouch for it"),
    Kind("no_camera", False, "failed", "the scene has no active camera"),
    Kind("unknown_engine", False, "failed",
         "the scene's render engine is an add-on's that no Farmhand worker runs"),
    Kind("unsupported_engine", True, "failed",
         "the scene's render engine is not available in this worker's Blender"),
    Kind("scene_error", False, "failed", "the scene's own settings keep every Blender from "
         "rendering the frame asked for (the message names the setting to change)"),
    Kind("unsupported_format", False, "failed", "the requested output format cannot be "
         "produced"),
    Kind("out_of_memory", True, "failed", "the render ran out of (GPU) memory on this worker"),
    Kind("gpu_error", True, "failed", "the GPU or its driver failed on this worker"),
    Kind("too_slow", True, "failed", "a frame took longer than this worker allows"),
    Kind("crashed", True, "failed", "Blender crashed while rendering"),
    Kind("render_error", True, "failed", "Blender reported another error while rendering"),
    Kind("no_output", True, "failed", "Blender wrote no usable frame: this worker's disk "
         "refused it, or the file is missing, empty or cut short"),
    Kind("download_failed", True, "failed", "the job file could not be downloaded"),
    Kind("upload_failed", True, "failed", "the result could not be uploaded or submitted"),
    Kind("worker_error", True, "failed", "a bug in the worker, or a fault of its own machine "
         "(its disk full or read-only, its Blender built without the output format)"),
)}


class JobFailure(Exception):
    """A job ended badly; ``code`` names its :data:`KINDS` entry. ``str(exc)`` is the detail
    (without the ``refused:``/``failed:`` word: :func:`report_text` adds it)."""

    code = "render_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            if code not in KINDS:
                raise ValueError(f"unknown failure code {code!r}; one of {sorted(KINDS)}")
            self.code = code

    @property
    def kind(self) -> Kind:
        return KINDS[self.code]


class JobRefused(JobFailure):
    """The worker will not run the job file (default code ``refused_by_audit``)."""

    code = "refused_by_audit"


def report_text(kind: Kind, detail: str) -> str:
    """``"<word>: <detail>"`` with trailing whitespace removed (each line's too), and no
    doubled word when ``detail`` already starts with it."""
    text = "\n".join(line.rstrip() for line in str(detail).strip().splitlines())
    for word in ("refused: ", "failed: "):
        if text.startswith(word):
            text = text[len(word):]
    return f"{kind.word}: {text}"


# What a creator can change for Blender's scene errors at render time (the texts of
# RE_is_rendering_allowed / RE_InitState in source/blender/render/intern/pipeline.cc, 3.4 to
# 5.x): appended to the message by :func:`with_fix`.
_FIXES = [
    # (also what 3.4 and 5.0 report for a Render Region of no area, not RE_is_rendering_allowed's
    # "No border area selected": RE_InitState's size check comes first; seen 2026-12-03)
    (re.compile(r"Image too small|No border area selected", re.I),
     "the frame is under one pixel wide or high: raise Output Properties > Format > "
     "Resolution X/Y or %, or widen (or turn off) Output Properties > Format > Render "
     "Region, save and submit again"),
    # 3.4 to 4.x, and 5.x's text for its compositor node group
    (re.compile(r"No render output node in scene|No Group Output or File Output nodes in "
                r"scene", re.I),
     "add a Composite node to the compositor (Group Output in Blender 5), or turn off "
     "Output Properties > Post Processing > Compositing, save and submit again"),
    (re.compile(r"All render layers are disabled", re.I),
     "tick Use for Rendering on a view layer (View Layer Properties), save and submit again"),
]


# Blender's own messages (bpy.ops.render.render's RuntimeError, Cycles' error strings),
# most specific first. Sources (Blender's repository; tests/addon/test_failure_kinds.py holds
# one real message of each):
# - "Render error (<why>) cannot save": see the entry (no_output);
# - "Cannot render, no camera": source/blender/render/intern/pipeline.cc; the scene errors
#   of :data:`_FIXES` (scene_error: no other worker would render the scene either);
# - "System is out of GPU memory" / "System is out of GPU and shared host memory":
#   intern/cycles/device/device.cpp (GPUDevice::generic_alloc) and metal/device_impl.mm;
# - "<what> in <call> (<file>:<line>)": intern/cycles/device/cuda/util.h
#   (cuda_device_assert) and hip/util.h, <what> from cuewErrorString/hipewErrorString
#   (extern/cuew/src/cuew.c: "Out of memory", "Illegal address", "Launch failed", ...),
#   <call> the driver call (cuMemAlloc, cuCtxSynchronize, hipMemcpyHtoD ...);
# - "<what> in CUDA queue enqueue (<kernel>)": intern/cycles/device/cuda/queue.cpp (HIP alike);
# - "OptiX error <OPTIX_ERROR_...> in <call>, line <n>" and "OptiX CUDA error ...":
#   intern/cycles/device/optix/device_impl.cpp (check_result_optix / check_result_cuda);
# - before 3.0: "CUDA error: <what> in <call>" / "CUDA error at <call>: <what>"
#   (intern/cycles/device/device_cuda.cpp).
_BLENDER_MESSAGES = [
    (re.compile(r"no camera", re.I), "no_camera"),
    # "Render error (<strerror>) cannot save: '<path>'": the frame's write failed (the disk
    # full, or refusing it); source/blender/blenkernel/intern/image_save.cc,
    # image_render_print_save_message (2.8x to 5.x); another worker's disk will take it
    (re.compile(r"\bcannot save: ", re.I), "no_output"),
    *((pattern, "scene_error") for pattern, _ in _FIXES),
    (re.compile(r"out of (gpu |device )?(and shared host )?memory|failed to allocate|"
                r"cannot allocate|std::bad_alloc|CUDA_ERROR_OUT_OF_MEMORY", re.I),
     "out_of_memory"),
    (re.compile(r"\b(CUDA|OptiX|HIP|Metal|oneAPI|OpenCL)\b.*error|error.*\b(CUDA|OptiX|HIP|"
                r"Metal|oneAPI)\b|GPU (device )?(error|lost)|illegal address|"
                r"\bin (cu|hip)[A-Z]\w*\(|\bin (CUDA|HIP) queue\b", re.I),
     "gpu_error"),
]


# Blender errors at render time that are no scene error (``render_error``, retryable: another
# worker may succeed) but have a fix a creator can make: source/blender/render/intern/
# pipeline.cc is_compositing_possible_on_gpu (4.2+; the compositor's GPU device and a frame
# over this GPU's safe texture size: a worker with a larger GPU may composite it). Seen
# 2026-12-03: bpy 4.2 to 5.2 without a GPU (headless, EGL on llvmpipe) segfault on such a
# scene instead (17000 x 16 px), so a CPU worker composites on the CPU
# (device.configure_compositor).
_HINTS = [
    (re.compile(r"Render size too large for GPU", re.I),
     "set Render Properties > Performance > Compositor > Device to CPU, save and submit "
     "again, or leave it to workers with a larger GPU"),
]


def with_fix(message: str) -> str:
    """``message`` with ``: <what to change>`` appended when it holds one of Blender's
    errors whose fix is known (:data:`_FIXES`, :data:`_HINTS`); unchanged otherwise."""
    for pattern, fix in _FIXES + _HINTS:
        if pattern.search(message):
            return f"{message.rstrip()}: {fix}"
    return message


def classify_blender_error(message: str) -> str:
    """The code for an error Blender raised while rendering (``render_error`` if none of
    the known messages matches)."""
    for pattern, code in _BLENDER_MESSAGES:
        if pattern.search(message):
            return code
    return "render_error"
