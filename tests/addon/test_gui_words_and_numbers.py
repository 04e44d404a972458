"""What the GUI worker shows and keeps, without Blender: plain words for every state
(status_text), lifetime numbers across restarts (lifetime), the /workers/me reply checks
(earnings.parse)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))
from farmhand.earnings import parse  # noqa: E402
from farmhand.lifetime import Lifetime  # noqa: E402
from farmhand.status_text import describe, duration, short_address  # noqa: E402

BASE = {"state": "waiting", "engine_state": "idle", "job_id": "", "frame_number": 1,
        "frame_count": 0, "frame_elapsed_s": 0.0, "frame_part": None, "job_fraction": 0.0,
        "pause_reason": "", "stop_reason": "", "stop_after_job": False, "device_used": "",
        "device_warning": "", "last_error": "", "jobs_done": 0, "jobs_failed": 0}


def snap(**kw):
    return {**BASE, **kw}


@pytest.mark.parametrize("fields, headline", [
    ({"state": "rendering", "job_id": "42", "frame_number": 2, "frame_count": 3,
      "frame_part": 0.11, "job_fraction": 0.37}, "Rendering job 42 — frame 2 of 3, about 37 %"),
    ({"state": "rendering", "job_id": "7", "frame_number": 1, "frame_count": 1,
      "frame_elapsed_s": 12.4}, "Rendering job 7 — frame 1 of 1, 12 s so far"),
    ({}, "Waiting for work"),
    ({"engine_state": "ready"}, "A job is about to start"),
    ({"engine_state": "backing_off"}, "Stopped: the coordinator is unreachable, retrying"),
    ({"state": "paused", "pause_reason": "you are rendering"}, "Paused: you are rendering"),
    ({"state": "preparing", "job_id": "9"}, "Preparing job 9 (checking its scene)"),
    ({"state": "handing over", "job_id": "9"}, "Handing in job 9"),
    ({"state": "stopping"}, "Stopping: finishing uploads"),
    ({"state": "stopped", "stop_reason": "you stopped sharing"},
     "Stopped: you stopped sharing"),
])
def test_every_state_reads_as_plain_words(fields, headline):
    assert describe(snap(**fields)).headline == headline


def test_not_sharing_and_the_details_lines():
    assert describe(None).headline == "Not sharing"
    words = describe(snap(state="rendering", job_id="3", frame_count=1, device_used="CPU",
                          device_warning="your CUDA GPU is not used: rendering on the CPU",
                          last_error="network: connection refused", stop_after_job=True))
    assert words.details == ["Stopping after this job", "Device: CPU",
                             "Last problem: network: connection refused"]
    assert words.warning == "your CUDA GPU is not used: rendering on the CPU"


def test_addresses_and_durations_are_short():
    address = "0x" + "ab12" * 16
    assert short_address(address) == "0xab12ab…ab12"
    assert short_address("not-an-address") == "not-an-address"
    assert [duration(s) for s in (0, 59.9, 61, 3599, 7620)] == [
        "0 s", "59 s", "1 min 1 s", "59 min 59 s", "2 h 07 min"]


def test_lifetime_numbers_survive_a_restart(tmp_path):
    path = tmp_path / "farmhand" / "lifetime.json"
    first = Lifetime(str(path))
    assert (first.jobs_done, first.seconds_rendered) == (0, 0.0)
    first.add_job(12.5)
    first.add_job(30.25)
    again = Lifetime(str(path))
    assert (again.jobs_done, again.seconds_rendered) == (2, 42.75)
    assert json.loads(path.read_text()) == {"jobs_done": 2, "seconds_rendered": 42.75}


@pytest.mark.parametrize("content", ['{"jobs_done": -1, "seconds_rendered": 0}',
                                     '{"jobs_done": true, "seconds_rendered": 0}',
                                     '{"jobs_done": 1, "seconds_rendered": "x"}',
                                     "not json", "[]"])
def test_a_damaged_lifetime_file_counts_from_zero(tmp_path, content):
    path = tmp_path / "lifetime.json"
    path.write_text(content)
    numbers = Lifetime(str(path))
    assert (numbers.jobs_done, numbers.seconds_rendered) == (0, 0.0)


def test_workers_me_reply_is_read():
    body = json.dumps({"worker_address": "0x" + "0" * 64, "jobs_completed": 3,
                       "jobs_failed": 1, "reward_total": "11.75"}).encode()
    assert parse(body) == {"jobs_completed": 3, "jobs_failed": 1, "reward_total": "11.75"}


@pytest.mark.parametrize("body, needle", [
    (b"<html>", "not JSON"), (b"[1]", "not a JSON object"),
    (b'{"jobs_completed": "3", "jobs_failed": 0, "reward_total": "1"}', "jobs_completed"),
    (b'{"jobs_completed": 3, "jobs_failed": -2, "reward_total": "1"}', "jobs_failed"),
    (b'{"jobs_completed": 3, "jobs_failed": 0, "reward_total": 1.5}', "reward_total"),
    (b'{"jobs_completed": 3, "jobs_failed": 0, "reward_total": "1e9"}', "reward_total"),
    (b'{"jobs_completed": 3, "jobs_failed": 0, "reward_total": "\\u202e1"}', "reward_total"),
    (b"{" + b" " * 70000 + b"}", "larger than"),
])
def test_a_hostile_workers_me_reply_is_refused_with_a_reason(body, needle):
    with pytest.raises(ValueError, match=needle):
        parse(body)
