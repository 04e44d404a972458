"""Spot verification (docs/protocol.md "Spot verification") at 100 %: a worker that uploads a
different valid image is outvoted by two honest ones, flagged, blocked after two flags, and the
job completes with the honest frames (real kubo, real PNGs, scripted workers)."""

from __future__ import annotations

import time

import httpx
import pytest

from farm_helpers import ScriptedWorker, write_frames
from test_farm_directory import run_until_done, submit


@pytest.fixture
def verifying_farm(coordinator_factory, kubo):
    return coordinator_factory("--ipfs-api", kubo.api_url, "--verify-share", "1",
                               trusted=False)


def test_cheater_with_a_valid_image_is_caught_flagged_blocked_and_outvoted(
        verifying_farm, kubo, tmp_path):
    farm = verifying_farm
    job = submit(farm, kubo, tmp_path, list(range(1, 9)), 1)
    honest = [ScriptedWorker(farm.url, kubo).login() for _ in range(2)]
    cheat = ScriptedWorker(farm.url, kubo, variant="other").login()
    job = run_until_done(farm, [cheat, *honest], job["id"])
    assert job["status"] == "completed", job
    assert job["result_cid"] == kubo.add(write_frames(tmp_path / "truth", list(range(1, 9))))

    records = {w["address"]: w for w in httpx.get(farm.url + "/api/v1/workers",
                                                  timeout=30).json()["workers"]}
    assert records[cheat.address]["flags"] == 2, records[cheat.address]
    assert records[cheat.address]["blocked"] is True and cheat.blocked
    assert records[cheat.address]["disputed"] == 2
    for worker in honest:
        assert records[worker.address]["flags"] == 0 and not records[worker.address]["blocked"]
    assert sum(records[w.address]["verified"] for w in honest) >= 8 - 2
    events = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/events", timeout=30).json()["events"]
    flagged = [e for e in events if e["type"] == "flagged"]
    assert [e["worker_address"] for e in flagged] == [cheat.address] * 2
    assert "flag 2 of 2" in flagged[-1]["detail"]
    tasks = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/tasks", timeout=30).json()["tasks"]
    primary = [t for t in tasks if t["kind"] == "task"]
    assert all(t["verdict"] in ("verified", "won", "lost") for t in primary), primary
    # a blocked worker is refused at assign too
    pending = [t for t in tasks if t["status"] == "pending"]
    assert not pending
    refused = cheat.assign(primary[0]["id"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "worker_blocked")


def test_agreeing_renders_verify_the_original(verifying_farm, kubo, tmp_path):
    farm = verifying_farm
    job = submit(farm, kubo, tmp_path, [1, 2], 2)
    first, second = (ScriptedWorker(farm.url, kubo).login() for _ in range(2))
    job = run_until_done(farm, [first, second], job["id"])
    assert job["status"] == "completed"
    tasks = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/tasks", timeout=30).json()["tasks"]
    assert [(t["kind"], t["verdict"]) for t in tasks] == [("task", "verified"),
                                                          ("verify", "verified")]
    assert tasks[0]["worker_address"] != tasks[1]["worker_address"]
    events = [e["type"] for e in httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/events",
                                           timeout=30).json()["events"]]
    assert events.count("verified") == 1 and "disputed" not in events


def test_same_pixels_with_other_metadata_verify_on_the_same_blender_and_device(
        verifying_farm, kubo, tmp_path):
    farm = verifying_farm
    job = submit(farm, kubo, tmp_path, [4], 0)
    honest = ScriptedWorker(farm.url, kubo).login()
    stamped = ScriptedWorker(farm.url, kubo, variant="restamped").login()
    job = run_until_done(farm, [honest, stamped], job["id"])
    tasks = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/tasks", timeout=30).json()["tasks"]
    assert tasks[0]["result_cid"] != tasks[1]["result_cid"]
    assert [t["verdict"] for t in tasks] == ["verified", "verified"]
    assert (tasks[0]["worker_blender"], tasks[0]["worker_device"]) == ("3.4.1", "CPU")


def _verify_pair(farm, kubo, tmp_path, rendered_on: str | None) -> list[dict]:
    """One frame rendered by an honest CPU worker and re-rendered by a worker that polled as
    CPU too, whose pixels differ slightly ("noisy", PSNR 58.9 dB), and which names
    ``rendered_on`` in /complete; the job's tasks once the verification is decided."""
    job = submit(farm, kubo, tmp_path, [3], 0)
    honest = ScriptedWorker(farm.url, kubo).login()
    other = ScriptedWorker(farm.url, kubo, variant="noisy", rendered_on=rendered_on).login()
    assert honest.step().status_code == 200
    assert other.step().status_code == 200
    for _ in range(60):
        tasks = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/tasks",
                          timeout=30).json()["tasks"]
        if tasks[1]["verdict"] is not None:
            return tasks
        time.sleep(0.5)
    raise AssertionError(f"verification not decided: {tasks}")


def test_the_device_named_at_complete_decides_how_renders_are_compared(
        verifying_farm, kubo, tmp_path):
    """docs/protocol.md "Spot verification": same Blender and device class must give the
    same pixels; across device classes PSNR >= 40 dB is enough. The class is the one the
    worker reports in /complete (what it really rendered with), else the one it polled with."""
    farm = verifying_farm
    same = _verify_pair(farm, kubo, tmp_path, None)
    assert [(t["kind"], t["worker_device"], t["verdict"]) for t in same] == \
        [("task", "CPU", "disputed"), ("verify", "CPU", "disputed"),
         ("verify", None, None)]                      # the third render that would decide
    # Its third render stays pending: cancel the job so the next workers are not offered it.
    resp = httpx.post(f"{farm.url}/api/v1/jobs/{same[0]['job_id']}/cancel", json={},
                      timeout=30)
    assert resp.status_code == 200, resp.text
    across = _verify_pair(farm, kubo, tmp_path, "optix")
    assert [(t["kind"], t["worker_device"], t["verdict"]) for t in across] == \
        [("task", "CPU", "verified"), ("verify", "OPTIX", "verified")]
    events = httpx.get(f"{farm.url}/api/v1/jobs/{across[0]['job_id']}/events",
                       timeout=30).json()["events"]
    assert any(e["type"] == "completed" and e["detail"].endswith(" on OPTIX")
               for e in events), events
    worker = ScriptedWorker(farm.url, kubo).login()
    resp = worker.post(f"/api/v1/jobs/{across[0]['id']}/complete", {
        "result_cid": across[0]["result_cid"], "sha256": "0" * 64, "render_seconds": 1.0,
        "device": "TPU"})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "device"
