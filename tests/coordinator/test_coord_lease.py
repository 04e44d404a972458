"""Leases: heartbeat extends, expiry requeues (attempts+1) or fails at max, late calls 409."""

from __future__ import annotations

import time

from coord_helpers import create_job, error_code, get_job


def test_heartbeat_extends_the_lease_and_records_progress(coordinator_factory, make_worker):
    coord = coordinator_factory("--lease-seconds", "3")
    job = create_job(coord.url)
    worker = make_worker(coord.url)
    first = worker.assign(job["id"]).json()["lease_expires_at"]
    for progress in (0.2, 0.4, 0.6, 0.75):     # 4 s in all: longer than one lease
        time.sleep(1.0)
        resp = worker.heartbeat(job["id"], progress)
        assert resp.status_code == 200, resp.text
        assert resp.json()["lease_seconds"] == 3
    state = get_job(coord.url, job["id"])
    assert state["status"] == "assigned"
    assert state["progress"] == 0.75
    assert state["progress_message"] == "rendering"
    assert state["lease_expires_at"] > first
    assert worker.complete(job["id"]).status_code == 200


def test_expired_lease_returns_job_to_pending_with_attempt_and_reason(coordinator_factory,
                                                                      make_worker):
    coord = coordinator_factory("--lease-seconds", "1")
    job = create_job(coord.url)
    worker = make_worker(coord.url)
    worker.assign(job["id"])
    time.sleep(1.8)
    state = get_job(coord.url, job["id"])
    assert state["status"] == "pending"
    assert state["attempts"] == 1
    assert state["worker_address"] is None
    assert worker.address in state["error"] and "expired" in state["error"]
    events = worker.get(f"/api/v1/jobs/{job['id']}/events").json()["events"]
    assert [e["type"] for e in events] == ["created", "assigned", "lease_expired"]
    assert events[-1]["worker_address"] == worker.address
    assert events[-1]["status"] == "pending"


def test_background_sweeper_requeues_without_any_request(coordinator_factory, make_worker):
    import sqlite3

    coord = coordinator_factory("--lease-seconds", "1")
    job = create_job(coord.url)
    make_worker(coord.url).assign(job["id"])
    time.sleep(3.0)
    with sqlite3.connect(coord.db_path) as db:   # read the file, not the API (no lazy check)
        status, attempts = db.execute("SELECT status, attempts FROM tasks WHERE id=?",
                                      (job["id"],)).fetchone()
    assert (status, attempts) == ("pending", 1)


def test_expiry_at_max_attempts_marks_failed(coordinator_factory, make_worker):
    coord = coordinator_factory("--lease-seconds", "1")
    job = create_job(coord.url, max_attempts=1)
    make_worker(coord.url).assign(job["id"])
    time.sleep(1.8)
    state = get_job(coord.url, job["id"])
    assert (state["status"], state["attempts"]) == ("failed", 1)


def test_late_complete_after_requeue_is_409_lease_lost(coordinator_factory, make_worker):
    coord = coordinator_factory("--lease-seconds", "1")
    job = create_job(coord.url)
    slow, fast = make_worker(coord.url), make_worker(coord.url)
    slow.assign(job["id"])
    time.sleep(1.8)
    assert fast.assign(job["id"]).status_code == 200
    for resp in (slow.complete(job["id"]), slow.heartbeat(job["id"]), slow.fail(job["id"]),
                 slow.release(job["id"])):
        assert resp.status_code == 409
        assert error_code(resp) == "lease_lost"
    state = get_job(coord.url, job["id"])
    assert state["worker_address"] == fast.address
    assert state["result_cid"] is None


def test_lease_expired_but_not_yet_swept_is_not_honoured(coordinator_factory, make_worker):
    coord = coordinator_factory("--lease-seconds", "1")
    job = create_job(coord.url)
    worker = make_worker(coord.url)
    worker.assign(job["id"])
    time.sleep(1.05)     # expired; the 0.5 s sweeper may not have run: the lazy check must
    resp = worker.complete(job["id"])
    assert resp.status_code == 409
    assert error_code(resp) == "lease_lost"


def test_stranger_heartbeat_is_409_not_assignee(coordinator, make_worker):
    job = create_job(coordinator.url)
    holder, stranger = make_worker(coordinator.url), make_worker(coordinator.url)
    holder.assign(job["id"])
    for resp in (stranger.heartbeat(job["id"]), stranger.complete(job["id"]),
                 stranger.fail(job["id"]), stranger.release(job["id"])):
        assert resp.status_code == 409
        assert error_code(resp) == "not_assignee"
    assert get_job(coordinator.url, job["id"])["worker_address"] == holder.address


def test_release_returns_to_pending_without_counting_an_attempt(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    resp = worker.release(job["id"])
    assert resp.status_code == 200 and resp.json() == {"success": True}
    state = get_job(coordinator.url, job["id"])
    assert (state["status"], state["attempts"], state["worker_address"]) == ("pending", 0, None)
    again = worker.release(job["id"])
    assert again.status_code == 409 and error_code(again) == "lease_lost"


def test_retryable_fail_requeues_until_max_attempts_then_fails(coordinator, make_worker):
    job = create_job(coordinator.url, max_attempts=2)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    first = worker.fail(job["id"]).json()
    assert first == {"success": True, "status": "pending", "attempts": 1, "max_attempts": 2}
    worker.assign(job["id"])
    second = worker.fail(job["id"]).json()
    assert second == {"success": True, "status": "failed", "attempts": 2, "max_attempts": 2}
    state = get_job(coordinator.url, job["id"])
    assert state["error"] == "render crashed"
    assert state["log_tail"] == "line 1\nline 2"


def test_non_retryable_fail_marks_failed_at_once(coordinator, make_worker):
    job = create_job(coordinator.url, max_attempts=5)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    reply = worker.fail(job["id"], retryable=False).json()
    assert (reply["status"], reply["attempts"]) == ("failed", 1)
    again = worker.fail(job["id"], retryable=False)
    assert again.status_code == 409 and error_code(again) == "lease_lost"


def test_fail_with_empty_error_still_registers_the_failure(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    resp = worker.post(f"/api/v1/jobs/{job['id']}/fail", {"error": "", "retryable": True})
    assert resp.status_code == 200
    state = get_job(coordinator.url, job["id"])
    assert (state["status"], state["attempts"]) == ("pending", 1)
    assert state["error"] == "(the worker gave no error message)"
    resp = worker.post(f"/api/v1/jobs/{job['id']}/fail", {"retryable": True})
    assert resp.status_code == 422


def test_heartbeat_and_release_accept_an_empty_body(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    path = f"/api/v1/jobs/{job['id']}"
    assert worker.http.post(path + "/heartbeat", headers=worker.headers).status_code == 200
    assert worker.http.post(path + "/release", headers=worker.headers).status_code == 200
    events = worker.get(path + "/events").json()["events"]
    assert (events[-1]["type"], events[-1]["detail"]) == ("released", "released")
