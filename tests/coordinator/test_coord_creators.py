"""Jobs belong to their creator: a second creator can neither cancel the first creator's job
nor see its private details, through every read (job, list, tasks, task, events, stream,
archive); the operator and the workers that rendered it can. Real coordinator (uvicorn,
SQLite), creators with real Ed25519 keys."""

from __future__ import annotations

import json

import httpx
import pytest

from coord_helpers import ASSET_CID, RESULT_CID, RESULT_SHA, Worker

PRIVATE = ("asset_cid", "result_cid", "sha256", "result_frames", "log_tail")


@pytest.fixture
def farm(coordinator_factory):
    return coordinator_factory("--trusted")


def _job(creator: Worker, frames=(1, 2), chunk=1) -> dict:
    resp = creator.post("/api/v1/jobs", {"asset_cid": ASSET_CID, "frames": list(frames),
                                         "chunk_size": chunk, "reward": "2.00"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_a_creators_job_is_theirs_whatever_the_body_says(farm, make_worker):
    alice = make_worker(farm.url)
    resp = alice.post("/api/v1/jobs", {"asset_cid": ASSET_CID, "frames": [1],
                                       "creator": "operator"})
    assert resp.status_code == 201
    assert resp.json()["creator"] == alice.address
    jobs = alice.get("/api/v1/jobs", creator=alice.address).json()["jobs"]
    assert [j["id"] for j in jobs] == [resp.json()["id"]]


def test_second_creator_cannot_cancel_or_see_private_details(farm, make_worker):
    alice, bob = make_worker(farm.url), make_worker(farm.url)
    worker = make_worker(farm.url)
    job = _job(alice)
    # A worker renders task 1 of alice's job.
    task_id = job["id"]
    assert worker.assign(task_id).status_code == 200
    done = worker.post(f"/api/v1/jobs/{task_id}/complete", {
        "result_cid": RESULT_CID, "sha256": RESULT_SHA, "render_seconds": 1.0, "frames": [1]})
    assert done.status_code == 200, done.text

    # Bob: 403 on cancel, blanks everywhere.
    resp = bob.post(f"/api/v1/jobs/{job['id']}/cancel", {"reason": "mine now"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "not_owner"
    seen = bob.get(f"/api/v1/jobs/{job['id']}").json()
    assert seen["private"] is True and seen["status"] == "assigned"
    assert all(seen[k] is None for k in PRIVATE if k in seen)
    assert seen["frames_done"] == 1          # progress stays public
    listed = bob.get("/api/v1/jobs").json()["jobs"][0]
    assert listed["asset_cid"] is None and listed["private"] is True
    tasks = bob.get(f"/api/v1/jobs/{job['id']}/tasks").json()["tasks"]
    assert tasks and all(t["result_cid"] is None and t["asset_cid"] is None for t in tasks)
    assert bob.get(f"/api/v1/tasks/{task_id}").json()["result_cid"] is None
    events = bob.get(f"/api/v1/jobs/{job['id']}/events").json()["events"]
    assert events and all(e["detail"] == "" for e in events)
    assert RESULT_CID not in json.dumps(events)
    resp = bob.get(f"/api/v1/jobs/{job['id']}/archive")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "not_owner"
    # The stream, replayed from the start, names no CID to bob either.
    with httpx.stream("GET", farm.url + "/api/v1/events/stream", headers={
            **bob.headers, "Last-Event-ID": "0"}, timeout=10) as stream:
        text = ""
        for chunk in stream.iter_text():
            text += chunk
            if text.count("\nid: ") + text.startswith("id: ") >= len(events) or \
                    text.count("data: ") >= len(events):
                break
    assert text.count("data: ") >= len(events)
    assert RESULT_CID not in text and ASSET_CID not in text

    # Alice and the worker that rendered it see everything; the operator (dev: no header) too.
    mine = alice.get(f"/api/v1/jobs/{job['id']}").json()
    assert mine["asset_cid"] == ASSET_CID and "private" not in mine
    assert worker.get(f"/api/v1/tasks/{task_id}").json()["result_cid"] == RESULT_CID
    assert RESULT_CID in json.dumps(alice.get(f"/api/v1/jobs/{job['id']}/events").json())
    assert httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}").json()["asset_cid"] == ASSET_CID

    # Alice cancels her own job.
    resp = alice.post(f"/api/v1/jobs/{job['id']}/cancel", {"reason": "changed my mind"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["job"]["status"] == "cancelled"


def test_cancel_needs_a_sign_in_outside_dev(coordinator_factory, tmp_path):
    """--dev lets an anonymous request act as the operator; a bad token is still refused."""
    coord = coordinator_factory("--trusted")
    alice = Worker(coord.url).login()
    job = _job(alice, frames=(1,))
    resp = httpx.post(f"{coord.url}/api/v1/jobs/{job['id']}/cancel",
                      headers={"Authorization": "Bearer x.y.z"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_invalid"
    resp = httpx.post(f"{coord.url}/api/v1/jobs/999999/cancel", headers=alice.headers)
    assert resp.status_code == 404
    alice.close()
