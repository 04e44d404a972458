"""A render node end to end from what packaging built: install.sh puts the legacy zip into
a temporary Blender 3.4 user scripts dir, then the headless command line
(`blender -b --python-expr "import farmhand; farmhand.run_headless()"`) takes a real job
from the real coordinator, fetches the .blend from the real kubo, renders it and submits
a result CID that kubo holds. The same zip runs a bpy 5.2 node on Python 3.13."""

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import blender_cells
from pack_helpers import BLENDER, REPO_ROOT, clean_env

pytestmark = [pytest.mark.e2e, pytest.mark.blender,
              pytest.mark.skipif(BLENDER is None, reason="Debian's blender binary not installed")]

HEADLESS = "import farmhand; farmhand.run_headless()"


def make_blend(path: Path) -> None:
    """The project's sample scene, 32x24, saved by Blender 3.4 (oldest worker Blender)."""
    expr = ("import sys; sys.path.insert(0, sys.argv[-2]); from demo_scene import build_scene; "
            "import bpy; build_scene((32, 24), samples=2, frame_range=(1, 1)); "
            "bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1])")
    subprocess.run([BLENDER, "-b", "--factory-startup", "-noaudio", "--python-expr", expr, "--",
                    str(REPO_ROOT / "scripts"), str(path)], check=True, capture_output=True,
                   timeout=300, env=clean_env())
    assert path.stat().st_size > 0


def test_installed_legacy_add_on_renders_a_real_job_headless(built, kubo, coordinator, tmp_path):
    from coordinator.submit import submit

    scripts = tmp_path / "scripts"
    install = subprocess.run([str(REPO_ROOT / "packaging" / "node" / "install.sh"),
                              str(built.legacy_zip)], capture_output=True, text=True,
                             timeout=300, env=clean_env(BLENDER_USER_SCRIPTS=str(scripts)))
    assert install.returncode == 0, install.stdout + install.stderr

    blend = tmp_path / "scene.blend"
    make_blend(blend)
    job = submit(blend, frames=[1], output_format="PNG", reward="1.50", max_attempts=1,
                 url=coordinator.url, ipfs_api=kubo.api_url, admin_token=None)

    env = clean_env(BLENDER_USER_SCRIPTS=str(scripts), BLENDER_USER_CONFIG=str(tmp_path / "cfg"),
                    PYTHONNOUSERSITE="1", XDG_CACHE_HOME=str(tmp_path / "cache"))
    started = time.monotonic()
    run = subprocess.run(
        [BLENDER, "-b", "--factory-startup", "-noaudio", "--python-expr", HEADLESS, "--",
         "--backend", coordinator.url, "--ipfs-rpc", kubo.api_url,
         "--key-file", str(tmp_path / "worker.key"), "--work-dir", str(tmp_path / "work"),
         "--max-jobs", "1", "--poll-wait", "2"],
        capture_output=True, text=True, timeout=480, env=env)
    elapsed = time.monotonic() - started
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-6000:]
    # The add-on that ran is the installed copy, not the source tree.
    assert str(REPO_ROOT / "addon") not in log

    done = httpx.get(f"{coordinator.url}/api/v1/jobs/{job['id']}", timeout=10).json()
    assert done["status"] == "completed", done
    result_cid = done["result_cid"]
    assert result_cid.startswith(("Qm", "bafy"))
    # kubo holds the result, and its bytes are what the worker said it rendered.
    out = tmp_path / "result"
    kubo.cli("get", "-o", str(out), result_cid)
    files = sorted(p for p in ([out] if out.is_file() else out.rglob("*")) if p.is_file())
    data = b"".join(p.read_bytes() for p in files)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert hashlib.sha256(data).hexdigest() == done["sha256"]
    print(f"headless job {job['id']} rendered and submitted in {elapsed:.1f} s "
          f"(result {result_cid}, {len(data)} bytes)", file=sys.stderr)


def test_legacy_zip_runs_a_bpy_5_2_node_on_python_3_13(built, kubo, coordinator, tmp_path):
    # The README's bpy-module node: the legacy zip unpacked into a directory on PYTHONPATH,
    # `python -c "import farmhand; farmhand.run_headless()"` in a Python 3.13 with bpy 5.2.
    # Its vendor/ carries both cores; Python 3.13 must load the cp313 one.
    import zipfile

    from coordinator.submit import submit

    cell = blender_cells.cell("bpy52")
    if cell.missing():
        pytest.skip(cell.missing())
    addons = tmp_path / "addons"
    zipfile.ZipFile(built.legacy_zip).extractall(addons)
    blend = tmp_path / "scene.blend"
    make_blend(blend)
    job = submit(blend, frames=[1], output_format="PNG", reward="1.50", max_attempts=1,
                 url=coordinator.url, ipfs_api=kubo.api_url, admin_token=None)
    env = clean_env(PYTHONPATH=str(addons), PYTHONNOUSERSITE="1",
                    BLENDER_USER_CONFIG=str(tmp_path / "cfg"),
                    BLENDER_USER_SCRIPTS=str(tmp_path / "scripts"),
                    XDG_CACHE_HOME=str(tmp_path / "cache"))
    run = subprocess.run(
        [str(cell.python), "-c", HEADLESS, "--backend", coordinator.url,
         "--ipfs-rpc", kubo.api_url, "--key-file", str(tmp_path / "worker.key"),
         "--work-dir", str(tmp_path / "work"), "--max-jobs", "1", "--poll-wait", "2",
         "--online"], capture_output=True, text=True, timeout=480, env=env)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-6000:]
    assert str(REPO_ROOT / "addon") not in log
    done = httpx.get(f"{coordinator.url}/api/v1/jobs/{job['id']}", timeout=10).json()
    assert done["status"] == "completed", done
    assert ": Blender 5.2." in log, log[-3000:]  # the worker's start line names its Blender
    png = tmp_path / "result.png"
    kubo.cli("get", "-o", str(png), done["result_cid"])
    assert kubo.only_hash(png) == done["result_cid"]
    assert hashlib.sha256(png.read_bytes()).hexdigest() == done["sha256"]
