"""Hostile request bodies from a worker: JSON may carry a lone UTF-16 surrogate escape ("\\ud800")
that UTF-8 (and so SQLite) cannot store. The coordinator must keep the report with U+FFFD in
its place, never answer 500."""

from __future__ import annotations

import httpx
import pytest

from coord_helpers import create_job, error_code, get_job

LONE = b"\\ud800"  # JSON escape of a lone high surrogate


def post_raw(worker, path: str, body: bytes) -> httpx.Response:
    return worker.http.post(path, content=body,
                            headers={**worker.headers, "Content-Type": "application/json"})


def test_heartbeat_message_with_a_lone_surrogate_is_stored_with_a_replacement(
        coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    assert worker.assign(job["id"]).status_code == 200
    resp = post_raw(worker, f"/api/v1/jobs/{job['id']}/heartbeat",
                    b'{"progress": 0.25, "message": "frame ' + LONE + b' 3"}')
    assert resp.status_code == 200, resp.text
    stored = get_job(coordinator.url, job["id"])
    assert stored["progress_message"] == "frame \ufffd 3"
    assert stored["progress"] == 0.25


def test_fail_with_lone_surrogates_in_error_and_log_tail_records_the_failure(
        coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    assert worker.assign(job["id"]).status_code == 200
    resp = post_raw(worker, f"/api/v1/jobs/{job['id']}/fail",
                    b'{"error": "boom ' + LONE + b'", "retryable": false, '
                    b'"log_tail": "a\\udfffb\\ud83d\\ude00"}')
    assert resp.status_code == 200, resp.text
    stored = get_job(coordinator.url, job["id"])
    assert stored["status"] == "failed"
    assert stored["error"] == "boom \ufffd"
    # A proper surrogate pair is one character (U+1F600) and is kept as it is.
    assert stored["log_tail"] == "a\ufffdb\U0001F600"
    page = httpx.get(coordinator.url + "/")
    assert page.status_code == 200 and "boom \ufffd" in page.text


def test_release_reason_with_a_lone_surrogate_releases_the_job(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    assert worker.assign(job["id"]).status_code == 200
    resp = post_raw(worker, f"/api/v1/jobs/{job['id']}/release", b'{"reason": "bye ' + LONE
                    + b'"}')
    assert resp.status_code == 200, resp.text
    assert get_job(coordinator.url, job["id"])["status"] == "pending"
    events = httpx.get(f"{coordinator.url}/api/v1/jobs/{job['id']}/events").json()["events"]
    assert events[-1]["type"] == "released" and events[-1]["detail"] == "bye \ufffd"


@pytest.mark.parametrize("body", [
    b'{"progress": 0.5, "message": "\xff\xfe"}',         # not UTF-8
    b"[" * 100000 + b"]" * 100000,                        # nested past the recursion limit
    b'{"progress": ' + b"9" * 5000 + b"}",                # integer over Python's 4300 digits
], ids=["not-utf8", "deep-nesting", "5000-digit-int"])
def test_body_json_cannot_decode_is_400_invalid_json(coordinator, make_worker, body):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    assert worker.assign(job["id"]).status_code == 200
    resp = post_raw(worker, f"/api/v1/jobs/{job['id']}/heartbeat", body)
    assert resp.status_code == 400
    assert error_code(resp) == "invalid_json"
    assert worker.heartbeat(job["id"]).status_code == 200
