"""Shared pytest fixtures: the real services every integration test talks to.

- ``kubo``: one isolated kubo daemon for the whole session (scripts/localfarm/kubo.py).
- ``coordinator``: a fresh coordinator on its own SQLite file per test.
- ``coordinator_factory``: start coordinators with extra `serve` flags
  (e.g. ``coordinator_factory("--lease-seconds", "2")``). They run ``--trusted`` (no .blend
  header reads, result checks or spot verification: the protocol tests use made-up CIDs)
  unless started with ``trusted=False`` (then pass ``--ipfs-api`` of a real kubo).
- ``farmhand_core``: the built extension module (build/release/python, or
  FARMHAND_CORE_PATH).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(REPO_ROOT))
CORE_PATH = Path(os.environ.get("FARMHAND_CORE_PATH", REPO_ROOT / "build" / "release" / "python"))
sys.path.insert(0, str(CORE_PATH))

from localfarm import Coordinator, Kubo  # noqa: E402
import blender_cells  # noqa: E402


def pytest_configure(config):
    # One marker per Blender matrix cell (scripts/blender_cells.py): `pytest -m bpy52`.
    for cell in blender_cells.CELLS.values():
        config.addinivalue_line("markers", f"{cell.name}: runs in the {cell.label} cell")


@pytest.fixture(scope="session")
def kubo():
    with Kubo.start() as node:
        yield node


@pytest.fixture
def coordinator_factory(tmp_path):
    started = []

    def start(*extra_args: str, trusted: bool = True) -> Coordinator:
        db = tmp_path / f"coordinator-{len(started)}.sqlite"
        coord = Coordinator.start(db, *(("--trusted",) if trusted else ()), *extra_args)
        started.append(coord)
        return coord

    yield start
    for coord in started:
        coord.stop()


@pytest.fixture
def coordinator(coordinator_factory):
    return coordinator_factory()


@pytest.fixture(scope="session")
def farmhand_core():
    import farmhand_core as module
    return module
