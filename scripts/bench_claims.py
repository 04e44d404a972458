"""`scripts/bench claims [WORKERS] [JOBS]`: claim contention on the reference coordinator.

WORKERS (default 6) worker engines (farmhand_core.Engine, each in its own process with its
own key and work dir, prefetch 1, long-poll 2 s) drain JOBS (default 200) jobs posted at once
to a coordinator on a real SQLite file and a local kubo. Blender is not run: each "render"
writes a small file and hands it over at once, so the figure is about the coordinator's
offers and the engines' claims, not rendering. Printed: claims won (= jobs), claims refused
(409 on assign: another worker won the race), refused as a share of all claims (the goal in
issue 11: < 5 %), and the wall time. A figure for people, not a timed test.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from localfarm import Coordinator, Kubo  # noqa: E402

CORE = os.environ.get("FARMHAND_CORE_PATH", str(REPO / "build" / "release" / "python"))

WORKER = r"""
import json, signal, sys
sys.path.insert(0, sys.argv[1])
import farmhand_core
config = json.loads(sys.argv[2])
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
engine = farmhand_core.Engine(config)
engine.start()
while not stop:
    job = engine.next_job(0.5)
    if job is None:
        continue
    out = job.output_dir + "/frame_0001.png"
    open(out, "wb").write(b"frame of job " + job.id.encode())
    engine.finish(job, [out], 0.0)
engine.stop(graceful=True, timeout_s=30)
"""


def _json(method: str, url: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as reply:
        return json.loads(reply.read())


def main(workers: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="farmhand-bench-claims-") as tmp, \
            Kubo.start() as kubo, Coordinator.start(Path(tmp) / "farm.sqlite") as coord:
        tmp = Path(tmp)
        blend = tmp / "scene.blend"
        blend.write_bytes(b"BLENDER-v304" + os.urandom(4096))
        cid = kubo.add(blend)
        for _ in range(jobs):
            _json("POST", coord.url + "/api/v1/jobs", {"asset_cid": cid, "reward": "1"})
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
                                           json.dumps(config)], stderr=subprocess.DEVNULL))
        try:
            while True:
                done = _json("GET", coord.url + "/api/v1/jobs?status=completed&limit=1000")
                if len(done["jobs"]) >= jobs:
                    break
                if any(p.poll() is not None for p in procs):
                    raise SystemExit("a worker exited early; see its engine.log")
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
        print(f"claims: {workers} workers, {jobs} jobs posted at once, coordinator offers "
              f"a random slice of the oldest 8 x limit pending jobs per poll")
        print(f"  claims won {won}, refused {refused} (409): refused = {share:.1f} % of "
              f"{won + refused} claims (goal < 5 %)")
        print(f"  jobs completed per worker: {per_worker}; wall {wall:.1f} s "
              f"({jobs / wall:.1f} jobs/s)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*(args + [6, 200][len(args):]))
