"""The job engine against the real coordinator and the real kubo node; no Blender: the
test "renders" by writing output files and calling finish()."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from engine_helpers import Farm, blend_bytes
from held_reply_proxy import HeldReplyProxy


def test_single_job_completes_with_the_cid_kubo_computes(farm, farmhand_core, tmp_path):
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    engine = farmhand_core.Engine(farm.config(tmp_path / "work"))
    engine.start()
    try:
        job = engine.next_job(20)
        assert job is not None and job.id == job_id
        assert job.blend_version == 304
        assert job.frames == [] and job.output_format == "PNG" and job.reward == "1.50"
        assert Path(job.blend_path).read_bytes()[:12] == b"BLENDER-v304"
        assert farm.job(job_id)["status"] == "assigned"
        frame = Path(job.output_dir) / "frame_0001.png"
        frame.write_bytes(os.urandom(300_000))  # > one 256 KiB chunk: a real UnixFS DAG
        keep = tmp_path / "expected.png"
        shutil.copy(frame, keep)
        engine.finish(job, [str(frame)], 2.5)
        done = farm.wait_job(job_id, lambda j: j["status"] == "completed")
    finally:
        engine.stop()
    assert done["result_cid"] == farm.kubo.only_hash(keep)
    assert done["sha256"] == hashlib.sha256(keep.read_bytes()).hexdigest()
    assert done["render_seconds"] == 2.5
    status = engine.status()
    assert status["jobs_done"] == 1 and status["jobs_failed"] == 0
    assert not Path(job.work_dir).exists()  # successful job dirs are removed


def test_result_is_stored_in_kubo(farm, farmhand_core, tmp_path):
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    with farmhand_core.Engine(farm.config(tmp_path / "work")) as engine:
        engine.start()
        job = engine.next_job(20)
        frame = Path(job.output_dir) / "frame_0001.png"
        payload = os.urandom(1000)
        frame.write_bytes(payload)
        engine.finish(job, [frame], 1.0)
        done = farm.wait_job(job_id, lambda j: j["status"] == "completed")
    out = tmp_path / "fetched"
    farm.kubo.cli("get", "-o", str(out), done["result_cid"])
    assert out.read_bytes() == payload


def test_three_frame_job_completes_with_a_directory_cid(farm, farmhand_core, tmp_path):
    job_id = farm.post_job(farm.add_blend(blend_bytes()), frames=[1, 2, 3])
    expected_dir = tmp_path / "expected"
    expected_dir.mkdir()
    engine = farmhand_core.Engine(farm.config(tmp_path / "work"))
    engine.start()
    try:
        job = engine.next_job(20)
        assert job.frames == [1, 2, 3]
        outputs = []
        for n in (1, 2, 3):
            p = Path(job.output_dir) / f"frame_{n:04d}.png"
            p.write_bytes(os.urandom(1000 * n))
            shutil.copy(p, expected_dir / p.name)
            outputs.append(str(p))
        engine.finish(job, list(reversed(outputs)), 3.0)
        done = farm.wait_job(job_id, lambda j: j["status"] == "completed")
    finally:
        engine.stop()
    assert done["result_cid"] == farm.kubo.only_hash(expected_dir)
    concat = b"".join((expected_dir / f"frame_{n:04d}.png").read_bytes() for n in (1, 2, 3))
    assert done["sha256"] == hashlib.sha256(concat).hexdigest()
    assert done["result_frames"] == [1, 2, 3]


def test_download_failure_fails_the_job_at_once_and_the_loop_goes_on(farm, farmhand_core,
                                                                     tmp_path):
    unserved = tmp_path / "never-added.blend"
    unserved.write_bytes(blend_bytes())
    bad_cid = farm.kubo.only_hash(unserved)  # a valid CID nobody serves
    bad_id = farm.post_job(bad_cid)
    # prefetch 0: the engine tries the bad job alone first (offers come in random order).
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", prefetch=0))
    engine.start()
    try:
        # requeued at once (an attempt counted), not left to lease expiry (60 s)
        bad = farm.wait_job(bad_id, lambda j: j["attempts"] >= 1, timeout=30)
        assert bad["error"].startswith("failed: download failed:")
        assert f"job {bad_id}: claimed" in bad["log_tail"]
        good_id = farm.post_job(farm.add_blend(blend_bytes()))
        job = engine.next_job(40)     # the loop goes on: the good job renders
        assert job is not None and job.id == good_id
        assert engine.status()["jobs_failed"] >= 1
        assert (tmp_path / "work" / f"job-{bad_id}" / "FAILED").exists()
    finally:
        engine.stop(graceful=False)


def test_newer_blender_header_is_failed_naming_both_versions(farm, farmhand_core, tmp_path):
    job_id = farm.post_job(farm.add_blend(blend_bytes(b"BLENDER17-01v0500")))
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", blender_version=304))
    engine.start()
    try:
        failed = farm.wait_job(job_id, lambda j: j["status"] == "failed")
        assert engine.next_job(0.2) is None
    finally:
        engine.stop()
    assert "Blender 5.0 (version 500)" in failed["error"]
    assert "Blender 3.4 (version 304)" in failed["error"]
    assert failed["attempts"] == 1  # retryable=false: failed at once


def test_lease_lost_mid_render_cancels_the_job(coordinator_factory, kubo, farmhand_core, tmp_path):
    farm = Farm(coordinator_factory("--lease-seconds", "3"), kubo, tmp_path)
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", heartbeat_interval_s=4.0))
    engine.start()
    try:
        job = engine.next_job(20)
        assert job is not None
        time.sleep(4.0)  # heartbeats every lease/3 = 1 s (not the configured 4 s) keep it
        assert engine.job_cancelled(job) is False
        assert farm.job(job_id)["status"] == "assigned"
        # The lease is lost behind the worker's back (as after a long network partition):
        # the next heartbeat answers 409.
        with sqlite3.connect(farm.coordinator.db_path) as db:
            db.execute("UPDATE tasks SET lease_expires_at=1 WHERE id=?", (int(job_id),))
        deadline = time.monotonic() + 15
        while not engine.job_cancelled(job) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine.job_cancelled(job) is True
        assert engine.status()["lease_lost_job_id"] == job_id
        frame = Path(job.output_dir) / "frame_0001.png"
        frame.write_bytes(b"late")
        engine.finish(job, [frame], 1.0)  # accepted, but the result is discarded
        time.sleep(0.5)
        assert farm.job(job_id)["result_cid"] is None
    finally:
        engine.stop()
        farm.http.close()


def test_stop_releases_prefetched_jobs(farm, farmhand_core, tmp_path):
    cid = farm.add_blend(blend_bytes())
    first, second = farm.post_job(cid), farm.post_job(cid)
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", prefetch=1))
    engine.start()
    job = engine.next_job(20)
    # Offers come in random order (protocol.md): either job may be rendered first.
    assert job is not None and job.id in (first, second)
    prefetched = second if job.id == first else first
    farm.wait_job(prefetched, lambda j: j["status"] == "assigned")
    deadline = time.monotonic() + 10
    while not (tmp_path / "work" / f"job-{prefetched}" / "scene.blend").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    engine.stop(graceful=True)
    for job_id in (first, second):
        j = farm.job(job_id)
        assert j["status"] == "pending", j
        assert j["attempts"] == 0, j
    assert engine.status()["state"] == "stopped"


def test_stop_during_a_claim_releases_the_job_the_coordinator_committed(farm, farmhand_core,
                                                                          tmp_path):
    # The /assign reply is held back (a stub proxy: a late reply) after the coordinator
    # committed the assignment; the engine is told to stop meanwhile. It lets the claim
    # finish and releases the job: pending again at once, attempts unchanged, a `released`
    # event (before: the claim was cut off and the job stayed assigned until its lease
    # expired, an attempt counted).
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    proxy = HeldReplyProxy(farm.coordinator.url)
    try:
        proxy.hold("/assign")
        engine = farmhand_core.Engine(farm.config(tmp_path / "work", backend_url=proxy.url))
        engine.start()
        assert proxy.arrived.wait(30), "the engine never claimed the job"
        assert farm.job(job_id)["status"] == "assigned"
        stopper = threading.Thread(target=engine.stop, kwargs={"graceful": True,
                                                               "timeout_s": 30})
        stopper.start()
        time.sleep(0.5)  # stop() has cancelled whatever it cancels
        assert engine.status()["state"] == "stopping"
        proxy.let_go()
        stopper.join(60)
        assert not stopper.is_alive()
    finally:
        proxy.close()
    job = farm.job(job_id)
    assert (job["status"], job["attempts"], job["worker_address"]) == ("pending", 0, None), job
    events = farm.http.get(f"/api/v1/jobs/{job_id}/events").json()["events"]
    assert [e["type"] for e in events] == ["created", "assigned", "released"], events
    assert events[-1]["worker_address"] == engine.worker_address
    assert "worker stopping" in events[-1]["detail"]
    assert engine.status()["state"] == "stopped"
    assert not (tmp_path / "work" / f"job-{job_id}").exists()


def test_idle_stop_returns_within_two_seconds(farm, farmhand_core, tmp_path):
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", poll_wait_s=20))
    engine.start()
    time.sleep(1.0)  # now parked in a long-poll
    t0 = time.monotonic()
    engine.stop(graceful=True)
    assert time.monotonic() - t0 < 2.0


CRASHING_WORKER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import farmhand_core
engine = farmhand_core.Engine(json.loads(sys.argv[2]))
engine.start()
job = engine.next_job(30)
print(job.id, flush=True)
time.sleep(600)
"""


def test_engine_killed_mid_render_reports_the_job_crashed_on_next_start(farm, farmhand_core,
                                                                        tmp_path):
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    config = farm.config(tmp_path / "work")
    core_path = str(Path(farmhand_core.__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_WORKER, core_path, json.dumps(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line == job_id, proc.stderr.read() if proc.poll() is not None else line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert farm.job(job_id)["status"] == "assigned"  # the lease (60 s) still holds

    engine = farmhand_core.Engine(config)
    engine.start()
    try:
        crashed = farm.wait_job(job_id, lambda j: j["attempts"] == 1, timeout=20)
        assert crashed["error"] == "worker crashed while rendering"
        assert f"job {job_id}: handed to Blender" in crashed["log_tail"]
        # Requeued for other workers, never offered again to the one whose Blender crashed on
        # it (docs/protocol.md "Poison tasks").
        assert engine.next_job(3) is None
        assert farm.job(job_id)["status"] == "pending"
    finally:
        engine.stop()
    assert engine.status()["jobs_failed"] == 1
    assert engine.status()["jobs_done"] == 0


def test_unknown_config_key_is_refused(farm, farmhand_core, tmp_path):
    with pytest.raises(farmhand_core.InvalidArgument, match="'prefech' is not a known setting"):
        farmhand_core.Engine(farm.config(tmp_path / "work", prefech=1))


def test_engine_address_is_the_key_files(farm, farmhand_core, tmp_path):
    engine = farmhand_core.Engine(farm.config(tmp_path / "work"))
    assert engine.worker_address.startswith("0x") and len(engine.worker_address) == 66
    assert (tmp_path / "worker.key").stat().st_mode & 0o077 == 0
    assert engine.status()["state"] == "stopped"


def test_status_follows_the_rendering_job_and_its_progress(farm, farmhand_core, tmp_path):
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    engine = farmhand_core.Engine(farm.config(tmp_path / "work"))
    engine.start()
    try:
        job = engine.next_job(20)
        engine.progress(job, 0.5, "frame 1/2")
        status = engine.status()
        assert status["state"] == "rendering" and status["job_id"] == job_id
        assert status["progress"] == 0.5 and status["message"] == "frame 1/2"
        size = len(Path(job.blend_path).read_bytes())
        assert status["bytes_done"] == status["bytes_total"] == size
        assert status["worker_address"] == engine.worker_address
        # The heartbeat carries the progress to the coordinator.
        beat = (0.5, "frame 1/2")
        farm.wait_job(job_id, lambda j: (j["progress"], j["progress_message"]) == beat, timeout=10)
        engine.release(job, "test over")
    finally:
        engine.stop()  # also releases a re-claim of the job (prefetch) made meanwhile
    released = farm.job(job_id)
    assert (released["status"], released["attempts"]) == ("pending", 0)


def test_upload_moves_on_to_the_next_ipfs_api_when_one_is_down(farm, farmhand_core, tmp_path):
    from localfarm.paths import free_port
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    engine = farmhand_core.Engine(farm.config(tmp_path / "work",
                                              ipfs_rpc_urls=[dead, farm.kubo.api_url]))
    engine.start()
    try:
        job = engine.next_job(20)
        frame = Path(job.output_dir) / "frame_0001.png"
        frame.write_bytes(os.urandom(5000))
        keep = tmp_path / "expected.png"
        shutil.copy(frame, keep)
        engine.finish(job, [frame], 1.0)
        done = farm.wait_job(job_id, lambda j: j["status"] == "completed")
    finally:
        engine.stop()
    assert done["result_cid"] == farm.kubo.only_hash(keep)


def test_key_file_readable_by_others_is_refused(farm, farmhand_core, tmp_path):
    config = farm.config(tmp_path / "work")
    farmhand_core.Engine(config)  # creates the key, 0600
    os.chmod(config["key_file"], 0o644)
    with pytest.raises(farmhand_core.KeyFileError):
        farmhand_core.Engine(config)


def test_engine_polls_with_its_blender_version(farm, farmhand_core, tmp_path):
    """docs/protocol.md "Matching": every poll carries blender=MAJOR.MINOR (304 -> "3.4"),
    which the coordinator keeps on the worker's record."""
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", blender_version=304))
    engine.start()
    try:
        record, deadline = None, time.monotonic() + 20
        while time.monotonic() < deadline:
            resp = farm.http.get(f"/api/v1/workers/{engine.worker_address}")
            record = resp.json() if resp.status_code == 200 else None
            if record and record["blender_version"]:
                break
            time.sleep(0.2)
    finally:
        engine.stop()
    assert record is not None and record["blender_version"] == "3.4", record


def test_engine_polls_with_its_device_class(farm, farmhand_core, tmp_path):
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", device_class="OPTIX"))
    engine.start()
    try:
        record, deadline = None, time.monotonic() + 20
        while time.monotonic() < deadline:
            resp = farm.http.get(f"/api/v1/workers/{engine.worker_address}")
            record = resp.json() if resp.status_code == 200 else None
            if record and record["device"]:
                break
            time.sleep(0.2)
    finally:
        engine.stop()
    assert record is not None and (record["device"], record["blender_version"]) == (
        "OPTIX", "3.4"), record


@pytest.mark.parametrize("said_at_finish, recorded", [("CPU", "CPU"), ("", "OPTIX")])
def test_complete_says_the_device_and_blender_the_frames_were_rendered_with(
        farm, farmhand_core, tmp_path, said_at_finish, recorded):
    # An OPTIX worker whose render fell back to the CPU says so at /complete (protocol.md);
    # without a device at finish() its configured device_class stands.
    job_id = farm.post_job(farm.add_blend(blend_bytes()))
    engine = farmhand_core.Engine(farm.config(tmp_path / "work", device_class="OPTIX"))
    engine.start()
    try:
        job = engine.next_job(20)
        assert job is not None and job.id == job_id
        frame = Path(job.output_dir) / "frame_0001.png"
        frame.write_bytes(os.urandom(1000))
        with pytest.raises(farmhand_core.InvalidArgument, match='got "GPU"'):
            engine.finish(job, [str(frame)], 1.0, device="GPU")
        engine.finish(job, [str(frame)], 1.0, device=said_at_finish)
        farm.wait_job(job_id, lambda j: j["status"] == "completed")
    finally:
        engine.stop()
    events = farm.http.get(f"/api/v1/jobs/{job_id}/events").json()["events"]
    completed = [e for e in events if e["type"] == "completed"]
    assert len(completed) == 1, events
    assert completed[0]["detail"].endswith(f" on {recorded} with Blender 3.4"), completed


def test_unknown_device_class_is_refused(farm, farmhand_core, tmp_path):
    with pytest.raises(farmhand_core.InvalidArgument, match="'device_class' must be one of"):
        farmhand_core.Engine(farm.config(tmp_path / "work", device_class="ABACUS"))
