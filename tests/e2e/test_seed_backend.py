"""A headless worker against a backend that answers exactly as the seed's design document
shows (tests/e2e/seed_backend.py, a stub: the reference coordinator offers more): two jobs in
a row complete, each claimed and completed once, result CIDs identical to kubo's; the absent
heartbeat endpoint is found once and logged once (docs/protocol.md "Seed-literal backends").
The same two jobs against the reference coordinator complete on their first try. In both, the
frame rendered twice has one CID and no result carries the worker's paths or text chunks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

import demo_farm
from e2e_helpers import CORE_PATH, WORKERS, worker_log
from localfarm.paths import free_port

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve().parent


class SeedBackend:
    """The stub's process; ``url`` is what the worker gets as --backend."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp_path / "seed-backend.log", "ab")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "seed_backend.py"), "--port",
                                      str(self.port)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.jobs()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the seed backend stub did not start")
                time.sleep(0.1)

    def _call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as reply:
            return json.loads(reply.read())

    def create(self, asset_cid: str) -> dict:
        return self._call("POST", "/_stub/jobs", {"asset_cid": asset_cid, "reward": 2.5})

    def jobs(self) -> list[dict]:
        return self._call("GET", "/_stub/jobs")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def seed_backend(tmp_path):
    backend = SeedBackend(tmp_path)
    yield backend
    backend.stop()


@pytest.mark.parametrize("blender", WORKERS)
def test_two_jobs_in_a_row_complete_against_a_seed_literal_backend(
        blender, seed_backend, kubo, job_files, tmp_path):
    cid = kubo.add(job_files["files"] / "plain.blend")
    created = [seed_backend.create(cid)["id"] for _ in range(2)]
    worker = demo_farm.start_worker(seed_backend, kubo, tmp_path / "worker", blender,
                                    ["--max-jobs", "2", "--heartbeat", "0.1"],
                                    core_path=CORE_PATH)
    worker.home = tmp_path / "worker"  # type: ignore[attr-defined]
    try:
        assert worker.wait(timeout=240) == 0, worker_log(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
    log = worker_log(worker)
    jobs = {j["id"]: j for j in seed_backend.jobs()}
    assert [jobs[i]["status"] for i in created] == ["completed", "completed"], log
    for i in created:
        assert (jobs[i]["assigned"], jobs[i]["completed"]) == (1, 1), jobs[i]
        png = demo_farm.fetch_result(kubo, jobs[i]["result_cid"], tmp_path / f"result-{i}.png")
        assert kubo.only_hash(png) == jobs[i]["result_cid"]
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        # Private: no local path, date or timing in the file (no text chunks at all).
        assert str(tmp_path).encode() not in data and b"/work/" not in data
        assert Image.open(png).text == {}
    # The same frame of the same file twice: the same bytes (deterministic, private output).
    assert jobs[created[0]]["result_cid"] == jobs[created[1]]["result_cid"]
    # Found at most once (a frame this small may finish before the first heartbeat), never
    # retried: GoogleTest ABackendWithoutHeartbeatIsAskedOnceThenNeverAgain pins the count.
    assert log.count("the backend has no heartbeat endpoint") <= 1, log
    assert "authentication failed" not in log, log


@pytest.mark.parametrize("blender", WORKERS)
def test_two_jobs_in_a_row_complete_against_the_reference_coordinator(
        blender, coordinator, kubo, worker_factory, job_files, tmp_path):
    """The same two jobs against the reference coordinator (issue 11, Done when): both
    completed on their first attempt, result CIDs equal to kubo's, the same frame twice gives
    the same CID, and no result carries the worker's paths."""
    jobs = [demo_farm.submit_job(coordinator, kubo, job_files["files"] / "plain.blend")
            for _ in range(2)]
    worker = worker_factory(blender, "--max-jobs", "2")
    assert worker.wait(timeout=240) == 0, worker_log(worker)
    log = worker_log(worker)
    done = [demo_farm.get_job(coordinator, j["id"]) for j in jobs]
    # attempts count failed tries and expired leases (protocol.md): 0 = done on the first try
    assert [(j["status"], j["attempts"]) for j in done] == [("completed", 0)] * 2, log
    for job in done:
        png = demo_farm.fetch_result(kubo, job["result_cid"], tmp_path / f"ref-{job['id']}.png")
        assert kubo.only_hash(png) == job["result_cid"]
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(tmp_path).encode() not in data and b"/work/" not in data
        assert Image.open(png).text == {}
    assert done[0]["result_cid"] == done[1]["result_cid"]
