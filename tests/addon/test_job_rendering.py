"""The add-on's render side in real Blender (every cell of the Blender matrix), without
the engine: both strategies, output naming/formats, devices, and the hostile-file rules."""

from __future__ import annotations

import subprocess

import pytest
from PIL import Image, ImageChops

from blender_runner import (ADDON_PARENT, BLENDERS, REPO, blender_env, command,
                            make_job_files, render_with_harness, run_bpy_script)
from matrix import cell_params

MAKE_FAULT_FILES = REPO / "tests" / "addon" / "make_fault_files.py"


@pytest.fixture(scope="module")
def job_files(tmp_path_factory):
    return make_job_files(tmp_path_factory.mktemp("jobfiles"))


def _frames(result):
    return sorted(p.name for p in result["output_dir"].iterdir())


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("strategy", ["opened", "appended"])
def test_three_frames_render_as_numbered_pngs_of_the_scene_resolution(kind, strategy,
                                                                      job_files, tmp_path):
    artist = str(job_files["files"] / "artist.blend") if strategy == "appended" else None
    result = render_with_harness(kind, tmp_path, job_files["files"] / "plain.blend",
                                 strategy=strategy, frames=[1, 2, 3], artist=artist)
    assert "error" not in result, result.get("traceback")
    assert _frames(result) == ["frame_0001.png", "frame_0002.png", "frame_0003.png"]
    images = [Image.open(result["output_dir"] / n).convert("RGB") for n in _frames(result)]
    assert [im.size for im in images] == [(32, 24)] * 3
    # the cube turns between frame 1 and 3: the frames really are different frames
    assert ImageChops.difference(images[0], images[2]).getbbox() is not None


@pytest.mark.parametrize("kind", BLENDERS)
def test_gui_strategy_leaves_the_artists_datablocks_identical(kind, job_files, tmp_path):
    result = render_with_harness(kind, tmp_path, job_files["files"] / "driver.blend",
                                 strategy="appended", frames=[2],
                                 artist=str(job_files["files"] / "artist.blend"))
    assert "error" not in result, result.get("traceback")
    assert _frames(result) == ["frame_0002.png"]
    assert result["before"]["objects"] == result["after"]["objects"]
    assert ["ArtistKeptMesh", 1, False] in result["after"]["meshes"]
    assert result["before"] == result["after"]
    assert not list(job_files["markers"].iterdir()), "a Python driver ran (Auto Run on)"


@pytest.mark.parametrize("kind", BLENDERS)
def test_no_frames_means_the_scenes_current_frame(kind, job_files, tmp_path):
    result = render_with_harness(kind, tmp_path, job_files["files"] / "artist.blend")
    assert "error" not in result, result.get("traceback")
    assert _frames(result) == ["frame_0005.png"]
    assert Image.open(result["output_dir"] / "frame_0005.png").size == (16, 16)


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("fmt,name,magic", [
    ("JPEG", "frame_0001.jpg", b"\xff\xd8\xff"),
    ("OPEN_EXR", "frame_0001.exr", b"\x76\x2f\x31\x01"),
])
def test_output_format_sets_the_file_type(kind, fmt, name, magic, job_files, tmp_path):
    result = render_with_harness(kind, tmp_path, job_files["files"] / "plain.blend",
                                 frames=[1], format=fmt)
    assert "error" not in result, result.get("traceback")
    assert _frames(result) == [name]
    assert (result["output_dir"] / name).read_bytes()[:len(magic)] == magic


@pytest.mark.parametrize("kind", BLENDERS)
def test_a_format_outside_the_protocols_fails_unsupported_format(kind, job_files, tmp_path):
    # docs/protocol.md: PNG, JPEG or OPEN_EXR; a coordinator that passes anything else on
    # gets a failure the creator can act on, not a worker error, and nothing is rendered
    result = render_with_harness(kind, tmp_path, job_files["files"] / "plain.blend",
                                 frames=[1], format="TIFF")
    assert (result.get("code"), result.get("retryable")) == ("unsupported_format", False), \
        result.get("traceback")
    assert result["error"] == "unknown output format 'TIFF'; expected one of PNG, JPEG, " \
        "OPEN_EXR"
    assert not result["output_dir"].exists() or _frames(result) == []


@pytest.mark.parametrize("kind", BLENDERS)
def test_a_format_this_build_lacks_is_the_workers_limit_not_the_jobs(kind, job_files,
                                                                     tmp_path):
    # A Blender built without OpenEXR (harness stub "build_without": every cell has it) cannot
    # write the job's format: another worker's build can, so the failure is retryable.
    result = render_with_harness(kind, tmp_path, job_files["files"] / "plain.blend",
                                 frames=[1], format="OPEN_EXR", build_without="OPEN_EXR",
                                 report=True)
    assert (result.get("code"), result.get("retryable")) == ("worker_error", True), \
        result.get("traceback")
    assert "was built without OPEN_EXR" in result["error"]
    assert "another worker can render the job" in result["error"]
    assert "OPEN_EXR_NOT_IN_THIS_BUILD" in result["error"]  # Blender's own words, kept
    sent = result["sent"]
    assert (sent["code"], sent["retryable"]) == ("worker_error", True)
    assert sent["error"].startswith("failed: this worker's Blender ")
    assert sent["error"] == sent["error"].strip()
    assert not result["output_dir"].exists() or _frames(result) == []


@pytest.mark.parametrize("kind", BLENDERS)
def test_missing_gpu_falls_back_to_cpu_and_says_so(kind, job_files, tmp_path):
    result = render_with_harness(kind, tmp_path, job_files["files"] / "plain.blend",
                                 frames=[1], device="CUDA")
    assert "error" not in result, result.get("traceback")
    assert _frames(result) == ["frame_0001.png"]
    if not any(n.startswith("device CUDA") for n in result["notes"]):  # a machine with CUDA
        assert "no active CUDA device found: rendering on CPU" in result["notes"]


@pytest.mark.parametrize("kind", cell_params(min_series=(4, 2)))
def test_a_cpu_worker_composites_on_the_cpu_a_scene_set_to_the_gpu_compositor(kind, tmp_path):
    # bpy 5.0 without a GPU segfaulted compositing this 17000 x 16 px frame on the GPU
    # (device.configure_compositor; Blender 4.2+ has the GPU compositor)
    files = tmp_path / "fault-files"
    made = run_bpy_script(kind, MAKE_FAULT_FILES, [str(files)], tmp_path)
    assert "gpu_compositor.blend" in made.stdout, made.stdout[-2000:] + made.stderr[-2000:]
    result = render_with_harness(kind, tmp_path, files / "gpu_compositor.blend", frames=[1])
    assert result["returncode"] == 0 and "error" not in result, result.get("traceback")
    assert "compositor device GPU -> CPU: this worker renders on its CPU" in result["notes"]
    assert _frames(result) == ["frame_0001.png"]
    with Image.open(result["output_dir"] / "frame_0001.png") as frame:
        assert frame.size == (17000, 16)


@pytest.mark.blender
@pytest.mark.skipif(BLENDERS[0].marks[1].args[0], reason="Debian's blender is not installed")
def test_debian_blender_without_oidn_renders_with_denoising_off(job_files, tmp_path):
    # Debian builds Cycles without OpenImageDenoise: rendering with denoising on fails
    # ("Build without OpenImageDenoiser") unless the add-on turns it off.
    result = render_with_harness("blender34", tmp_path, job_files["files"] / "denoise.blend",
                                 frames=[1])
    assert "error" not in result, result.get("traceback")
    assert "this Blender lacks OpenImageDenoise: denoising turned off" in result["notes"]
    assert _frames(result) == ["frame_0001.png"]


@pytest.mark.blender
@pytest.mark.skipif(BLENDERS[0].marks[1].args[0], reason="Debian's blender is not installed")
def test_scene_with_denoising_off_gets_no_oidn_note(job_files, tmp_path):
    # plain.blend: scene.cycles.use_denoising off (the master switch), view layer's on:
    # Cycles would not denoise, so there is nothing to turn off and nothing to say.
    result = render_with_harness("blender34", tmp_path, job_files["files"] / "plain.blend",
                                 frames=[1])
    assert "error" not in result, result.get("traceback")
    assert not any("OpenImageDenoise" in n for n in result["notes"]), result["notes"]
    assert _frames(result) == ["frame_0001.png"]


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("strategy", ["opened", "appended"])
@pytest.mark.parametrize("name", ["autorun.blend", "driver.blend"])
def test_python_in_the_job_file_never_runs_even_with_auto_run_on(kind, strategy, name,
                                                                  job_files, tmp_path):
    artist = str(job_files["files"] / "artist.blend") if strategy == "appended" else None
    result = render_with_harness(kind, tmp_path, job_files["files"] / name,
                                 strategy=strategy, frames=[1], artist=artist, autorun=True)
    assert "error" not in result, result.get("traceback")
    assert _frames(result) == ["frame_0001.png"]
    assert not list(job_files["markers"].iterdir()), "Python from the job file ran"
    if name == "driver.blend":
        assert "removed 1 Python driver(s)" in result["log"]
    # Blender evaluated the driver (restricted) on loading the file: the bpy 4.2 module then
    # crashed at exit and 4.5 hung there until compat's exit hook (test_compat).
    assert result["returncode"] == 0, result["log"][-3000:]


@pytest.mark.parametrize("kind", BLENDERS)
def test_file_output_node_is_removed_and_writes_nothing_outside(kind, job_files, tmp_path):
    result = render_with_harness(kind, tmp_path, job_files["files"] / "fileoutput.blend",
                                 frames=[1])
    assert "error" not in result, result.get("traceback")
    assert "1 File Output node(s)" in result["log"]
    assert _frames(result) == ["frame_0001.png"]
    assert not list(job_files["outside"].iterdir())


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("strategy", ["opened", "appended"])
@pytest.mark.parametrize("name", ["abspath.blend", "escape.blend"])
def test_external_path_outside_the_job_dir_refuses_the_job_before_rendering(
        kind, strategy, name, job_files, tmp_path):
    artist = str(job_files["files"] / "artist.blend") if strategy == "appended" else None
    result = render_with_harness(kind, tmp_path, job_files["files"] / name, frames=[1],
                                 strategy=strategy, artist=artist)
    assert result.get("error_type") == "MissingFiles", result
    assert (result["code"], result["retryable"]) == ("missing_files", False)
    assert "(image 'Texture', outside the job directory)" in result["error"]
    assert "Pack Resources" in result["error"]
    assert not result["output_dir"].exists() or not list(result["output_dir"].iterdir())
    if strategy == "appended":
        assert result["before"] == result["after"]


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("strategy", ["opened", "appended"])
def test_linked_library_outside_the_job_dir_refuses_the_job(kind, strategy, job_files,
                                                             tmp_path):
    artist = str(job_files["files"] / "artist.blend") if strategy == "appended" else None
    result = render_with_harness(kind, tmp_path, job_files["files"] / "linked.blend",
                                 frames=[1], strategy=strategy, artist=artist)
    assert result.get("error_type") == "MissingFiles", result
    assert "linked library 'library_source.blend'" in result["error"]
    assert not result["output_dir"].exists() or not list(result["output_dir"].iterdir())
    if strategy == "appended":
        assert result["before"] == result["after"]


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("strategy", ["opened", "appended"])
def test_truncated_file_is_refused_with_blenders_reason(kind, strategy, job_files, tmp_path):
    whole = (job_files["files"] / "plain.blend").read_bytes()
    truncated = tmp_path / "truncated.blend"
    truncated.write_bytes(whole[:len(whole) // 2])
    artist = str(job_files["files"] / "artist.blend") if strategy == "appended" else None
    result = render_with_harness(kind, tmp_path, truncated, frames=[1], strategy=strategy,
                                 artist=artist)
    assert result.get("error_type") == "JobRefused", result
    assert (result["code"], result["retryable"]) == ("corrupt", False)
    assert f"({len(whole) // 2} bytes)" in result["error"]
    assert not result["output_dir"].exists() or not list(result["output_dir"].iterdir())


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("strategy", ["opened", "appended"])
def test_the_files_current_scene_is_rendered_not_the_first(kind, strategy, job_files,
                                                          tmp_path, farmhand_core):
    """twoscenes.blend was saved with its second scene current: the engine reads that name
    from the file (FileGlobal.curscene) and both strategies render that scene (20x10), as a
    headless Blender opening the file would, not the first in file order (32x24)."""
    blend = job_files["files"] / "twoscenes.blend"
    info = farmhand_core.blend.validate(str(blend), 1 << 30, 500)
    assert info["current_scene"] == "Second"
    artist = str(job_files["files"] / "artist.blend") if strategy == "appended" else None
    result = render_with_harness(kind, tmp_path, blend, strategy=strategy, frames=[1],
                                 artist=artist, scene=info["current_scene"])
    assert "error" not in result, result.get("traceback")
    assert _frames(result) == ["frame_0001.png"]
    assert Image.open(result["output_dir"] / "frame_0001.png").size == (20, 10)
    if strategy == "appended":
        assert "2 scenes; rendering the file's current scene 'Second', appended as " \
            "'Second'" in result["log"], result["log"][-3000:]


CEILING = """
import resource, sys
sys.path.insert(0, {addon!r})
from farmhand import render
tmp = {tmp!r}
resource.setrlimit(resource.RLIMIT_DATA, (3 << 30, resource.RLIM_INFINITY))
print("CEILING", render._cgroup_memory_max(tmp + "/cgroup", tmp + "/fs"),
      render._cgroup_memory_max(tmp + "/cgroup-max", tmp + "/fs"),
      render._cgroup_memory_max(tmp + "/absent", tmp + "/fs"), render.memory_ceiling())
"""


@pytest.mark.parametrize("kind", cell_params(names=("blender34", "bpy50")))
def test_the_memory_ceiling_is_the_lowest_rlimit_or_cgroup_limit(kind, tmp_path):
    # render.check_memory's ceiling: a cgroup v2 memory.max (systemd's MemoryMax=) in bytes,
    # "max" or no file: none; memory_ceiling() the lowest of RLIMIT_DATA/AS and the cgroup's
    service = tmp_path / "fs" / "farm.slice" / "worker.service"
    service.mkdir(parents=True)
    (service / "memory.max").write_text("2147483648\n")
    (tmp_path / "fs" / "max.service").mkdir()
    (tmp_path / "fs" / "max.service" / "memory.max").write_text("max\n")
    (tmp_path / "cgroup").write_text("1:name=systemd:/\n0::/farm.slice/worker.service\n")
    (tmp_path / "cgroup-max").write_text("0::/max.service\n")
    expr = CEILING.format(addon=str(ADDON_PARENT), tmp=str(tmp_path))
    proc = subprocess.run(command(kind, None, [], expr=expr), env=blender_env(tmp_path),
                          capture_output=True, text=True, timeout=180)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("CEILING")), "")
    values = line.split()[1:]
    assert values[:3] == ["2147483648", "None", "None"], proc.stdout[-2000:] + proc.stderr
    assert 0 < int(values[3]) <= 3 << 30, line
