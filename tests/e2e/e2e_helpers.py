"""Helpers shared by the e2e tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "addon"))

import demo_farm  # noqa: E402  (scripts/ is on sys.path: tests/conftest.py)

CORE_PATH = os.environ.get("FARMHAND_CORE_PATH",
                           str(demo_farm.REPO / "build" / "release" / "python"))

WORKERS = [
    pytest.param("debian", marks=pytest.mark.skipif(demo_farm.DEBIAN_BLENDER is None,
                                                    reason="Debian's blender not installed")),
    pytest.param("bpy"),
]


def worker_log(proc) -> str:
    """What the worker process wrote so far (stdout and stderr)."""
    return (proc.home / "worker.log").read_text(errors="replace")
