"""The farm end to end with real headless workers (Debian's Blender 3.4): one 24-frame job in
chunks of 2 spread over 4 workers, its result directory assembled by the coordinator equal to
`ipfs add -r` of the frames the tasks returned, per-frame progress in the API and on the page;
a file saved by Blender 4.5 is never offered to these 3.4 workers."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest

import demo_farm
from e2e_helpers import CORE_PATH

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(demo_farm.DEBIAN_BLENDER is None,
                                                  reason="Debian's blender not installed")]


def _json(url: str):
    return httpx.get(url, timeout=30).json()


def test_four_blender_workers_render_one_animation_as_a_farm(coordinator_factory, kubo,
                                                            tmp_path):
    coord = coordinator_factory("--ipfs-api", kubo.api_url, "--gateway-url", kubo.gateway_url,
                                "--verify-share", "0", trusted=False)
    scene = demo_farm.generate_scene(tmp_path / "scene.blend", "--size", "32x24")
    newer = tmp_path / "newer.blend"
    data = bytearray(scene.read_bytes())
    data[9:12] = b"405"                      # the header of a file saved by Blender 4.5
    newer.write_bytes(bytes(data))
    workers = [demo_farm.start_worker(coord, kubo, tmp_path / f"w{i}", "debian",
                                      core_path=CORE_PATH) for i in range(4)]
    try:
        deadline = time.monotonic() + 120     # all four polling before the job appears
        while time.monotonic() < deadline:
            seen = _json(coord.url + "/api/v1/workers")["workers"]
            if len(seen) == 4 and all(w["blender_version"] == "3.4" for w in seen):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"workers did not all poll: {seen}")
        too_new = demo_farm.submit_job(coord, kubo, newer, frames=[1, 2])
        assert too_new["blender_version"] == 405
        job = demo_farm.http_json("POST", coord.url + "/api/v1/jobs", {
            "asset_cid": kubo.add(scene), "frames": list(range(1, 25)), "chunk_size": 2,
            "output_format": "PNG", "reward": "2.40"})
        assert job["tasks_total"] == 12 and job["blender_version"] == 304
        seen_progress = set()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            now = demo_farm.get_job(coord, job["id"])
            seen_progress.add(now["frames_done"])
            if now["status"] in ("completed", "failed"):
                break
            time.sleep(0.05)    # 12 tiny tasks over 4 idle workers can all end within 0.5 s
        assert now["status"] == "completed", now
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert now["frames_done"] == 24 and len(seen_progress) > 2, seen_progress
    tasks = _json(f"{coord.url}/api/v1/jobs/{job['id']}/tasks")["tasks"]
    by_worker = {t["worker_address"] for t in tasks}
    assert len(tasks) == 12 and len(by_worker) >= 3, by_worker
    assert {t["reward"] for t in tasks} == {"0.2"}
    # the frames the tasks returned, fetched and added by kubo, make the job's directory
    frames = tmp_path / "frames"
    frames.mkdir()
    for task in tasks:
        part = demo_farm.fetch_result(kubo, task["result_cid"], tmp_path / f"t{task['id']}")
        for png in part.iterdir():
            png.rename(frames / png.name)
    assert len(list(frames.iterdir())) == 24
    assert kubo.add(frames) == now["result_cid"]
    page = httpx.get(coord.url + "/", timeout=30).text
    assert "24/24 frames, 12/12 tasks" in page
    # the 4.5 file: never assigned to any of the 3.4 workers, still pending
    events = demo_farm.job_events(coord, too_new["id"])
    assert [e["type"] for e in events] == ["created"], events
    assert demo_farm.get_job(coord, too_new["id"])["status"] == "pending"


def test_honest_blender_workers_verify_each_other(coordinator_factory, kubo, tmp_path):
    """At 100 % spot verification, two Blender 3.4 CPU workers rendering the same frames agree
    (same Blender, same device: identical pixels), so nobody is disputed or flagged."""
    coord = coordinator_factory("--ipfs-api", kubo.api_url, "--verify-share", "1",
                                trusted=False)
    scene = demo_farm.generate_scene(tmp_path / "scene.blend", "--size", "32x24")
    job = demo_farm.http_json("POST", coord.url + "/api/v1/jobs", {
        "asset_cid": kubo.add(scene), "frames": [1, 2, 3, 4], "chunk_size": 2})
    workers = [demo_farm.start_worker(coord, kubo, tmp_path / f"v{i}", "debian",
                                      core_path=CORE_PATH) for i in range(2)]
    try:
        final = demo_farm.wait_for_job(coord, job["id"], timeout=400)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert final["status"] == "completed", final
    tasks = _json(f"{coord.url}/api/v1/jobs/{job['id']}/tasks")["tasks"]
    assert [(t["kind"], t["verdict"]) for t in tasks] == [
        ("task", "verified"), ("task", "verified"), ("verify", "verified"),
        ("verify", "verified")], tasks
    assert {(t["worker_blender"], t["worker_device"]) for t in tasks} == {("3.4", "CPU")}
    records = _json(coord.url + "/api/v1/workers")["workers"]
    assert all(r["flags"] == 0 and r["disputed"] == 0 for r in records), records
