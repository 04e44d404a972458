"""Completion: result recorded, idempotent for the same result, conflicting results refused."""

from __future__ import annotations

from coord_helpers import OTHER_RESULT_CID, RESULT_CID, RESULT_SHA, create_job, error_code, \
    get_job


def test_complete_records_result_and_timings(coordinator, make_worker):
    job = create_job(coordinator.url, frames=[1, 2])
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    resp = worker.post(f"/api/v1/jobs/{job['id']}/complete", {
        "result_cid": RESULT_CID, "sha256": RESULT_SHA.upper(), "render_seconds": 12.25,
        "frames": [1, 2]})
    assert resp.status_code == 200, resp.text
    state = get_job(coordinator.url, job["id"])
    assert state["status"] == "completed"
    assert state["result_cid"] == RESULT_CID
    assert state["sha256"] == RESULT_SHA
    assert state["render_seconds"] == 12.25
    assert state["result_frames"] == [1, 2]
    assert state["worker_address"] == worker.address
    assert state["lease_expires_at"] is None


def test_complete_retried_with_same_result_is_200_and_one_result(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    first = worker.complete(job["id"])
    second = worker.complete(job["id"])
    assert first.status_code == second.status_code == 200
    assert second.json()["success"] is True
    assert first.json()["job"]["updated_at"] == second.json()["job"]["updated_at"]
    events = worker.get(f"/api/v1/jobs/{job['id']}/events").json()["events"]
    assert [e["type"] for e in events].count("completed") == 1


def test_different_result_after_completion_is_409_already_completed(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker, other = make_worker(coordinator.url), make_worker(coordinator.url)
    worker.assign(job["id"])
    worker.complete(job["id"])
    for resp in (worker.complete(job["id"], OTHER_RESULT_CID), other.complete(job["id"])):
        assert resp.status_code == 409
        assert error_code(resp) == "already_completed"
        assert resp.json()["error"]["result_cid"] == RESULT_CID
    assert get_job(coordinator.url, job["id"])["result_cid"] == RESULT_CID


def test_complete_without_frames_defaults_to_the_jobs_frames(coordinator, make_worker):
    job = create_job(coordinator.url, frames=[4, 5, 6])
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    resp = worker.post(f"/api/v1/jobs/{job['id']}/complete", {
        "result_cid": RESULT_CID, "sha256": RESULT_SHA, "render_seconds": 1})
    assert resp.status_code == 200
    assert get_job(coordinator.url, job["id"])["result_frames"] == [4, 5, 6]
