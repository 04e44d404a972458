"""Jobs split into tasks (docs/protocol.md "Jobs and tasks"): one id space, tasks claimed like
jobs, per-frame progress, reward split by frames, cancel, poison tasks, max_attempts cap.
Coordinator --trusted (made-up CIDs, no kubo); results and verification: test_farm_*.py."""

from __future__ import annotations

import time

import httpx

from coord_helpers import RESULT_CID, create_job, error_code, get_job


def _tasks(url: str, job_id: int) -> list[dict]:
    resp = httpx.get(f"{url}/api/v1/jobs/{job_id}/tasks", timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["tasks"]


def test_chunked_job_has_tasks_of_chunk_size_frames_in_one_id_space(coordinator):
    job = create_job(coordinator.url, frames=[1, 2, 3, 4, 5], chunk_size=2, reward="1.00")
    tasks = _tasks(coordinator.url, job["id"])
    assert [t["frames"] for t in tasks] == [[1, 2], [3, 4], [5]]
    assert [t["id"] for t in tasks] == [job["id"], job["id"] + 1, job["id"] + 2]
    assert [t["reward"] for t in tasks] == ["0.4", "0.4", "0.2"]
    assert {t["job_id"] for t in tasks} == {job["id"]}
    assert (job["tasks_total"], job["frames_total"], job["frames_done"]) == (3, 5, 0)
    assert job["frame_status"] == {str(f): "pending" for f in range(1, 6)}
    # GET /jobs/{first task id} is the job; a later task id answers the task.
    assert get_job(coordinator.url, job["id"])["kind"] == "job"
    second = get_job(coordinator.url, job["id"] + 1)
    assert (second["kind"], second["job_id"], second["frames"]) == ("task", job["id"], [3, 4])
    # the next job's id follows the last task's
    assert create_job(coordinator.url)["id"] == job["id"] + 3


def test_one_task_job_looks_like_a_pre_farm_job(coordinator):
    job = create_job(coordinator.url, frames=[1, 2], reward="1.50")
    assert (job["tasks_total"], job["reward"], job["frames"], job["status"]) == (
        1, "1.50", [1, 2], "pending")
    assert _tasks(coordinator.url, job["id"])[0]["id"] == job["id"]


def test_workers_take_tasks_and_job_progress_counts_frames(coordinator, make_worker):
    job = create_job(coordinator.url, frames=[1, 2, 3, 4], chunk_size=2)
    a, b = make_worker(coordinator.url), make_worker(coordinator.url)
    offers = a.get("/api/v1/jobs/available").json()["jobs"]
    offers = {o["id"]: o for o in offers}
    assert sorted(offers) == [job["id"], job["id"] + 1]
    second = offers[job["id"] + 1]
    assert second["asset_cid"] == job["asset_cid"] and second["frames"] == [3, 4]
    assert a.assign(job["id"]).status_code == 200
    assert b.assign(job["id"] + 1).status_code == 200
    assert get_job(coordinator.url, job["id"])["status"] == "assigned"
    resp = a.post(f"/api/v1/jobs/{job['id']}/complete", {
        "result_cid": RESULT_CID, "sha256": "0" * 64, "render_seconds": 1.0, "frames": [1, 2]})
    assert resp.status_code == 200, resp.text
    now = get_job(coordinator.url, job["id"])
    assert (now["frames_done"], now["progress"], now["tasks_done"]) == (2, 0.5, 1)
    assert now["frame_status"] == {"1": "completed", "2": "completed", "3": "assigned",
                                   "4": "assigned"}
    metrics = httpx.get(coordinator.url + "/metrics").text
    assert 'farmhand_tasks{status="completed"} 1' in metrics
    assert 'farmhand_tasks{status="assigned"} 1' in metrics
    assert 'farmhand_jobs{status="assigned"} 1' in metrics
    events = httpx.get(f"{coordinator.url}/api/v1/jobs/{job['id']}/events").json()["events"]
    assert [(e["type"], e["task_id"]) for e in events] == [
        ("created", None), ("assigned", job["id"]), ("assigned", job["id"] + 1),
        ("completed", job["id"])]


def test_cancel_stops_running_tasks_with_409(coordinator, make_worker):
    job = create_job(coordinator.url, frames=[1, 2, 3, 4], chunk_size=2)
    worker = make_worker(coordinator.url)
    assert worker.assign(job["id"]).status_code == 200
    resp = httpx.post(f"{coordinator.url}/api/v1/jobs/{job['id']}/cancel",
                      json={"reason": "wrong camera"}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["job"]["status"] == "cancelled"
    beat = worker.heartbeat(job["id"])
    assert (beat.status_code, error_code(beat)) == (409, "job_cancelled")
    assert beat.json()["error"]["status"] == "cancelled"
    assert {t["status"] for t in _tasks(coordinator.url, job["id"])} == {"cancelled"}
    assert worker.get("/api/v1/jobs/available").json()["jobs"] == []
    again = httpx.post(f"{coordinator.url}/api/v1/jobs/{job['id']}/cancel", timeout=30)
    assert (again.status_code, error_code(again)) == (409, "not_cancellable")
    missing = httpx.post(f"{coordinator.url}/api/v1/jobs/999/cancel", timeout=30)
    assert (missing.status_code, error_code(missing)) == (404, "job_not_found")


def test_max_attempts_is_capped_at_10(coordinator):
    resp = httpx.post(coordinator.url + "/api/v1/jobs", timeout=30, json={
        "asset_cid": create_job(coordinator.url)["asset_cid"], "max_attempts": 11})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "max_attempts"


def _crash(worker, task_id: int) -> httpx.Response:
    assert worker.assign(task_id).status_code == 200
    return worker.post(f"/api/v1/jobs/{task_id}/fail", {
        "error": "worker crashed while rendering", "retryable": True})


def test_a_job_that_crashes_blender_on_two_workers_fails(coordinator, make_worker):
    job = create_job(coordinator.url, max_attempts=10)
    first, second = make_worker(coordinator.url), make_worker(coordinator.url)
    assert _crash(first, job["id"]).json()["status"] == "pending"
    # never offered again to the worker whose Blender crashed on it
    assert first.get("/api/v1/jobs/available").json()["jobs"] == []
    again = first.assign(job["id"])
    assert (again.status_code, error_code(again)) == (409, "not_eligible")
    assert "crashed" in again.json()["error"]["message"]
    assert [o["id"] for o in second.get("/api/v1/jobs/available").json()["jobs"]] == [job["id"]]
    assert _crash(second, job["id"]).json()["status"] == "failed"
    final = get_job(coordinator.url, job["id"])
    assert (final["status"], final["error"], final["attempts"]) == (
        "failed", "crashed Blender on 2 workers", 2)
    records = {w["address"]: w for w in httpx.get(
        coordinator.url + "/api/v1/workers").json()["workers"]}
    assert records[first.address]["crashes"] == 1 and records[second.address]["crashes"] == 1


def test_a_worker_that_failed_a_job_3_times_is_not_offered_it(coordinator, make_worker):
    job = create_job(coordinator.url, max_attempts=10)
    worker, other = make_worker(coordinator.url), make_worker(coordinator.url)
    for _ in range(3):
        assert worker.assign(job["id"]).status_code == 200
        assert worker.fail(job["id"]).status_code == 200
    assert worker.get("/api/v1/jobs/available").json()["jobs"] == []
    assert error_code(worker.assign(job["id"])) == "not_eligible"
    assert other.assign(job["id"]).status_code == 200


def test_unknown_task_and_worker_are_404(coordinator):
    task = httpx.get(coordinator.url + "/api/v1/tasks/5", timeout=30)
    assert (task.status_code, error_code(task)) == (404, "task_not_found")
    tasks = httpx.get(coordinator.url + "/api/v1/jobs/5/tasks", timeout=30)
    assert (tasks.status_code, error_code(tasks)) == (404, "job_not_found")
    who = httpx.get(coordinator.url + "/api/v1/workers/0x" + "ab" * 32, timeout=30)
    assert (who.status_code, error_code(who)) == (404, "worker_not_found")
    bad = httpx.get(coordinator.url + "/api/v1/workers/nobody", timeout=30)
    assert (bad.status_code, error_code(bad)) == (422, "validation_error")


def test_a_directory_kubo_cannot_assemble_waits_and_is_retried(coordinator, make_worker):
    """Every task done, but kubo cannot read the results (made-up CIDs, no kubo here): the job
    stays 'assigned' ("assembling"), and the coordinator logs one back-off line per try."""
    job = create_job(coordinator.url, frames=[1, 2], chunk_size=1)
    worker = make_worker(coordinator.url)
    for task_id, frame in ((job["id"], 1), (job["id"] + 1, 2)):
        assert worker.assign(task_id).status_code == 200
        assert worker.post(f"/api/v1/jobs/{task_id}/complete", {
            "result_cid": RESULT_CID, "sha256": "0" * 64, "render_seconds": 1.0,
            "frames": [frame]}).status_code == 200
    time.sleep(2.0)
    state = get_job(coordinator.url, job["id"])
    assert (state["status"], state["progress_message"], state["frames_done"]) == (
        "assigned", "assembling", 2)
    assert state["result_cid"] is None
    log = coordinator.log_path.read_text()
    assert f"job {job['id']}: KuboError" in log and "retrying in" in log
    assert log.count(f"job {job['id']}: KuboError") <= 3   # backed off, not every sweep
