"""Job priorities (docs/protocol.md "Priorities"): a creator's 0-10 orders only their own jobs,
an operator-raised job (above 10) goes ahead of fair share but not past the per-creator cap,
and the bounds, owners and ended jobs are refused with the protocol's codes. Real coordinator
(uvicorn, SQLite file), creators and workers with real Ed25519 keys."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from coord_helpers import ASSET_CID, Worker, error_code
from coordinator.db import Database


@pytest.fixture
def farm(coordinator_factory):
    return coordinator_factory("--creator-task-cap", "2")


def _job(creator: Worker | None, url: str, frames, priority: int | None = None) -> dict:
    body = {"asset_cid": ASSET_CID, "frames": list(frames), "chunk_size": 1}
    if priority is not None:
        body["priority"] = priority
    resp = (creator.post("/api/v1/jobs", body) if creator is not None
            else httpx.post(url + "/api/v1/jobs", json=body, timeout=30))   # the operator
    assert resp.status_code == 201, resp.text
    return resp.json()


def _task_ids(url: str, job: dict) -> list[int]:
    tasks = httpx.get(f"{url}/api/v1/jobs/{job['id']}/tasks", timeout=30).json()["tasks"]
    return [t["id"] for t in tasks]


def _set(url: str, job_id: int, priority, who: Worker | None = None) -> httpx.Response:
    if who is not None:
        return who.post(f"/api/v1/jobs/{job_id}/priority", {"priority": priority})
    return httpx.post(f"{url}/api/v1/jobs/{job_id}/priority", json={"priority": priority},
                      timeout=30)


def test_a_creators_priority_orders_only_their_own_jobs(farm, make_worker):
    alice, bob, worker = (make_worker(farm.url) for _ in range(3))
    low = _job(alice, farm.url, [1, 2, 3])
    high = _job(alice, farm.url, [1, 2, 3], priority=7)
    other = _job(bob, farm.url, [1, 2, 3])
    assert (low["priority"], high["priority"], other["priority"]) == (0, 7, 0)

    offers = worker.get("/api/v1/jobs/available", limit=100).json()["jobs"]
    assert len(offers) == 9
    alices = set(_task_ids(farm.url, low) + _task_ids(farm.url, high))
    mine = [o["id"] for o in offers if o["id"] in alices]
    # Alice's priority-7 job's tasks come before her priority-0 job's ...
    assert sorted(mine[:3]) == _task_ids(farm.url, high)
    assert sorted(mine[3:]) == _task_ids(farm.url, low)
    assert {o["id"]: o["priority"] for o in offers if o["id"] in mine[:3]} == \
        dict.fromkeys(_task_ids(farm.url, high), 7)
    # ... but fair share between alice and bob is unchanged: the offers alternate.
    assert [o["id"] in alices for o in offers[:6]].count(True) == 3
    assert (offers[0]["id"] in alices) != (offers[1]["id"] in alices)
    assert {o["id"] for o in offers} - alices == set(_task_ids(farm.url, other))


def test_an_operator_raised_job_goes_ahead_but_not_past_the_cap(farm, make_worker):
    alice, bob = make_worker(farm.url), make_worker(farm.url)
    workers = [make_worker(farm.url) for _ in range(3)]
    plain = _job(alice, farm.url, [1, 2, 3, 4])
    urgent = _job(bob, farm.url, [1, 2, 3, 4], priority=3)

    resp = _set(farm.url, urgent["id"], 50)             # the operator (--dev: no header)
    assert resp.status_code == 200, resp.text
    assert resp.json()["job"]["priority"] == 50
    events = httpx.get(f"{farm.url}/api/v1/jobs/{urgent['id']}/events", timeout=30).json()
    assert [(e["type"], e["detail"], e["task_id"]) for e in events["events"]][-1] == \
        ("priority", "priority 3 -> 50 by operator", None)

    urgent_tasks = set(_task_ids(farm.url, urgent))
    for worker in workers[:2]:
        # Bob already runs more tasks than alice after the first claim: fair share alone
        # would offer alice's task first; the raised priority keeps bob's first.
        first = worker.get("/api/v1/jobs/available").json()["jobs"][0]
        assert first["id"] in urgent_tasks and first["priority"] == 50, first
        assert worker.assign(first["id"]).status_code == 200
    # Bob is at the cap (2): the raised job waits, alice is served.
    first = workers[2].get("/api/v1/jobs/available").json()["jobs"][0]
    assert first["id"] in _task_ids(farm.url, plain) and first["priority"] == 0, first


def test_priority_bounds_owners_and_ended_jobs(farm, make_worker):
    alice, bob = make_worker(farm.url), make_worker(farm.url)
    resp = alice.post("/api/v1/jobs", {"asset_cid": ASSET_CID, "frames": [1], "priority": 11})
    assert resp.status_code == 403 and error_code(resp) == "priority_not_allowed", resp.text
    assert "0-10" in resp.json()["error"]["message"]
    for bad in (101, -1, "5", 2.5):
        resp = httpx.post(farm.url + "/api/v1/jobs", timeout=30,
                          json={"asset_cid": ASSET_CID, "frames": [1], "priority": bad})
        assert resp.status_code == 422 and error_code(resp) == "validation_error", bad
        assert resp.json()["error"]["details"][0]["field"] == "priority"
    job = _job(alice, farm.url, [1, 2])
    assert _job(None, farm.url, [1], priority=100)["priority"] == 100

    resp = _set(farm.url, job["id"], 10, alice)
    assert resp.status_code == 200 and resp.json()["job"]["priority"] == 10
    before = len(httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/events").json()["events"])
    assert _set(farm.url, job["id"], 10, alice).status_code == 200      # same value: no event
    assert len(httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/events").json()["events"]) == \
        before
    resp = _set(farm.url, job["id"], 11, alice)
    assert resp.status_code == 403 and error_code(resp) == "priority_not_allowed"
    resp = _set(farm.url, job["id"], 5, bob)
    assert resp.status_code == 403 and error_code(resp) == "not_owner"
    resp = httpx.post(f"{farm.url}/api/v1/jobs/{job['id']}/priority", timeout=30,
                      json={"priority": 5}, headers={"Authorization": "Bearer nonsense"})
    assert resp.status_code == 401
    assert error_code(_set(farm.url, 999999, 5)) == "job_not_found"
    second_task = _task_ids(farm.url, job)[1]
    resp = _set(farm.url, second_task, 5)
    assert resp.status_code == 404 and f"job {job['id']}" in resp.json()["error"]["message"]
    resp = _set(farm.url, job["id"], 101)
    assert resp.status_code == 422 and error_code(resp) == "validation_error"

    assert alice.post(f"/api/v1/jobs/{job['id']}/cancel", {}).status_code == 200
    resp = _set(farm.url, job["id"], 20)
    assert resp.status_code == 409 and error_code(resp) == "job_ended"
    assert resp.json()["error"]["status"] == "cancelled"
    assert httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}").json()["priority"] == 10


def test_a_database_from_before_priorities_opens_with_priority_0(tmp_path):
    path = tmp_path / "old.sqlite"
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE jobs DROP COLUMN priority")    # a schema-2 file of last week
    conn.execute("INSERT INTO jobs (id, asset_cid, reward, frames, output_format, "
                 "max_attempts, status, created_at, updated_at) "
                 "VALUES (1, 'Qm', '0', '[]', 'PNG', 3, 'pending', 0, 0)")
    conn.commit()
    conn.close()
    db = Database(path)
    with db.reader() as c:
        assert c.execute("SELECT priority FROM jobs WHERE id=1").fetchone()[0] == 0
    db.close()
