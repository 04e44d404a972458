"""kill -9 the coordinator mid-run, restart on the same SQLite file: nothing is lost."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx

from coord_helpers import create_job, get_job


def test_kill_9_mid_run_and_restart_loses_nothing(coordinator, make_worker):
    jobs = [create_job(coordinator.url, frames=[i]) for i in range(1, 7)]
    worker = make_worker(coordinator.url)
    worker.assign(jobs[0]["id"])
    assert worker.complete(jobs[0]["id"]).status_code == 200
    worker.assign(jobs[1]["id"])
    worker.heartbeat(jobs[1]["id"], 0.4)
    worker.assign(jobs[2]["id"])
    worker.fail(jobs[2]["id"])
    before = {j["id"]: get_job(coordinator.url, j["id"]) for j in jobs}

    # Keep writing (creating jobs) from another thread while the process is killed.
    stop = threading.Event()
    acknowledged: list[int] = []

    def writer():
        while not stop.is_set():
            try:
                resp = httpx.post(coordinator.url + "/api/v1/jobs", timeout=5, json={
                    "asset_cid": jobs[0]["asset_cid"], "frames": [], "reward": "0.5"})
            except httpx.HTTPError:
                return
            if resp.status_code == 201:
                acknowledged.append(resp.json()["id"])

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.5)
    coordinator.kill()
    stop.set()
    thread.join()
    assert acknowledged, "the writer should have created jobs before the kill"

    with sqlite3.connect(coordinator.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    restarted = coordinator.restart()
    try:
        for job_id, state in before.items():
            after = get_job(restarted.url, job_id)
            assert after["status"] == state["status"]
            assert after["result_cid"] == state["result_cid"]
            assert after["attempts"] == state["attempts"]
            assert after["worker_address"] == state["worker_address"]
            # Held leases are extended at start (protocol.md "Leases"), never shortened.
            assert (after["lease_expires_at"] or "") >= (state["lease_expires_at"] or "")
        for job_id in acknowledged:     # every acknowledged write survived
            assert get_job(restarted.url, job_id)["status"] == "pending"
        # Events are consistent with jobs: every job has exactly one 'created' event.
        with sqlite3.connect(restarted.db_path) as db:
            orphans = db.execute("SELECT COUNT(*) FROM jobs WHERE id NOT IN "
                                 "(SELECT job_id FROM events WHERE type='created')").fetchone()
            assert orphans[0] == 0
        # The old token still works (the dev secret persisted) and the lease is still held.
        assert worker.heartbeat(jobs[1]["id"]).status_code == 200
        assert worker.complete(jobs[1]["id"]).status_code == 200
    finally:
        restarted.stop()


def test_a_lease_held_across_an_outage_longer_than_it_survives_the_restart(coordinator_factory,
                                                                           make_worker):
    """Down for 7 s with 5 s leases: at start the held lease is extended (protocol.md), so
    the worker's finished result is still accepted; a pending job is untouched. (5 s: the
    restart, the readiness poll and both calls must fit in one lease on a loaded machine.)"""
    coord = coordinator_factory("--lease-seconds", "5")
    held, other = create_job(coord.url), create_job(coord.url)
    worker = make_worker(coord.url)
    assert worker.assign(held["id"]).status_code == 200
    coord.kill()
    time.sleep(7.0)
    restarted = coord.restart()
    try:
        state = get_job(restarted.url, held["id"])
        assert (state["status"], state["attempts"]) == ("assigned", 0)
        assert worker.complete(held["id"]).status_code == 200
        assert get_job(restarted.url, other["id"])["status"] == "pending"
    finally:
        restarted.stop()
