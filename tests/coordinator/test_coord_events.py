"""Events: every state change recorded per job, and delivered live over SSE."""

from __future__ import annotations

import json
import threading
import time

import httpx

from coord_helpers import create_job


def test_job_events_record_each_state_change_in_order(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    worker.heartbeat(job["id"])
    worker.release(job["id"])
    worker.assign(job["id"])
    worker.fail(job["id"])
    worker.assign(job["id"])
    worker.complete(job["id"])
    events = httpx.get(f"{coordinator.url}/api/v1/jobs/{job['id']}/events").json()["events"]
    assert [(e["type"], e["status"]) for e in events] == [
        ("created", "pending"), ("assigned", "assigned"), ("released", "pending"),
        ("assigned", "assigned"), ("failed", "pending"), ("assigned", "assigned"),
        ("completed", "completed")]
    assert all(e["worker_address"] == worker.address for e in events[1:])
    assert "shutting down" in events[2]["detail"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)


def test_events_of_unknown_job_are_404(coordinator):
    resp = httpx.get(f"{coordinator.url}/api/v1/jobs/77/events")
    assert resp.status_code == 404


def _read_sse(url: str, headers: dict, count: int, out: list, ready: threading.Event):
    with httpx.stream("GET", url, headers=headers, timeout=20) as resp:
        out.append(resp.headers["content-type"])
        ready.set()
        data = None
        for line in resp.iter_lines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                out.append(data)
                data = None
                if len(out) > count:
                    return


def test_sse_stream_delivers_a_new_event(coordinator):
    out: list = []
    ready = threading.Event()
    thread = threading.Thread(target=_read_sse, daemon=True, args=(
        coordinator.url + "/api/v1/events/stream", {}, 1, out, ready))
    thread.start()
    assert ready.wait(10)
    time.sleep(0.3)
    start = time.monotonic()
    job = create_job(coordinator.url)
    thread.join(timeout=10)
    assert out[0].startswith("text/event-stream")
    assert out[1]["job_id"] == job["id"]
    assert out[1]["type"] == "created"
    assert time.monotonic() - start < 2.0


def test_sse_replays_after_last_event_id(coordinator, make_worker):
    job = create_job(coordinator.url)
    make_worker(coordinator.url).assign(job["id"])
    out: list = []
    ready = threading.Event()
    thread = threading.Thread(target=_read_sse, daemon=True, args=(
        coordinator.url + "/api/v1/events/stream", {"Last-Event-ID": "0"}, 2, out, ready))
    thread.start()
    thread.join(timeout=10)
    assert [e["type"] for e in out[1:]] == ["created", "assigned"]
