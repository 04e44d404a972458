"""The GUI worker (timer-driven, append strategy) against real kubo and the coordinator,
with an artist's file open and Auto Run on: jobs complete, a hostile job fails with its
reason, no Python from a job runs, and the artist's datablocks are identical afterwards."""

from __future__ import annotations

import json
import subprocess

import pytest

import demo_farm
from blender_runner import ADDON_PARENT, blender_env, command
from e2e_helpers import CORE_PATH, HERE, WORKERS

pytestmark = pytest.mark.e2e
KINDS = {"debian": "blender34", "bpy": "bpy50"}


@pytest.mark.parametrize("blender", WORKERS)
def test_gui_worker_renders_jobs_without_touching_the_artists_file(
        blender, coordinator, kubo, job_files, tmp_path):
    files = job_files["files"]
    jobs = [demo_farm.submit_job(coordinator, kubo, files / name, frames=[2], max_attempts=1)
            for name in ("driver.blend", "autorun.blend", "abspath.blend")]
    spec = {
        "addon_parent": str(ADDON_PARENT), "tests_addon": str(HERE.parent / "addon"),
        "artist": str(files / "artist.blend"), "jobs": len(jobs), "timeout_s": 150,
        "settings": {"backend_url": coordinator.url, "ipfs_rpc_urls": [kubo.api_url],
                     "gateway_urls": [], "key_file": str(tmp_path / "worker.key"),
                     "work_dir": str(tmp_path / "work"), "poll_wait_s": 2}}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    env = blender_env(tmp_path)
    env["FARMHAND_CORE_PATH"] = CORE_PATH
    proc = subprocess.run(command(KINDS[blender], HERE / "gui_driver.py", [str(spec_path)]),
                          env=env, capture_output=True, text=True, timeout=240)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    result = json.loads(lines[-1][len("RESULT "):])

    states = [demo_farm.get_job(coordinator, j["id"]) for j in jobs]
    assert [s["status"] for s in states] == ["completed", "completed", "failed"], proc.stderr
    assert "uses the absolute path" in states[2]["error"] or "outside" in states[2]["error"]
    assert (result["jobs_done"], result["jobs_failed"]) == (2, 1)
    assert result["before"] == result["after"]
    assert result["frame_restored"]
    assert not list(job_files["markers"].iterdir()), "Python from a job file ran (Auto Run on)"
