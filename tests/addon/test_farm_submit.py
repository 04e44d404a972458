"""*Render on the farm* from the bpy 5.0.1 module, end to end: an unsaved scene with a packed
and an external image is packed into a copy, uploaded through farmhand_core into real kubo,
submitted to a real coordinator, rendered by a real headless worker (the bpy module: the copy
is saved by 5.0), and its frames land in the scene's output folder, verified against the
job's result CID; the artist's session is unchanged (no file path, the external image still
external, same datablocks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_helpers import CORE_PATH, demo_farm  # noqa: E402

pytestmark = pytest.mark.e2e


def test_render_on_the_farm_lands_verified_frames_and_leaves_the_session(
        coordinator_factory, kubo, farmhand_core, tmp_path):
    coord = coordinator_factory("--ipfs-api", kubo.api_url, "--gateway-url", kubo.gateway_url)
    worker = demo_farm.start_worker(coord, kubo, tmp_path / "worker", "bpy",
                                    core_path=CORE_PATH)
    external = tmp_path / "external.png"
    Image.new("RGB", (4, 4), (10, 200, 30)).save(external)
    packed = tmp_path / "packed.png"
    Image.new("RGB", (4, 4), (200, 10, 30)).save(packed)
    out_dir = tmp_path / "renders"
    spec = {"addon_parent": str(REPO / "addon"), "scripts": str(REPO / "scripts"),
            "backend": coord.url, "ipfs": kubo.api_url,
            "key_file": str(tmp_path / "creator.key"), "out_dir": str(out_dir),
            "external_png": str(external), "packed_png": str(packed), "chunk": 1}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, FARMHAND_CORE_PATH=CORE_PATH,
               BLENDER_USER_CONFIG=str(tmp_path / "config"),
               BLENDER_USER_SCRIPTS=str(tmp_path / "scripts"))
    try:
        proc = subprocess.run([str(REPO / ".venv" / "bin" / "python"),
                               str(Path(__file__).with_name("farm_submit_script.py")),
                               str(spec_path)], capture_output=True, text=True, timeout=900,
                              env=env, cwd=tmp_path)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(line[-1][len("RESULT "):])
    assert "error" not in result, result.get("traceback")
    assert result["state"] == "done", (result["message"], proc.stderr[-3000:])
    job = result["job"]
    assert job["status"] == "completed" and job["frames"] == [1, 2]
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["frame_0001.png", "frame_0002.png"]
    assert farmhand_core.ipfs.cid_of(out_dir) == job["result_cid"]
    assert [Image.open(out_dir / n).size for n in names] == [(32, 24)] * 2
    # The artist's session: still unsaved, the external image still external, nothing added.
    assert result["before"] == result["after"]
    assert result["after"]["filepath"] == ""
    assert ["ExternalTexture", False, str(external)] in result["after"]["images"]
    assert ["PackedTexture", True, str(packed)] in result["after"]["images"]
    # The uploaded copy had the external image packed: its CID is what kubo holds.
    assert kubo.cli("pin", "ls", "--type=recursive", "--quiet").count(result["asset_cid"]) == 1
