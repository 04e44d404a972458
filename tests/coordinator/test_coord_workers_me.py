"""``GET /api/v1/workers/me``: completions (once per job), failures, reward total, first seen;
only for an authenticated worker."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import httpx
import pytest

from coord_helpers import create_job, error_code
from coordinator.worker_stats import format_reward


def test_a_new_worker_has_nothing_credited(coordinator, make_worker):
    worker = make_worker(coordinator.url)
    resp = worker.get("/api/v1/workers/me")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["worker_address"] == worker.address
    assert (body["jobs_completed"], body["jobs_failed"], body["reward_total"]) == (0, 0, "0")
    seen = datetime.strptime(body["first_seen_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    age = datetime.now(timezone.utc).replace(tzinfo=None) - seen
    assert 0 <= age.total_seconds() < 60


def test_completions_failures_and_reward_are_counted_per_worker(coordinator, make_worker):
    worker, other = make_worker(coordinator.url), make_worker(coordinator.url)
    rewarded = [create_job(coordinator.url, reward=r) for r in ("1.25", "0.5", "10")]
    for job in rewarded:
        assert worker.assign(job["id"]).status_code == 200
        assert worker.complete(job["id"]).status_code == 200
    assert worker.complete(rewarded[0]["id"]).status_code == 200  # a retry counts once
    failing = create_job(coordinator.url, reward="7", max_attempts=3)
    worker.assign(failing["id"])
    worker.fail(failing["id"])                     # back to pending: still counts
    worker.assign(failing["id"])
    worker.release(failing["id"])                  # a release does not count
    other.assign(failing["id"])
    other.complete(failing["id"])                  # someone else's reward

    mine = worker.get("/api/v1/workers/me").json()
    assert (mine["jobs_completed"], mine["jobs_failed"], mine["reward_total"]) == (3, 1,
                                                                                  "11.75")
    theirs = other.get("/api/v1/workers/me").json()
    assert (theirs["jobs_completed"], theirs["jobs_failed"], theirs["reward_total"]) == (
        1, 0, "7")


@pytest.mark.parametrize("header, code", [(None, "token_missing"),
                                          ("Bearer not-a-token", "token_invalid")])
def test_workers_me_needs_a_worker_token(coordinator, header, code):
    headers = {"Authorization": header} if header else {}
    resp = httpx.get(coordinator.url + "/api/v1/workers/me", headers=headers)
    assert resp.status_code == 401
    assert error_code(resp) == code


@pytest.mark.parametrize("total, text", [("0.00", "0"), ("4.50", "4.5"), ("100", "100"),
                                         ("0.00000001", "0.00000001"), ("1E+2", "100")])
def test_reward_total_uses_the_protocols_reward_format(total, text):
    assert format_reward(Decimal(total)) == text
