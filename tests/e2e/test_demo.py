"""scripts/demo end to end (setup skipped: the tools are there): it prints the result CID,
the page URL and the rendered PNG, and the PNG is what the CID names."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from e2e_helpers import CORE_PATH, demo_farm
from matrix import cell_params

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("blender", [pytest.param(None, id="default"),
                                     *cell_params(names=["bpy52"])])
def test_demo_prints_the_result_cid_page_and_png_of_a_completed_job(blender, kubo):
    # default: the oldest Blender here (Debian's 3.4); bpy52: the README's
    # `scripts/demo --blender bpy52`, a worker in bpy 5.2 on Python 3.13.
    # FARMHAND_CORE_PATH is the cp311 build: the demo's coordinator (Python 3.11) imports it;
    # a bpy 5.2 worker finds no cp313 module there and loads the add-on's vendor/ copy.
    env = dict(os.environ, FARMHAND_DEMO_SKIP_SETUP="1", FARMHAND_CORE_PATH=CORE_PATH)
    argv = [str(demo_farm.REPO / "scripts" / "demo")] + (["--blender", blender] if blender else [])
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if blender:
        assert "headless worker started (bpy 5.2 (cp313))" in proc.stdout, proc.stdout
    cid = re.search(r"^result CID:\s+(\S+)$", proc.stdout, re.M).group(1)
    page = re.search(r"^page:\s+(\S+)$", proc.stdout, re.M).group(1)
    png = Path(re.search(r"^rendered:\s+(\S+)$", proc.stdout, re.M).group(1))
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/web/#/job/\d+", page)
    assert kubo.only_hash(png) == cid
    assert Image.open(png).size == (64, 48)
