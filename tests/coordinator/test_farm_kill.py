"""6 scripted worker processes × 300 tasks, with kill -9 of workers and of the coordinator:
every task is completed exactly once and every job's directory CID is what `ipfs add -r` of its
frames prints (real kubo, real SQLite file, coordinator with result checks on)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from nacl.signing import SigningKey

from farm_helpers import write_frames
from test_farm_directory import submit

HERE = Path(__file__).resolve().parent
JOBS, FRAMES, WORKERS = 3, 100, 6


def _start_worker(url: str, kubo, key_file: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "scripted_worker_proc.py"), url,
                             kubo.api_url, str(key_file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_300_tasks_survive_kill_9_of_workers_and_coordinator(coordinator_factory, kubo,
                                                           tmp_path):
    restarted = []
    try:
        _run(coordinator_factory, kubo, tmp_path, restarted)
    finally:
        for coord in restarted:  # a CI run once left this one serving after the run ended
            coord.stop()


def _run(coordinator_factory, kubo, tmp_path, restarted):
    coord = coordinator_factory("--ipfs-api", kubo.api_url, "--verify-share", "0",
                                "--lease-seconds", "2", trusted=False)
    jobs = [submit(coord, kubo, tmp_path, list(range(1, FRAMES + 1)), 1, max_attempts=10,
                   creator=f"c{i}") for i in range(JOBS)]
    keys = []
    for i in range(WORKERS):
        keys.append(tmp_path / f"worker-{i}.key")
        keys[-1].write_text(SigningKey.generate().encode().hex())
    procs = [_start_worker(coord.url, kubo, k) for k in keys]
    rng = random.Random(12)
    kills = coordinator_kills = 0
    deadline = time.monotonic() + 400
    try:
        while time.monotonic() < deadline:
            time.sleep(1.5)
            victim = rng.randrange(WORKERS)
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            procs[victim] = _start_worker(coord.url, kubo, keys[victim])
            kills += 1
            if kills == 5:
                coord.kill()
                coordinator_kills += 1
                time.sleep(1.0)
                coord = coord.restart()
            try:
                states = [httpx.get(f"{coord.url}/api/v1/jobs/{j['id']}", timeout=10).json()
                          ["status"] for j in jobs]
            except httpx.HTTPError:
                continue
            if all(s == "completed" for s in states):
                break
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        if coordinator_kills:  # the fixture stops only the coordinator it started
            restarted.append(coord)
    assert coordinator_kills == 1 and kills >= 5
    reference = kubo.add(write_frames(tmp_path / "frames", list(range(1, FRAMES + 1))))
    completed_total = 0
    for job in jobs:
        final = httpx.get(f"{coord.url}/api/v1/jobs/{job['id']}", timeout=30).json()
        assert final["status"] == "completed", final
        assert final["result_cid"] == reference
        events = httpx.get(f"{coord.url}/api/v1/jobs/{job['id']}/events",
                           timeout=30).json()["events"]
        completed = [e["task_id"] for e in events if e["type"] == "completed"]
        assert sorted(completed) == list(range(job["id"], job["id"] + FRAMES)), completed
        completed_total += len(completed)
        assert [e["type"] for e in events].count("assembled") == 1
    assert completed_total == JOBS * FRAMES
    print(f"{kills} worker kills, {coordinator_kills} coordinator kill; "
          f"{completed_total} tasks completed exactly once")
