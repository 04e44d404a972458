"""A .blend saved by the newest Blender of the matrix (bpy 5.2, a 17-byte ``BLENDER17-01v0502``
header) through the real farm in every cell: the 5.2 worker renders it (result CID checked
against kubo), every older worker refuses it before Blender opens it, saying which Blender
saved it and which one would do."""

from __future__ import annotations

import hashlib
import signal

import pytest
from PIL import Image

import blender_cells
import demo_farm
from e2e_helpers import WORKERS, worker_log

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


@pytest.mark.parametrize("blender", WORKERS)
def test_a_file_saved_by_5_2_renders_in_5_2_and_is_refused_with_the_reason_elsewhere(
        blender, newest_blend, coordinator, kubo, worker_factory, tmp_path):
    cell = blender_cells.cell(blender)
    job = demo_farm.submit_job(coordinator, kubo, newest_blend, frames=[1], max_attempts=1)
    worker = worker_factory(blender)
    try:
        done = demo_farm.wait_for_job(coordinator, job["id"], timeout=180, worker=worker)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    if cell.series >= NEWEST.series:
        assert done["status"] == "completed", worker_log(worker)
        png = demo_farm.fetch_result(kubo, done["result_cid"], tmp_path / "frame.png")
        assert kubo.only_hash(png) == done["result_cid"]
        assert done["sha256"] == hashlib.sha256(png.read_bytes()).hexdigest()
        assert Image.open(png).size == (32, 24)
    else:
        assert done["status"] == "failed", worker_log(worker)
        newest = f"{NEWEST.series[0]}.{NEWEST.series[1]}"
        mine = f"{cell.series[0]}.{cell.series[1]}"
        assert f"saved by Blender {newest} (version {NEWEST.version_number})" in done["error"]
        assert f"newer than this worker's Blender {mine}" in done["error"], done["error"]
        assert f"job {job['id']}: rendering" not in worker_log(worker)  # Blender never opened it
