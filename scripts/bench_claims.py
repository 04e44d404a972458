"""`scripts/bench claims [WORKERS] [JOBS]`: claim contention on the reference coordinator.

WORKERS (default 6) worker engines (farmhand_core.Engine, each in its own process with its
own key and work dir, prefetch 1, long-poll 2 s) drain JOBS (default 200) jobs posted at once
to a coordinator on a real SQLite file and a local kubo. Blender is not run: each "render"
writes a small file and hands it over at once (the engine's real download, upload, /complete
path; only the render is instant), so the figure is about the coordinator's offers and the
engines' claims, and it is the worst case for contention (every worker is back polling within
milliseconds). Printed: claims won (= jobs), claims refused (409 on assign: another worker won
the race), refused as a share of all claims (the goal in issue 11: < 5 %), and the wall time.

Side by side, the same run against the coordinator as it offered before issue 11 (the reference
mode: every poll offered the oldest pending jobs, in age order, so all workers raced for the
same job; ``coordinator.schedule`` patched in that process only by a ``sitecustomize``; the
engines are today's, which claim one job per poll), and the figure recorded when the issue was
filed (778 refused claims for 200 jobs, 6 workers: old coordinator and old engine, which went
on claiming down a stale list).
A figure for people, not a timed test. ``--now-only`` skips the reference run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from localfarm import Coordinator, Kubo  # noqa: E402

# A real .blend (the engine parses every job file's block structure before "rendering" it).
SCENE = REPO / "tests" / "native" / "data" / "blend" / "cube_blender34.blend"
CORE = os.environ.get("FARMHAND_CORE_PATH", str(REPO / "build" / "release" / "python"))

WORKER = r"""
import json, signal, sys
sys.path.insert(0, sys.argv[1])
import farmhand_core
config = json.loads(sys.argv[2])
frame = open(sys.argv[3], "rb").read()
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
engine = farmhand_core.Engine(config)
engine.start()
while not stop:
    job = engine.next_job(0.5)
    if job is None:
        continue
    out = job.output_dir + "/frame_0001.png"
    open(out, "wb").write(frame)
    engine.finish(job, [out], 0.0)
engine.stop(graceful=True, timeout_s=30)
"""


def _json(method: str, url: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as reply:
        return json.loads(reply.read())


# The offers before issue 11: the oldest ``limit`` pending tasks, oldest first, to every poll,
# nothing held for the worker first offered a task.
OLDEST_FIRST = """
import coordinator.schedule as schedule


class _OldestFirst:
    @staticmethod
    def sample(window, k):
        return list(window)[:k]


schedule.OFFER_WINDOW = 1
schedule._random = _OldestFirst()
schedule.Holds.held_by_other = lambda self, task_id, worker, now: False
schedule.Holds.hold = lambda self, task_id, worker, now: None
"""
RECORDED_BEFORE = (778, 200, 6)  # refused claims, jobs, workers: issue 11 as filed


def run(workers: int, jobs: int, oldest_first: bool) -> dict:
    """One run; returns {won, refused, share, per_worker, wall}."""
    keep = os.environ.get("FARMHAND_BENCH_KEEP")  # a folder: the run's logs stay there
    with tempfile.TemporaryDirectory(prefix="farmhand-bench-claims-") as tmp:
        tmp = Path(tempfile.mkdtemp(prefix="claims-", dir=keep)) if keep else Path(tmp)
        saved = os.environ.get("PYTHONPATH")
        if oldest_first:
            patch = tmp / "patch"
            patch.mkdir()
            (patch / "sitecustomize.py").write_text(OLDEST_FIRST)
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(patch), saved) if p)
        try:
            with Kubo.start() as kubo, Coordinator.start(tmp / "farm.sqlite", "--ipfs-api",
                                                        kubo.api_url) as coord:
                return _drain(tmp, kubo, coord, workers, jobs)
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved


def _drain(tmp: Path, kubo, coord, workers: int, jobs: int) -> dict:
    """Post ``jobs`` jobs, start ``workers`` engines, wait until all are completed."""
    cid = kubo.add(SCENE)
    posted = [_json("POST", coord.url + "/api/v1/jobs", {"asset_cid": cid, "reward": "1"})
              for _ in range(jobs)]
    # A real PNG the coordinator's result checks accept: it decodes, is not blank and has the
    # resolution the coordinator read from the scene (a gradient: small however large).
    size = tuple(posted[0].get("resolution") or (32, 24))
    frame = tmp / "frame.png"
    Image.linear_gradient("L").resize(size).convert("RGB").save(frame)
    procs, logs = [], []
    started = time.monotonic()
    for i in range(workers):
        home = tmp / f"worker-{i}"
        home.mkdir()
        logs.append(home / "engine.log")
        config = {"backend_url": coord.url, "key_file": str(home / "worker.key"),
                  "ipfs_rpc_urls": [kubo.api_url], "gateway_urls": [kubo.gateway_url],
                  "work_dir": str(home / "work"), "blender_version": 304,
                  "poll_wait_s": 2, "log_file": str(logs[-1])}
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, CORE,
                                       json.dumps(config), str(frame)], stderr=subprocess.DEVNULL))
    try:
        while True:
            done = _json("GET", coord.url + "/api/v1/jobs?status=completed&limit=1000")
            if len(done["jobs"]) >= jobs:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited early; see its engine.log")
            failed = _json("GET", coord.url + "/api/v1/jobs?status=failed&limit=1")["jobs"]
            if failed:
                raise SystemExit(f"job {failed[0]['id']} failed: {failed[0].get('error')}")
            time.sleep(0.5)
        wall = time.monotonic() - started
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
    refused = sum(log.read_text().count("taken by another worker (409)") for log in logs)
    won = sum(log.read_text().count(": claimed (") for log in logs)
    per_worker = [log.read_text().count("completed: result") for log in logs]
    share = 100.0 * refused / max(1, won + refused)
    return {"won": won, "refused": refused, "share": share, "per_worker": per_worker,
            "wall": wall}


def _line(name: str, r: dict, jobs: int) -> str:
    return (f"  {name:<34} won {r['won']:>4}  refused {r['refused']:>5}  "
            f"refused {r['share']:5.1f} % of {r['won'] + r['refused']:>5} claims  "
            f"wall {r['wall']:6.1f} s ({jobs / r['wall']:.1f} jobs/s)  per worker "
            f"{r['per_worker']}")


def main(workers: int, jobs: int, now_only: bool = False) -> None:
    print(f"claims: {workers} workers, {jobs} jobs posted at once; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    now = run(workers, jobs, oldest_first=False)
    print(_line("now (random slice, first offer held)", now, jobs), flush=True)
    if not now_only:
        before = run(workers, jobs, oldest_first=True)
        print(_line("oldest-first offers (reference)", before, jobs))
    refused, rjobs, rworkers = RECORDED_BEFORE
    print(f"  {'recorded when issue 11 was filed':<34} refused {refused} claims for {rjobs} "
          f"jobs, {rworkers} workers = {100.0 * refused / (refused + rjobs):.1f} % of "
          f"{refused + rjobs} claims")
    verdict = "met" if now["share"] < 5 else "NOT met"
    print(f"  goal: refused < 5 % of claims: {verdict} ({now['share']:.1f} %); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _exit_on_sigterm(*_):
    raise SystemExit("stopped (SIGTERM)")  # unwinds: workers, coordinator and kubo stop


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    unknown = [f for f in flags if f != "--now-only"]
    if unknown:
        raise SystemExit(f"unknown option {unknown[0]}; usage: scripts/bench claims "
                         "[WORKERS] [JOBS] [--now-only]")
    args = [int(a) for a in sys.argv[1:] if not a.startswith("--")][:2]
    main(*(args + [6, 200][len(args):]), now_only="--now-only" in flags)
