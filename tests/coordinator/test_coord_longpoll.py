"""Long-poll on /jobs/available: immediate when work exists, woken by posts and releases."""

from __future__ import annotations

import threading
import time

from coord_helpers import create_job, error_code


def _poll_in_background(worker, wait: float):
    out: dict = {}

    def run():
        start = time.monotonic()
        resp = worker.get("/api/v1/jobs/available", status="pending", wait=wait)
        out["done"] = time.monotonic()
        out["elapsed"] = out["done"] - start
        out["resp"] = resp

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_long_poll_returns_within_one_second_of_a_post(coordinator, make_worker):
    worker = make_worker(coordinator.url)
    thread, out = _poll_in_background(worker, 20)
    time.sleep(1.5)                  # the poll is parked by now
    assert thread.is_alive()
    posted = time.monotonic()
    job = create_job(coordinator.url)
    thread.join(timeout=10)
    assert out["resp"].status_code == 200
    assert [j["id"] for j in out["resp"].json()["jobs"]] == [job["id"]]
    assert out["done"] - posted < 3.0    # woken (the wait was 20 s); a loaded CI: not 1 s


def test_long_poll_is_woken_by_a_release(coordinator, make_worker):
    job = create_job(coordinator.url)
    holder, waiter = make_worker(coordinator.url), make_worker(coordinator.url)
    holder.assign(job["id"])
    thread, out = _poll_in_background(waiter, 20)
    time.sleep(1.0)
    assert thread.is_alive()
    released = time.monotonic()
    holder.release(job["id"])
    thread.join(timeout=10)
    assert out["done"] - released < 3.0
    assert [j["id"] for j in out["resp"].json()["jobs"]] == [job["id"]]


def test_long_poll_times_out_empty_after_wait(coordinator, make_worker):
    worker = make_worker(coordinator.url)
    start = time.monotonic()
    resp = worker.get("/api/v1/jobs/available", status="pending", wait=1)
    elapsed = time.monotonic() - start
    assert resp.json() == {"jobs": []}
    assert 0.9 <= elapsed < 3.0


def test_wait_is_capped_at_max_wait_seconds(coordinator_factory, make_worker):
    coord = coordinator_factory("--max-wait-seconds", "1")
    worker = make_worker(coord.url)
    start = time.monotonic()
    assert worker.get("/api/v1/jobs/available", wait=25).json() == {"jobs": []}
    assert time.monotonic() - start < 2.0


def test_available_lists_pending_only_and_skips_assigned(coordinator, make_worker):
    ids = [create_job(coordinator.url)["id"] for _ in range(3)]
    worker = make_worker(coordinator.url)
    worker.assign(ids[1])
    resp = worker.get("/api/v1/jobs/available", status="pending")
    assert sorted(j["id"] for j in resp.json()["jobs"]) == [ids[0], ids[2]]
    worker.release(ids[1])
    resp = worker.get("/api/v1/jobs/available", limit=2)
    assert len(resp.json()["jobs"]) == 2
    assert {j["id"] for j in resp.json()["jobs"]} <= set(ids)


def test_available_offers_a_different_slice_of_the_oldest_window_per_poll(coordinator,
                                                                          make_worker):
    """protocol.md: offers are drawn at random from the oldest 8 x limit pending jobs, so
    workers polling together are offered different jobs (no claim storm)."""
    ids = [create_job(coordinator.url)["id"] for _ in range(30)]
    worker = make_worker(coordinator.url)
    firsts, seen = set(), set()
    for _ in range(20):
        jobs = worker.get("/api/v1/jobs/available", limit=2).json()["jobs"]
        assert len(jobs) == 2 and jobs[0]["id"] != jobs[1]["id"]
        firsts.add(jobs[0]["id"])
        seen.update(j["id"] for j in jobs)
    assert seen <= set(ids[:16]), "offers come from the oldest 8 x limit jobs only"
    assert len(firsts) >= 5, f"20 polls offered only {sorted(firsts)} first"


def test_a_first_offer_is_held_for_its_worker_for_two_seconds(coordinator, make_worker):
    """protocol.md: the first offer of a reply is offered to no other worker for 2 s (the
    last pending job is not raced for); the same worker is offered it again meanwhile."""
    job = create_job(coordinator.url)
    first, second = make_worker(coordinator.url), make_worker(coordinator.url)
    assert [j["id"] for j in first.get("/api/v1/jobs/available").json()["jobs"]] == [job["id"]]
    held_at = time.monotonic()
    assert second.get("/api/v1/jobs/available").json() == {"jobs": []}
    assert [j["id"] for j in first.get("/api/v1/jobs/available").json()["jobs"]] == [job["id"]]
    time.sleep(max(0.0, held_at + 2.2 - time.monotonic()))
    assert [j["id"] for j in second.get("/api/v1/jobs/available").json()["jobs"]] == [job["id"]]


def test_a_parked_long_poll_gets_a_held_job_once_its_hold_ends(coordinator, make_worker):
    """A hold's end notifies nobody: the parked poll looks again (every 0.5 s) and answers
    within about a second of the 2 s hold ending, not at the end of its wait."""
    job = create_job(coordinator.url)
    first, second = make_worker(coordinator.url), make_worker(coordinator.url)
    assert first.get("/api/v1/jobs/available").json()["jobs"][0]["id"] == job["id"]
    held_at = time.monotonic()
    thread, out = _poll_in_background(second, 20)  # first never claims it
    thread.join(timeout=30)
    assert [j["id"] for j in out["resp"].json()["jobs"]] == [job["id"]]
    # (held_at is taken once the first reply arrived: up to ~1 s after the hold began)
    assert 1.0 < out["done"] - held_at < 6.0, out["done"] - held_at


def test_available_rejects_other_status_and_negative_wait(coordinator, make_worker):
    worker = make_worker(coordinator.url)
    for params in ({"status": "completed"}, {"wait": -1}, {"limit": 0}):
        resp = worker.get("/api/v1/jobs/available", **params)
        assert resp.status_code == 422, params
        assert error_code(resp) == "validation_error"


def test_shutdown_answers_parked_long_polls_at_once(coordinator, make_worker):
    worker = make_worker(coordinator.url)
    thread, out = _poll_in_background(worker, 25)
    time.sleep(1.0)
    assert thread.is_alive()
    stopping = time.monotonic()
    coordinator.stop()
    thread.join(timeout=10)
    assert out["resp"].status_code == 200
    assert out["resp"].json() == {"jobs": []}
    assert out["done"] - stopping < 3.0
