"""A .blend saved by the newest Blender of the matrix (bpy 5.2, a 17-byte ``BLENDER17-01v0502``
header) through the real farm in every cell: the 5.2 worker renders it (result CID checked
against kubo); an older worker is never given it (the coordinator matches by the version it
read from the header), and that Blender's own worker core refuses the file before Blender
opens it, saying which Blender saved it and which one it runs."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time

import pytest
from PIL import Image

import blender_cells
import demo_farm
from e2e_helpers import WORKERS, core_path, worker_log

pytestmark = pytest.mark.e2e
NEWEST = blender_cells.cell("bpy52")


@pytest.fixture(scope="module")
def newest_blend(tmp_path_factory):
    if NEWEST.missing():
        pytest.skip(NEWEST.missing())
    out = tmp_path_factory.mktemp("newest") / "saved_by_5_2.blend"
    demo_farm.generate_scene(out, "--size", "32x24", blender=NEWEST.name)
    return out


def test_the_newest_blenders_file_has_the_large_header_with_its_version(newest_blend):
    header = newest_blend.read_bytes()[:17]
    assert header == b"BLENDER17-01v%04d" % NEWEST.version_number


VALIDATE = """
import sys
sys.path.insert(0, sys.argv[-2])
import farmhand_core
try:
    farmhand_core.blend.validate(sys.argv[-1], 1 << 30, {version})
    print("ACCEPTED")
except farmhand_core.FarmhandError as exc:
    print("REFUSED", type(exc).__name__, exc)
"""


@pytest.fixture
def matching_coordinator(coordinator_factory, kubo):
    """A coordinator that reads each asset's .blend header at submission and matches tasks
    to workers by Blender version (the default of a real farm; the suite's others are
    --trusted)."""
    return coordinator_factory("--gateway-url", kubo.gateway_url, "--ipfs-api", kubo.api_url,
                               trusted=False)


@pytest.mark.parametrize("blender", WORKERS)
def test_a_file_saved_by_5_2_renders_in_5_2_and_is_refused_with_the_reason_elsewhere(
        blender, newest_blend, matching_coordinator, kubo, tmp_path):
    coord = matching_coordinator
    cell = blender_cells.cell(blender)
    job = demo_farm.submit_job(coord, kubo, newest_blend, frames=[1], max_attempts=1)
    assert job["blender_version"] == NEWEST.version_number  # read from the header at submission
    worker = demo_farm.start_worker(coord, kubo, tmp_path / "worker", blender,
                                    core_path=core_path(blender))
    worker.home = tmp_path / "worker"
    try:
        if cell.series >= NEWEST.series:
            done = demo_farm.wait_for_job(coord, job["id"], timeout=180, worker=worker)
        else:
            # An older worker is never given the task: it stays pending while this worker
            # long-polls (2 s polls, 12 s) ...
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline:
                assert worker.poll() is None, worker_log(worker)
                time.sleep(0.5)
            done = demo_farm.get_job(coord, job["id"])
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    if cell.series >= NEWEST.series:
        assert done["status"] == "completed", worker_log(worker)
        png = demo_farm.fetch_result(kubo, done["result_cid"], tmp_path / "frame.png")
        assert kubo.only_hash(png) == done["result_cid"]
        assert done["sha256"] == hashlib.sha256(png.read_bytes()).hexdigest()
        assert Image.open(png).size == (32, 24)
        return
    assert (done["status"], done["attempts"]) == ("pending", 0), done
    assert f"job {job['id']}: rendering" not in worker_log(worker)
    # ... and this Blender's own worker core refuses the file before Blender opens it (what
    # protects it from a backend that does not match by version), naming both versions.
    proc = subprocess.run(
        cell.argv(expr=VALIDATE.format(version=cell.version_number),
                  args=[core_path(blender), newest_blend]),
        capture_output=True, text=True, timeout=120)
    newest = f"{NEWEST.series[0]}.{NEWEST.series[1]}"
    mine = f"{cell.series[0]}.{cell.series[1]}"
    assert (f"REFUSED BlendInvalid the file was saved by Blender {newest} "
            f"(version {NEWEST.version_number}), newer than this worker's Blender {mine}"
            ) in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
