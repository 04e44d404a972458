"""End-to-end fixtures: job files, a local farm per test (kubo is session-wide), and
headless workers in any cell of the Blender matrix (scripts/demo_farm.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_helpers import core_path, demo_farm, stop_worker  # noqa: E402
from blender_runner import make_job_files  # noqa: E402


@pytest.fixture(scope="session")
def job_files(tmp_path_factory):
    return make_job_files(tmp_path_factory.mktemp("e2e-jobfiles"))


@pytest.fixture
def worker_factory(tmp_path, coordinator, kubo):
    """start(blender, *args, home=None) -> Popen; every worker is stopped at teardown
    (SIGTERM, then SIGKILL after 30 s)."""
    started = []

    def start(blender: str, *args: str, home: Path | None = None) -> subprocess.Popen:
        home = home or tmp_path / f"worker-{len(started)}"
        proc = demo_farm.start_worker(coordinator, kubo, home, blender, list(args),
                                      core_path=core_path(blender))
        proc.home = home  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop_worker(proc)

