"""Fixtures for the web front end tests: a farm whose coordinator knows kubo's API and
gateway, the demo scene saved by Debian's Blender 3.4, and a Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "coordinator"))
from browser import chromium, need_chromium  # noqa: E402
from e2e_helpers import demo_farm  # noqa: E402


@pytest.fixture
def farm(coordinator_factory, kubo):
    """A coordinator (--dev) wired to the session's kubo."""
    return coordinator_factory("--ipfs-api", kubo.api_url, "--gateway-url", kubo.gateway_url)


@pytest.fixture(scope="session")
def demo_scene(tmp_path_factory) -> Path:
    """scripts/demo_scene.py's scene (64x48, 4 samples, frames 1-6), saved by Blender 3.4
    when installed so every worker opens it."""
    out = tmp_path_factory.mktemp("web-scene") / "demo.blend"
    return demo_farm.generate_scene(out, "--frames", "1-6")


@pytest.fixture(scope="session")
def browser():
    need_chromium()
    with chromium() as b:
        yield b
