"""CLI: `submit` adds the scene to a real kubo and creates the job; `jobs` lists them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from coord_helpers import get_job
from coordinator.cli import parse_frames

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "coordinator", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_submit_adds_scene_to_kubo_and_creates_the_job(kubo, coordinator, tmp_path):
    scene = tmp_path / "scene.blend"
    scene.write_bytes(b"BLENDER-v300" + os.urandom(300_000))
    result = _cli("submit", str(scene), "--frames", "1-3", "--format", "JPEG", "--reward",
                  "2.50", "--priority", "30", "--url", coordinator.url, "--ipfs-api",
                  kubo.api_url)
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert words[0] == "job" and words[2] == "cid"
    job_id, cid = int(words[1]), words[3]
    assert cid == kubo.only_hash(scene)
    job = get_job(coordinator.url, job_id)
    assert (job["asset_cid"], job["frames"], job["output_format"], job["reward"]) == (
        cid, [1, 2, 3], "JPEG", "2.50")
    assert (job["status"], job["priority"]) == ("pending", 30)
    out = tmp_path / "fetched"
    kubo.cli("get", cid, "-o", str(out))
    assert out.read_bytes() == scene.read_bytes()

    listing = _cli("jobs", "--url", coordinator.url)
    assert listing.returncode == 0, listing.stderr
    assert any(line.split()[:2] == [str(job_id), "pending"]
               for line in listing.stdout.splitlines())
    # piped into a reader that stops reading (`| head`, here `| true`): no traceback
    env = dict(os.environ, PYTHONPATH=REPO)
    piped = subprocess.run(f"'{sys.executable}' -m coordinator jobs --url {coordinator.url} "
                           "| true",
                           shell=True, executable="/bin/bash", cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr


def test_submit_with_unreachable_kubo_fails_with_a_message(coordinator, tmp_path):
    scene = tmp_path / "scene.blend"
    scene.write_bytes(b"BLENDER")
    result = _cli("submit", str(scene), "--url", coordinator.url,
                  "--ipfs-api", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach kubo" in result.stderr


def test_submit_missing_file_fails_with_a_message(coordinator, tmp_path):
    result = _cli("submit", str(tmp_path / "absent.blend"), "--url", coordinator.url)
    assert result.returncode == 1
    assert "is not a file" in result.stderr


def test_parse_frames_ranges_and_lists():
    assert parse_frames("1-3") == [1, 2, 3]
    assert parse_frames("1,5, 9") == [1, 5, 9]
    assert parse_frames("2-3,7") == [2, 3, 7]
    assert parse_frames("-2") == [-2]
    with pytest.raises(ValueError):
        parse_frames("5-1")
    with pytest.raises(ValueError):
        parse_frames("a-b")


def test_submit_refused_by_the_coordinator_reports_its_error(kubo, coordinator, tmp_path):
    scene = tmp_path / "scene.blend"
    scene.write_bytes(b"BLENDER" + os.urandom(1000))
    result = _cli("submit", str(scene), "--reward", "lots", "--url", coordinator.url,
                  "--ipfs-api", kubo.api_url)
    assert result.returncode == 1
    assert "coordinator refused the job (422) validation_error" in result.stderr
    assert "reward" in result.stderr


def test_jobs_with_unreachable_coordinator_fails_with_a_message():
    result = _cli("jobs", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach the coordinator" in result.stderr
