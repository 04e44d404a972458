"""Fixtures for the packaging tests: the artefacts `packaging/build` makes, and clean
environments to install them into.

- ``built``: runs ``packaging/build --dist <tmp>`` once per session on this working tree
  (the wheel's CMake build dir build/wheel-<tag> is reused, so a rebuild is incremental)
  and returns a ``Built`` with the paths and the build's printed report.
  FARMHAND_PACKAGING_DIST=DIR uses the artefacts an earlier `packaging/build --dist DIR`
  made instead (no second compile).
Shared constants and helpers (REPO_ROOT, VERSION, clean_env, load) are in pack_helpers.py.

Marker ``slow`` (registered here): the fresh-clone check; runs only with FARMHAND_SLOW=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack_helpers import REPO_ROOT, VERSION, clean_env  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: minutes-long check (fresh clone); FARMHAND_SLOW=1")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("FARMHAND_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set FARMHAND_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@dataclass
class Built:
    dist: Path
    wheel: Path              # the cp311 wheel (Blender 3.4-5.0)
    wheel_cp313: Path | None  # the cp313 wheel (Blender 5.1+), None where no Python 3.13
    extension_zip: Path
    legacy_zip: Path
    output: str          # what packaging/build printed (stdout + stderr)

    @property
    def wheels(self) -> list[Path]:
        """Every wheel built, in the order packaging/build lists them (cp311 first)."""
        return [self.wheel] + ([self.wheel_cp313] if self.wheel_cp313 else [])


def run_build(repo: Path, dist: Path, *args: str,
              timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run REPO/packaging/build --dist DIST ARGS in a clean environment; never raises on
    a non-zero exit (the caller asserts on it)."""
    return subprocess.run([str(repo / "packaging" / "build"), "--dist", str(dist), *args],
                          cwd=repo, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout)


def collect(dist: Path, output: str) -> Built:
    wheels = sorted(dist.glob(f"farmhand_core-{VERSION}-cp311-*.whl"))
    assert len(wheels) == 1, f"expected one cp311 wheel in {dist}: {list(dist.iterdir())}"
    cp313 = sorted(dist.glob(f"farmhand_core-{VERSION}-cp313-*.whl"))
    assert len(cp313) <= 1, f"expected at most one cp313 wheel in {dist}: {cp313}"
    return Built(dist=dist, wheel=wheels[0], wheel_cp313=cp313[0] if cp313 else None,
                 extension_zip=dist / f"farmhand-{VERSION}-linux-x64.zip",
                 legacy_zip=dist / f"farmhand-{VERSION}-legacy-linux-x64.zip", output=output)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    prebuilt = os.environ.get("FARMHAND_PACKAGING_DIST")
    if prebuilt:
        # Artefacts a `packaging/build --dist DIR` run already made from this tree (e.g. by
        # scripts/test), to avoid compiling the core twice; SHA256SUMS stands in for its output.
        dist = Path(prebuilt).resolve()
        report = "\n".join(f"  {name} {(dist / name).stat().st_size} bytes  sha256 {digest}"
                           for digest, name in (l.split("  ") for l in
                                                (dist / "SHA256SUMS").read_text().splitlines()))
        return collect(dist, report)
    dist = tmp_path_factory.mktemp("dist")
    result = run_build(REPO_ROOT, dist)
    assert result.returncode == 0, f"packaging/build failed:\n{result.stdout}\n{result.stderr}"
    return collect(dist, result.stdout + result.stderr)
