"""Claims: atomic assign, the retry rule, and its refusals."""

from __future__ import annotations

import threading

from coord_helpers import Worker, create_job, error_code, get_job


def test_sixteen_concurrent_assigners_exactly_one_wins(coordinator, make_worker):
    job = create_job(coordinator.url)
    workers = [make_worker(coordinator.url) for _ in range(16)]
    barrier = threading.Barrier(len(workers))
    results: dict[str, int] = {}

    def claim(w: Worker) -> None:
        barrier.wait()
        results[w.address] = w.assign(job["id"]).status_code

    threads = [threading.Thread(target=claim, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [a for a, status in results.items() if status == 200]
    assert len(winners) == 1
    assert sorted(results.values()) == [200] + [409] * 15
    final = get_job(coordinator.url, job["id"])
    assert final["status"] == "assigned"
    assert final["worker_address"] == winners[0]
    events = [e["type"] for e in
              workers[0].get(f"/api/v1/jobs/{job['id']}/events").json()["events"]]
    assert events.count("assigned") == 1


def test_assign_reply_carries_lease_and_job(coordinator_factory, make_worker):
    coord = coordinator_factory("--lease-seconds", "45")
    job = create_job(coord.url)
    worker = make_worker(coord.url)
    reply = worker.assign(job["id"]).json()
    assert reply["success"] is True
    assert reply["lease_seconds"] == 45
    assert reply["job"]["status"] == "assigned"
    assert reply["job"]["worker_address"] == worker.address
    assert reply["lease_expires_at"] == reply["job"]["lease_expires_at"]
    assert "already_held" not in reply


def test_loser_gets_409_already_assigned_naming_the_holder(coordinator, make_worker):
    job = create_job(coordinator.url)
    winner, loser = make_worker(coordinator.url), make_worker(coordinator.url)
    assert winner.assign(job["id"]).status_code == 200
    resp = loser.assign(job["id"])
    assert resp.status_code == 409
    assert error_code(resp) == "already_assigned"
    assert resp.json()["error"]["worker_address"] == winner.address


def test_retried_assign_by_the_holder_is_200_already_held(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    first = worker.assign(job["id"]).json()
    again = worker.assign(job["id"])
    assert again.status_code == 200
    assert again.json()["already_held"] is True
    assert again.json()["lease_expires_at"] >= first["lease_expires_at"]
    assert get_job(coordinator.url, job["id"])["attempts"] == 0


def test_assign_for_another_address_is_403_address_mismatch(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker, other = make_worker(coordinator.url), make_worker(coordinator.url)
    resp = worker.post(f"/api/v1/jobs/{job['id']}/assign", {"worker_address": other.address})
    assert resp.status_code == 403
    assert error_code(resp) == "address_mismatch"
    assert get_job(coordinator.url, job["id"])["status"] == "pending"


def test_assign_unknown_job_is_404(coordinator, make_worker):
    worker = make_worker(coordinator.url)
    resp = worker.assign(999)
    assert resp.status_code == 404
    assert error_code(resp) == "job_not_found"


def test_assign_completed_job_is_409_not_pending(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker, late = make_worker(coordinator.url), make_worker(coordinator.url)
    worker.assign(job["id"])
    assert worker.complete(job["id"]).status_code == 200
    resp = late.assign(job["id"])
    assert resp.status_code == 409
    assert error_code(resp) == "not_pending"
    assert resp.json()["error"]["status"] == "completed"
