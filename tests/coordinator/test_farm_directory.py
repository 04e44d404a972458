"""A job of many tasks ends as one UnixFS directory assembled from the task results without
fetching a frame, and its CID is what `ipfs add -r` of the same frames prints (real kubo,
coordinator with result checks on)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest

from farm_helpers import ScriptedWorker, blend_header_file, write_frames

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from coordinator.kubo import Kubo as KuboRpc  # noqa: E402
from coordinator.unixfs_dir import directory_node  # noqa: E402


@pytest.fixture
def farm(coordinator_factory, kubo):
    return coordinator_factory("--ipfs-api", kubo.api_url, "--verify-share", "0",
                               trusted=False)


def submit(coord, kubo, tmp_path, frames, chunk_size, **fields) -> dict:
    asset = kubo.add(blend_header_file(tmp_path / "scene.blend", 304))
    resp = httpx.post(coord.url + "/api/v1/jobs", timeout=30, json={
        "asset_cid": asset, "frames": frames, "chunk_size": chunk_size, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def run_until_done(coord, workers, job_id: int, steps: int = 200) -> dict:
    for _ in range(steps):
        for worker in workers:
            worker.step()
        job = httpx.get(f"{coord.url}/api/v1/jobs/{job_id}", timeout=30).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
    raise AssertionError(f"job {job_id} not done: {job}")


def test_24_frames_in_chunks_of_2_end_as_the_directory_ipfs_add_r_makes(farm, kubo, tmp_path):
    job = submit(farm, kubo, tmp_path, list(range(1, 25)), 2)
    assert (job["tasks_total"], job["blender_version"], job["compression"]) == (12, 304, "none")
    workers = [ScriptedWorker(farm.url, kubo) for _ in range(3)]
    for w in workers:
        w.login()
    job = run_until_done(farm, workers, job["id"])
    assert job["status"] == "completed", job
    assert (job["frames_done"], job["progress"], job["tasks_done"]) == (24, 1.0, 12)
    assert all(len(w.done) >= 1 for w in workers), [w.done for w in workers]
    assert job["resolution"] == [32, 24]

    reference = kubo.add(write_frames(tmp_path / "all", list(range(1, 25))))
    assert job["result_cid"] == reference
    listing = kubo.cli("ls", job["result_cid"]).splitlines()
    assert len(listing) == 24 and listing[0].endswith("frame_0001.png")
    events = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/events", timeout=30).json()["events"]
    assembled = [e for e in events if e["type"] == "assembled"]
    assert len(assembled) == 1 and "24 frames" in assembled[0]["detail"]

    page = httpx.get(farm.url + "/", timeout=30).text
    assert "24/24 frames, 12/12 tasks" in page
    assert page.count('<i class="completed" title="frame ') == 24
    assert all(w.address in page for w in workers)
    assert '<table id="workers">' in page

    # kubo's own way (MFS) gives the same directory
    rpc = KuboRpc(kubo.api_url)
    entries = [(n, kubo.add(tmp_path / "all" / n)) for n in sorted(
        p.name for p in (tmp_path / "all").iterdir())]
    assert asyncio.run(rpc.mfs_directory("/farm-test", entries)) == reference


def test_single_frame_tasks_assemble_file_results(farm, kubo, tmp_path):
    job = submit(farm, kubo, tmp_path, [5, 6, 7], 1)
    worker = ScriptedWorker(farm.url, kubo).login()
    job = run_until_done(farm, [worker], job["id"])
    assert job["result_cid"] == kubo.add(write_frames(tmp_path / "ref", [5, 6, 7]))


def test_directory_node_matches_kubo_for_cidv1_raw_leaves(kubo, tmp_path):
    frames = write_frames(tmp_path / "v1", [1, 2])
    children = [(p.name, kubo.add(p, "--cid-version=1"), p.stat().st_size)
                for p in sorted(frames.iterdir())]
    _, cid = directory_node(children)
    assert cid == kubo.add(frames, "--cid-version=1")


def test_directory_node_refuses_duplicate_names():
    with pytest.raises(ValueError, match="unique"):
        directory_node([("a.png", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", 1)] * 2)
