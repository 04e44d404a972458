"""SSE with a hostile Last-Event-ID: anything but an event id (ASCII digits, at most SQLite's
largest integer) means "new events only"; never a 500 or a stream that dies."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from coord_helpers import create_job


def _first_event(url: str, last_event_id: bytes, out: list, ready: threading.Event) -> None:
    with httpx.stream("GET", url, headers={b"Last-Event-ID": last_event_id}, timeout=20) as resp:
        out.append(resp.status_code)
        ready.set()
        for line in resp.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
                return


@pytest.mark.parametrize("value", [
    b"\xb2",                        # "²": str.isdigit() is true, int() raises
    "\u0661".encode(),              # Arabic-Indic one: not an ASCII event id
    b"99999999999999999999999",     # beyond SQLite's INTEGER
    b"-1", b"abc", b"",
], ids=["superscript-two", "arabic-one", "10^22", "negative", "letters", "empty"])
def test_bad_last_event_id_streams_new_events_only(coordinator, value):
    old = create_job(coordinator.url)  # must not be replayed
    out: list = []
    ready = threading.Event()
    reader = threading.Thread(target=_first_event, daemon=True, args=(
        coordinator.url + "/api/v1/events/stream", value, out, ready))
    reader.start()
    assert ready.wait(20)
    assert out[0] == 200
    # The stream is connected before the job is created only once ": connected" went out;
    # keep creating until the reader sees one (each create is a new event).
    new_ids = []
    while reader.is_alive() and len(new_ids) < 20:
        new_ids.append(create_job(coordinator.url)["id"])
        reader.join(0.5)
    assert not reader.is_alive()
    assert len(out) == 2, out
    assert out[1]["job_id"] in new_ids and out[1]["job_id"] != old["id"]
    assert out[1]["type"] == "created"
