"""The engine follows the lease it is given and never throws finished work away, against the
real coordinator and kubo (Python stands in for Blender: it takes the job, "renders" by
writing the output file, and hands it over):

- --lease-seconds 6 with 6.3 s renders: every job completes on its first attempt
  (heartbeats every lease/3 = 2 s, not the configured 10 s);
- the coordinator down for 60 s while the engine holds a finished result: submitted after it
  returns, no lease expiry, no second claim (0 re-renders);
- the worker process killed (SIGKILL) after rendering, before submitting: the next start
  submits the result from disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine_helpers import blend_bytes

pytestmark = pytest.mark.e2e


def _render(job, tag: bytes) -> Path:
    out = Path(job.output_dir) / "frame_0001.png"
    out.write_bytes(b"\x89PNG fake frame of job " + job.id.encode() + b" " + tag)
    return out


def _types(farm, job_id) -> list[str]:
    return [e["type"] for e in farm.http.get(f"/api/v1/jobs/{job_id}/events").json()["events"]]


def test_six_second_leases_with_renders_longer_than_a_lease_complete_first_time(
        coordinator_factory, kubo, farmhand_core, tmp_path):
    from engine_helpers import Farm
    farm = Farm(coordinator_factory("--lease-seconds", "6"), kubo, tmp_path)
    ids = [farm.post_job(farm.add_blend(blend_bytes())) for _ in range(3)]
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", heartbeat_interval_s=10.0))
    engine.start()
    try:
        for _ in ids:
            job = engine.next_job(60)
            assert job is not None
            time.sleep(6.3)  # a render longer than the lease
            engine.finish(job, [str(_render(job, b""))], 6.3)
        for job_id in ids:
            done = farm.wait_job(job_id, lambda j: j["status"] == "completed", timeout=60)
            assert done["attempts"] == 0, done
            assert _types(farm, job_id) == ["created", "assigned", "completed"]
    finally:
        engine.stop(graceful=True, timeout_s=30)
        farm.http.close()


def test_a_finished_result_survives_a_60_s_coordinator_outage_without_rerender(
        farm, farmhand_core, tmp_path):
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", heartbeat_interval_s=10.0))
    engine.start()
    try:
        job = engine.next_job(60)
        assert job is not None and job.id == job_id
        frame = _render(job, b"outage")
        farm.coordinator.kill()
        engine.finish(job, [str(frame)], 1.0)
        time.sleep(60)
        coordinator = farm.coordinator.restart()
        farm.coordinator = coordinator
        farm.http.close()
        import httpx
        farm.http = httpx.Client(base_url=coordinator.url, timeout=10)
        done = farm.wait_job(job_id, lambda j: j["status"] == "completed", timeout=60)
        assert done["attempts"] == 0, done
        assert _types(farm, job_id) == ["created", "assigned", "completed"]  # 0 re-renders
        expected = farm.kubo.only_hash(frame) if frame.exists() else None
        assert expected is None or done["result_cid"] == expected
        assert engine.status()["jobs_done"] == 1
    finally:
        engine.stop(graceful=True, timeout_s=30)
        farm.coordinator.stop()


CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import farmhand_core
config = json.loads(sys.argv[2])
engine = farmhand_core.Engine(config)
engine.start()
job = engine.next_job(60)
out = job.output_dir + "/frame_0001.png"
open(out, "wb").write(b"\x89PNG fake frame rendered before the kill")
print("RENDERED", job.id, out, flush=True)
sys.stdin.readline()          # the test kills the coordinator, then says go
engine.finish(job, [out], 2.0)
print("FINISHED", flush=True)
time.sleep(600)               # killed (SIGKILL) while the submission waits for the coordinator
"""


def test_a_result_rendered_before_a_kill_9_is_submitted_from_disk_after_restart(
        farm, farmhand_core, tmp_path):
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    config = farm.config(tmp_path / "work")
    core_path = str(Path(farmhand_core.__file__).resolve().parent.parent)
    child = subprocess.Popen([sys.executable, "-c", CHILD, core_path, json.dumps(config)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("RENDERED"), line
        frame = Path(line.split()[2])
        expected = farm.kubo.only_hash(frame)
        farm.coordinator.kill()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().startswith("FINISHED")
        journal = Path(config["work_dir"]) / "journal.json"
        deadline = time.monotonic() + 10
        while '"result"' not in journal.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    entry = json.loads(journal.read_text())["jobs"][0]
    assert (entry["id"], entry["state"]) == (job_id, "finishing")
    assert entry["result"]["files"] == [str(frame)]

    coordinator = farm.coordinator.restart()
    try:
        import httpx
        farm.http.close()
        farm.coordinator = coordinator
        farm.http = httpx.Client(base_url=coordinator.url, timeout=10)
        engine = farmhand_core.Engine(config)
        engine.start()
        try:
            done = farm.wait_job(job_id, lambda j: j["status"] == "completed", timeout=60)
            assert done["result_cid"] == expected
            assert done["attempts"] == 0
            assert _types(farm, job_id) == ["created", "assigned", "completed"]
        finally:
            engine.stop(graceful=True, timeout_s=30)
        assert json.loads(journal.read_text())["jobs"] == []
    finally:
        coordinator.stop()
