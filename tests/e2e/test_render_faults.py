"""The failure kinds Blender's render and the worker's own parts produce, through the real
headless worker against kubo and the coordinator (issue 15: a scene, or a real fault of a
real part, for each failure kind). The scenes are made in the cell under test by
tests/addon/make_fault_files.py:

- ``scene_error`` (failed, not retryable: no worker would render these): ``tiny.blend``,
  32 x 24 px at 1 %: Blender refuses to render it ("Image too small"; it was
  ``render_error``, retryable, tried three times); the message names the fix (raise the
  resolution); ``stereo_views.blend``, Stereoscopy with Individual views: Blender would
  write ``frame_0001_L.png``/``frame_0001_R.png`` (file names built with each view's
  suffix), never the frame asked for (it was ``no_output``, retryable); refused before the
  render, the message naming the fix (Views Format: Stereo 3D);
- ``out_of_memory`` (failed, retryable: a worker with more memory may render it):
  ``huge.blend``, 30000 x 30000 px, under the node launcher with ``--memory-max 1G`` (the
  worker's real memory ceiling, RLIMIT_DATA, tests/security/sandboxed_worker.py): its render
  result alone needs 13.4 GiB; the worker fails it before Blender's allocation would crash
  Blender (addon/farmhand/render.py ``check_memory``), naming the resolution to lower.
  Without the check (seen 2026-12-03: Debian's 3.4 rendering it under a 700 MB RLIMIT_DATA)
  Cycles prints "Malloc returns null: len=150994944 in Cycles Alloc" and Blender aborts on
  ``std::bad_alloc`` (exit 134): the job would end ``crashed``;
- ``upload_failed`` (failed, retryable, the result kept on the worker's disk): the sample
  scene, rendered by a worker whose own kubo (``--ipfs-rpc``, a second real kubo daemon)
  was stopped after the worker came online; it downloads the job through the farm's gateway
  (``--gateways``), renders it, tries every upload round (native/src/engine/service_loop.cpp)
  and fails the job naming the IPFS API that refused.

Each job must end ``failed`` after one attempt (a retryable kind is submitted with
``max_attempts`` 1: the test has one worker), its event ``[not ]retryable, <code>: ``,
its stored ``error`` starting ``failed: `` without trailing whitespace. The workers run with
HOME and USER of their own: no text the coordinator stored holds them or the work dir.

Not made here (no real part produces them on this machine):

- ``render_error``: no scene produces it. Checked 2026-12-03 against Blender's sources
  (source/blender/render/intern/pipeline.cc: RE_InitState's "Image too small",
  RE_is_rendering_allowed's "No border area selected", "Border rendering is not supported
  by sequencer", "No node tree in scene", "No render output node in scene" / 5.x's "No
  Group Output or File Output nodes in scene", "All render layers are disabled",
  check_valid_camera's "No camera found in scene", "Camera ... is not a multi-view camera",
  "No active view found in scene", check_valid_compositing_camera's "Cannot render, no
  camera"; editors/render/render_intern screen_render.cc's "Cannot write a single file with
  an animation format selected"; blenkernel image_save.cc's "Render error (...) cannot
  save"): each is a scene setting (``scene_error``/``no_camera``, with its fix; a Render
  Region of no area reports "Image too small" in 3.4 and 5.0: ``region.blend`` above), is
  refused before rendering (sequencer strips: the audit), cannot happen with the formats
  the worker forces, or is the disk's (``no_output``: tests/e2e/test_worker_faults.py);
  multi-view cameras and views all off render (tried in 3.4 and 5.0). The one error left
  that depends on the worker, "Render size too large for GPU, use CPU compositor instead"
  (4.2+, the compositor on the GPU), cannot be made here: bpy 4.2 to 5.2 without a GPU
  segfaulted on such a scene instead (17000 x 16 px), and a CPU worker now composites it on
  the CPU (tests/addon/test_job_rendering.py). Its
  classification (``render_error``, retryable, the fix appended) and that of the catch-all
  are tests/addon/test_failure_kinds.py's;
- ``gpu_error`` needs a GPU (this machine has none): the classification of Cycles' real
  CUDA/OptiX/HIP texts, each with its source file, is tests/addon/test_failure_kinds.py's;
- ``unsupported_format`` from a Blender built without one of the protocol's three formats
  (every cell here writes PNG, JPEG and OpenEXR; a format outside the three reaching the
  add-on fails ``unsupported_format`` in every cell: tests/addon/test_job_rendering.py).
  The reference coordinator refuses any other format at submission (422), so a job asking
  for one comes from a coordinator of another implementation: made here with a STUB,
  tests/engine/held_reply_proxy.py rewriting one job's ``output_format`` to ``TIFF`` in
  the real coordinator's replies (everything else is the real coordinator's). The real
  worker claims it, fails it ``unsupported_format``, not retryable, naming the three
  formats, without downloading it, and takes the next job (before, the whole offer list
  was a malformed reply: no job was taken at all).

Cells: the scene faults in every cell (what Blender does with the scene is each Blender's
own: 4-6 s a cell at load 2.6-4.7); the upload fault in Debian's 3.4 and bpy 5.0 (11 s each:
the upload is the engine's, the same C++ in every cell); the format in every cell (3-4 s a
cell at load 1.1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import demo_farm
from blender_runner import REPO, core_path, run_bpy_script
from e2e_helpers import stop_worker
from localfarm.kubo import Kubo
from matrix import cell_params
from test_public_scenes import _stored_texts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from held_reply_proxy import HeldReplyProxy  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from sandboxed_worker import sandboxed_worker, stop  # noqa: E402

pytestmark = pytest.mark.e2e

CELLS = cell_params(names=("blender34", "bpy50"))
ALL_CELLS = cell_params()
MAKE_FAULT_FILES = REPO / "tests" / "addon" / "make_fault_files.py"
USER = "fhfaults5w"  # the workers' user name (and their home dirs' names)

# (file, code, retryable, max_attempts, phrases the stored error must hold): a retryable
# kind gets one attempt (this test's one worker would take it again), a scene error three
# (it must end after the first: not retryable)
SCENE_FAULTS = [
    ("tiny.blend", "scene_error", False, 3,
     ("Image too small", "raise Output Properties > Format > Resolution X/Y or %")),
    ("region.blend", "scene_error", False, 3,
     ("Image too small", "widen (or turn off) Output Properties > Format > Render Region")),
    ("stereo_views.blend", "scene_error", False, 3,
     ("Stereoscopy is on with Individual views (one file per view)",
      "Views Format to Stereo 3D, or turn Stereoscopy off")),
    ("huge.blend", "out_of_memory", True, 1,
     ("renders 30000 x 30000 px: its render result alone needs 13.4 GiB",
      "over this worker's memory ceiling of", "lower the resolution")),
]


def make_fault_files(kind: str, tmp_path: Path) -> Path:
    """The job files of tests/addon/make_fault_files.py, saved by cell ``kind`` into
    ``tmp_path/fault-files`` (returned); asserts the script finished."""
    files = tmp_path / "fault-files"
    made = run_bpy_script(kind, MAKE_FAULT_FILES, [str(files)], tmp_path)
    assert "DONE fault-files" in made.stdout, made.stdout[-3000:] + made.stderr[-3000:]
    return files


def _failed_once(coord, job_id, worker, code: str, retryable: bool = True) -> dict:
    """Wait for job ``job_id`` to end; assert one attempt, ``code``, ``retryable``,
    "failed: "."""
    done = demo_farm.wait_for_job(coord, job_id, worker=worker, timeout=300)
    events = [e["detail"] for e in demo_farm.job_events(coord, job_id) if e["type"] == "failed"]
    assert (done["status"], done["error_code"], done["attempts"]) == ("failed", code, 1), done
    retry = "retryable" if retryable else "not retryable"
    assert events and events[0].startswith(f"{retry}, {code}: "), events
    assert done["error"].startswith("failed: ") and done["error"] == done["error"].rstrip()
    return done


def _no_leaks(coord, secrets: set[str]) -> None:
    leaks = [(t, c, s, text[:300]) for t, c, text in _stored_texts(coord.db_path)
             for s in secrets if s in text]
    assert not leaks, leaks


@pytest.mark.timeout(900)
@pytest.mark.parametrize("kind", ALL_CELLS)
def test_scene_faults_fail_retryable_naming_the_fix(kind, kubo, coordinator_factory,
                                                    tmp_path):
    started = time.monotonic()
    files = make_fault_files(kind, tmp_path)
    coord = coordinator_factory()
    jobs = {name: demo_farm.submit_job(coord, kubo, files / name, frames=[1],
                                       max_attempts=attempts)["id"]
            for name, _, _, attempts, _ in SCENE_FAULTS}
    home = tmp_path / USER
    node = sandboxed_worker(kind, home, coord, kubo, memory_max="1G")
    node.env.update(HOME=str(home), USER=USER, LOGNAME=USER)
    log = open(home / "worker.log", "ab")

    worker = subprocess.Popen(node.launcher, env=node.env, cwd=home, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        for name, code, retryable, _, phrases in SCENE_FAULTS:
            error = _failed_once(coord, jobs[name], worker, code, retryable)["error"]
            print(f"\n{kind} {name}: {error}")
            for phrase in phrases:
                assert phrase in error, (name, error)
    finally:
        stop(worker)
    _no_leaks(coord, {str(home), os.path.realpath(home), str(tmp_path),
                      os.path.realpath(tmp_path), USER})
    print(f"\n{kind}: {len(SCENE_FAULTS)} scene faults in {time.monotonic() - started:.0f} s; "
          f"load {os.getloadavg()[0]:.2f}")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", CELLS)
def test_a_result_the_workers_kubo_cannot_take_fails_upload_failed_and_is_kept(
        kind, kubo, coordinator_factory, job_files, tmp_path):
    started = time.monotonic()
    coord = coordinator_factory()
    home = tmp_path / USER
    own = Kubo.start()  # the worker's own IPFS daemon
    try:
        worker = demo_farm.start_worker(
            coord, kubo, home, kind, core_path=core_path(kind),
            env={"HOME": str(home), "USER": USER, "LOGNAME": USER},
            extra_args=("--ipfs-rpc", own.api_url, "--gateways", kubo.gateway_url))
        worker.home = home
        deadline = time.monotonic() + 120
        # the worker's start line names its IPFS RPC: it is up, kubo may go
        while f"IPFS {own.api_url}" not in (home / "worker.log").read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, \
                (home / "worker.log").read_text(errors="replace")[-3000:]
            time.sleep(0.2)
    finally:
        own.stop()  # a real daemon, really stopped: connection refused from now on
    try:
        job = demo_farm.submit_job(coord, kubo, job_files["files"] / "plain.blend",
                                   frames=[1], max_attempts=1)["id"]
        error = _failed_once(coord, job, worker, "upload_failed")["error"]
    finally:
        stop_worker(worker, timeout=60)
    print(f"\n{kind} upload: {error}")
    assert error.startswith("failed: upload failed on every IPFS API 3 times: "), error
    assert own.api_url.split("//")[1] in error, error  # names the API that refused
    # the rendered frame stays on the worker's disk (the job dir is kept, marked failed)
    kept = list((home / "work").glob(f"job-{job}/output/frame_0001.png"))
    assert kept and kept[0].stat().st_size > 0, list((home / "work").rglob("*"))
    _no_leaks(coord, {str(home), os.path.realpath(home), str(tmp_path),
                      os.path.realpath(tmp_path), USER})
    print(f"\n{kind}: upload_failed in {time.monotonic() - started:.0f} s; "
          f"load {os.getloadavg()[0]:.2f}")


def _with_format(job_id: int, output_format: str):
    """A ``HeldReplyProxy.rewrite``: job ``job_id``'s ``output_format`` in every JSON reply
    (the offer list, the claim) becomes ``output_format``."""
    def change(value):
        if isinstance(value, list):
            return [change(v) for v in value]
        if isinstance(value, dict):
            out = {k: change(v) for k, v in value.items()}
            if out.get("id") == job_id and "output_format" in out:
                out["output_format"] = output_format
            return out
        return value

    def rewrite(path: str, body: bytes) -> bytes:
        if not path.startswith("/api/v1/jobs"):
            return body
        try:
            return json.dumps(change(json.loads(body))).encode()
        except ValueError:
            return body
    return rewrite


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", ALL_CELLS)
def test_a_format_no_farmhand_worker_writes_fails_unsupported_format_not_retryable(
        kind, kubo, coordinator_factory, job_files, tmp_path):
    started = time.monotonic()
    coord = coordinator_factory()
    tiff = demo_farm.submit_job(coord, kubo, job_files["files"] / "plain.blend", frames=[1],
                                max_attempts=3)["id"]
    png = demo_farm.submit_job(coord, kubo, job_files["files"] / "plain.blend", frames=[1],
                               max_attempts=1)["id"]
    other = HeldReplyProxy(coord.url)  # STUB: a coordinator of another implementation
    other.rewrite = _with_format(tiff, "TIFF")
    home = tmp_path / USER
    try:
        worker = demo_farm.start_worker(
            SimpleNamespace(url=other.url), kubo, home, kind, core_path=core_path(kind),
            env={"HOME": str(home), "USER": USER, "LOGNAME": USER})
        try:
            done = demo_farm.wait_for_job(coord, tiff, worker=worker, timeout=300)
            after = demo_farm.wait_for_job(coord, png, worker=worker, timeout=300)
        finally:
            stop_worker(worker, timeout=60)
    finally:
        other.close()
    assert (done["status"], done["error_code"], done["attempts"]) == \
        ("failed", "unsupported_format", 1), done
    assert done["error"] == ("failed: this job asks for output format 'TIFF'; Farmhand workers "
                             "write PNG, JPEG or OPEN_EXR: submit it again with one of those")
    events = [e["detail"] for e in demo_farm.job_events(coord, tiff) if e["type"] == "failed"]
    assert events and events[0].startswith("not retryable, unsupported_format: "), events
    log = (home / "worker.log").read_text(errors="replace")
    assert f"job {tiff}: downloaded" not in log, log[-3000:]  # failed before any download
    assert after["status"] == "completed", after  # and the worker went on
    _no_leaks(coord, {str(home), os.path.realpath(home), str(tmp_path),
                      os.path.realpath(tmp_path), USER})
    print(f"\n{kind}: unsupported_format in {time.monotonic() - started:.0f} s; "
          f"load {os.getloadavg()[0]:.2f}")
