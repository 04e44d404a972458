"""A job that blows the memory ceiling: Blender under the node launcher with --memory-max 1G
renders a cube subdivided 11 levels (25 M faces), its allocations fail, Blender crashes and
writes its crash report into <work dir>/tmp (the launcher's TMPDIR; the bpy module writes
none). Restarted like systemd would, the worker reports the job failed with the crash report
in its log tail, records it as crashed in its journal, and renders the next job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import blender_cells
from e2e_helpers import WORKERS, demo_farm  # noqa: F401  (sys.path: conftest.py)
from matrix import cell_params

# The cells whose worker has been run under the sandbox launcher (4.5 not yet). The bpy 5.2
# (Python 3.13) worker exits at start under the launcher here: open work (issue 9), added back
# once it runs.
SANDBOXED_CELLS = cell_params(names=("blender34", "bpy42", "bpy50"))

SUBDIVIDED = """
import bpy, sys
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.samples = 1
scene.render.resolution_x = scene.render.resolution_y = 32
bpy.ops.mesh.primitive_cube_add()
mod = bpy.context.active_object.modifiers.new("Subdivision", "SUBSURF")
mod.levels, mod.render_levels = 1, {levels}
cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
cam.location = (5, -5, 5)
cam.rotation_euler = (0.95, 0, 0.785)
scene.collection.objects.link(cam)
scene.camera = cam
bpy.context.preferences.filepaths.save_version = 0
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1], compress=False)
"""


def save_scene(blender: str, out, levels: int) -> None:
    cmd = blender_cells.cell(blender).argv(expr=SUBDIVIDED.format(levels=levels), args=[out])
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)


@pytest.mark.parametrize("blender", SANDBOXED_CELLS)
def test_memory_bomb_crashes_blender_once_then_the_worker_skips_it(blender, tmp_path,
                                                                    coordinator, kubo):
    save_scene(blender, tmp_path / "bomb.blend", 11)
    save_scene(blender, tmp_path / "small.blend", 1)
    bomb = demo_farm.submit_job(coordinator, kubo, tmp_path / "bomb.blend", frames=[1],
                                max_attempts=3)["id"]
    home = tmp_path / "node"
    home.mkdir()
    env = dict(os.environ)
    scripts = demo_farm.addon_scripts_dir(home)
    cell = blender_cells.cell(blender)
    core = os.environ.get("FARMHAND_CORE_PATH", str(cell.core_path))
    env.update(BLENDER_USER_SCRIPTS=str(scripts), BLENDER_USER_CONFIG=str(home / "config"),
               FARMHAND_CORE_PATH=core,
               PYTHONPATH=os.pathsep.join([str(scripts / "addons"), core]))
    work, key = home / "work", home / "worker.key"
    worker = demo_farm.worker_command(blender, [
        "--backend", coordinator.url, "--ipfs-rpc", kubo.api_url, "--key-file", str(key),
        "--work-dir", str(work), "--poll-wait", "1", "--prefetch", "0", "--online"])
    reads = [str(demo_farm.REPO / "addon"), str(demo_farm.REPO / ".venv"),
             os.path.realpath(demo_farm.REPO / ".venv")]
    if cell.is_module:  # the bpy module's venv
        reads += [str(cell.python.parent.parent), os.path.realpath(cell.python.parent.parent)]
    launcher = [sys.executable, "-m", "farmhand_core.sandbox", "--work-dir", str(work),
                "--key-file", str(key), "--memory-max", "1G",
                *[a for p in reads for a in ("--read", p)], "--", *worker]

    def start():
        log = open(home / "worker.log", "ab")
        return subprocess.Popen(launcher, env=env, cwd=home, stdout=log,
                                stderr=subprocess.STDOUT)

    first = start()
    try:
        first.wait(timeout=300)  # Blender dies on the bomb
    except subprocess.TimeoutExpired:
        first.kill()
        pytest.fail("the worker survived a 25 M-face subdivision under a 1 GiB data limit:\n"
                    + (home / "worker.log").read_text()[-3000:])
    log = (home / "worker.log").read_text(errors="replace")
    assert first.returncode != 0, log[-3000:]
    # Blender's crash handler writes <temp>/<file>.crash.txt; the bpy module installs none.
    report = not cell.is_module
    crash_files = [p.name for p in (work / "tmp").glob("*.crash.txt")]
    assert crash_files == (["scene.crash.txt"] if report else []), log[-3000:]

    small = demo_farm.submit_job(coordinator, kubo, tmp_path / "small.blend", frames=[1])["id"]
    second = start()  # systemd's Restart=on-failure
    try:
        done = demo_farm.wait_for_job(coordinator, small, timeout=180, worker=second)
        assert done["status"] == "completed", done
        failed = demo_farm.get_job(coordinator, bomb)
        assert failed["error"] == "worker crashed while rendering"
        assert f"job {bomb}: handed to Blender" in failed["log_tail"]
        assert ("--- Blender crash report (scene.crash.txt) ---" in failed["log_tail"]) == report
        assert (work / f"job-{bomb}" / "blender.crash.txt").is_file() == report
        time.sleep(2)  # the bomb is pending again: this worker leaves it to others
        assert demo_farm.get_job(coordinator, bomb)["status"] == "pending"
    finally:
        second.terminate()
        second.wait(timeout=60)
    # The coordinator no longer offers it here either (docs/protocol.md "Poison tasks"); the
    # worker's own record survives restarts in its journal.
    journal = json.loads((work / "journal.json").read_text())
    assert [(e["id"], e["state"]) for e in journal["jobs"]] == [(str(bomb), "crashed")]
