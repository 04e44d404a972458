"""The failure kinds (addon/farmhand/failures.py) against docs/protocol.md "Failure codes",
the classification of Blender's messages, the report text rules, and the scrubbing of the
worker's paths (addon/farmhand/scrub.py). Pure Python: these modules do not import bpy."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"farmhand_{name}",
                                                  REPO / "addon" / "farmhand" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


failures = _load("failures")
scrub = _load("scrub")


def _protocol_table():
    text = (REPO / "docs" / "protocol.md").read_text()
    section = text.split("## Failure codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (yes|no) \| (refused|failed) \|", section, re.M)
    return {code: (retry == "yes", word) for code, retry, word in rows}


def test_kinds_are_exactly_the_protocols_failure_codes():
    documented = _protocol_table()
    assert len(documented) >= 15
    assert {k: (v.retryable, v.word) for k, v in failures.KINDS.items()} == documented


# Each message as Blender writes it (sources beside failures._BLENDER_MESSAGES). No GPU here:
# these are the only check of gpu_error and of Cycles' GPU out-of-memory texts; the CPU side of
# out_of_memory runs for real in tests/e2e/test_render_faults.py.
@pytest.mark.parametrize("message,code", [
    ("Error: Cannot render, no camera\n", "no_camera"),
    # intern/cycles/device/device.cpp, GPUDevice::generic_alloc
    ("System is out of GPU memory", "out_of_memory"),
    ("System is out of GPU and shared host memory", "out_of_memory"),
    # intern/cycles/device/cuda/util.h cuda_device_assert, cuewErrorString's "Out of memory"
    ("Out of memory in cuMemAlloc(&device_pointer, size) "
     "(intern/cycles/device/cuda/device_impl.cpp:583)", "out_of_memory"),
    # intern/cycles/device/cuda/queue.cpp
    ("Out of memory in CUDA queue enqueue (integrator_shade_surface)", "out_of_memory"),
    ("Illegal address in cuCtxSynchronize() (intern/cycles/device/cuda/queue.cpp:147)",
     "gpu_error"),
    ("Launch failed in cuCtxSynchronize() (intern/cycles/device/cuda/queue.cpp:147)",
     "gpu_error"),
    ("Launch exceeded timeout in CUDA queue enqueue (integrator_intersect_closest)",
     "gpu_error"),
    # intern/cycles/device/hip/util.h hip_device_assert
    ("Invalid value in hipMemcpyHtoD((hipDeviceptr_t)mem.device_pointer, mem.host_pointer, "
     "size) (intern/cycles/device/hip/device_impl.cpp:655)", "gpu_error"),
    # intern/cycles/device/optix/device_impl.cpp check_result_optix / check_result_cuda
    ("OptiX error OPTIX_ERROR_LAUNCH_FAILURE in optixLaunch(pipeline, stream, "
     "launch_params_ptr, sizeof(KernelParamsOptiX), &sbt_params, work_size, 1, 1), line 912",
     "gpu_error"),
    ("OptiX CUDA error CUDA_ERROR_ILLEGAL_ADDRESS in cuMemcpyHtoD(...), line 301",
     "gpu_error"),
    # before 3.0: intern/cycles/device/device_cuda.cpp
    ("CUDA error: Launch failed in cuCtxSynchronize()", "gpu_error"),
    ("CUDA error at cuCtxCreate: Invalid device", "gpu_error"),
    # source/blender/render/intern/pipeline.cc (RE_InitState, RE_is_rendering_allowed): the
    # scene's settings; no worker would render it
    ("Image too small", "scene_error"),
    ("No render output node in scene", "scene_error"),
    ("No border area selected", "scene_error"),
    ("No Group Output or File Output nodes in scene", "scene_error"),  # 5.x's compositor
    ("All render layers are disabled", "scene_error"),
    ("Failed to create render result", "render_error"),
    # pipeline.cc is_compositing_possible_on_gpu: this worker's GPU; another may composite it
    ("Render size too large for GPU, use CPU compositor instead", "render_error"),
    # source/blender/blenkernel/intern/image_save.cc image_render_print_save_message: the
    # frame's write failed (tests/e2e/test_worker_faults.py, Debian's 3.4 on a full disk)
    ("Render error (No space left on device) cannot save: '<job>/output/frame_0001.png'",
     "no_output"),
    ("Error: Render error (Read-only file system) cannot save: '/w/frame_0001.exr'\n",
     "no_output"),
])
def test_blenders_messages_are_classified(message, code):
    assert failures.classify_blender_error(message) == code


def test_report_text_has_one_word_and_no_trailing_whitespace():
    kind = failures.KINDS["no_camera"]
    assert failures.report_text(kind, "scene 'S' has no camera  \n\n") == \
        "failed: scene 'S' has no camera"
    refused = failures.KINDS["missing_files"]
    assert failures.report_text(refused, "refused: 1 external file  \nline 2 \n") == \
        "refused: 1 external file\nline 2"


def test_unknown_code_is_refused_at_construction():
    with pytest.raises(ValueError, match="unknown failure code 'nope'"):
        failures.JobFailure("x", code="nope")
    assert failures.JobFailure("x", code="no_camera").kind.retryable is False
    assert failures.JobRefused("x").kind.word == "refused"


def test_scrubber_replaces_job_work_home_and_user(tmp_path, monkeypatch):
    home = tmp_path / "home" / "alicecooper"
    job = home / ".cache" / "farmhand" / "job-10"
    job.mkdir(parents=True)
    monkeypatch.setenv("USER", "alicecooper")
    clean = scrub.Scrubber(str(job), home=str(home))
    text = (f"Image file {job}/../pbr_node/glTF2.blend does not exist\n"
            f"work {job.parent}/journal.json; config {home}/.config/blender\n"
            "owner alicecooper, alicecoopers-laptop kept, mail alicecooper@x")
    out = clean(text)
    assert out == ("Image file <job>/../pbr_node/glTF2.blend does not exist\n"
                   "work <work>/journal.json; config <home>/.config/blender\n"
                   "owner <user>, alicecoopers-laptop kept, mail <user>@x")
    assert str(home) not in out and "alicecooper," not in out


def test_scrubber_leaves_the_creators_paths_alone(tmp_path):
    clean = scrub.Scrubber(str(tmp_path / "w" / "job-1"), home=str(tmp_path / "h"))
    assert clean("//textures/wood.png and C:\\Users\\creator\\x.png") == \
        "//textures/wood.png and C:\\Users\\creator\\x.png"


def test_known_scene_errors_get_their_fix_and_others_stay_as_they_are():
    assert failures.with_fix("frame 1 of scene 'S': Image too small") == (
        "frame 1 of scene 'S': Image too small: the frame is under one pixel wide or high: "
        "raise Output Properties > Format > Resolution X/Y or %, or widen (or turn off) "
        "Output Properties > Format > Render Region, save and submit again")
    assert "turn off Output Properties > Post Processing > Compositing" in \
        failures.with_fix("No render output node in scene")
    assert failures.with_fix("Render size too large for GPU, use CPU compositor instead") \
        .endswith(": set Render Properties > Performance > Compositor > Device to CPU, save "
                  "and submit again, or leave it to workers with a larger GPU")
    assert failures.with_fix("Launch failed in cuCtxSynchronize()") == \
        "Launch failed in cuCtxSynchronize()"
