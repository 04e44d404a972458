"""Helpers shared by the e2e tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "addon"))

import blender_cells  # noqa: E402  (scripts/ is on sys.path: tests/conftest.py)
import demo_farm  # noqa: E402
from blender_runner import cell_params, core_path  # noqa: E402

CORE_PATH = os.environ.get("FARMHAND_CORE_PATH",
                           str(demo_farm.REPO / "build" / "release" / "python"))

# Every cell of the Blender matrix (scripts/blender_cells.py); values are cell names, which
# demo_farm accepts beside the older "debian" and "bpy".
WORKERS = cell_params()


def worker_log(proc) -> str:
    """What the worker process wrote so far (stdout and stderr)."""
    return (proc.home / "worker.log").read_text(errors="replace")


def stop_worker(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Stop a headless worker as its service would: SIGTERM (a graceful stop: the job it
    holds is handed back), then SIGKILL if it has not exited after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
