"""A job that blows the memory ceiling: Blender under the node launcher with --memory-max 1G
renders a cube subdivided 11 levels (25 M faces), its allocations fail, Blender crashes and
writes its crash report into <work dir>/tmp (the launcher's TMPDIR; the bpy module writes
none); under strace, nothing (the crash report included) is written outside the work dir.
The worker's peak RSS (wait4's ru_maxrss) stays under the 1 GiB ceiling. Restarted
like systemd would, the worker reports the job failed (code ``crashed``) with the crash report
in its log tail, records it as crashed in its journal, and renders the next job. Every cell
of the matrix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

import blender_cells
import strace_log
from e2e_helpers import demo_farm  # (sys.path: conftest.py)
from matrix import cell_params
from sandboxed_worker import child_pid, sandboxed_worker, stop, wait_peak_rss

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


@pytest.mark.parametrize("blender", cell_params())
def test_memory_bomb_crashes_blender_once_then_the_worker_skips_it(blender, tmp_path,
                                                                    coordinator, kubo):
    save_scene(blender, tmp_path / "bomb.blend", 11)
    save_scene(blender, tmp_path / "small.blend", 1)
    bomb = demo_farm.submit_job(coordinator, kubo, tmp_path / "bomb.blend", frames=[1],
                                max_attempts=3)["id"]
    node = sandboxed_worker(blender, tmp_path / "node", coordinator, kubo, memory_max="1G")
    cell = blender_cells.cell(blender)
    home, work = node.home, node.work

    def start(trace=None):
        log = open(home / "worker.log", "ab")
        strace = ["strace", "-f", "-y", "-s", "512", "-e", "trace=%file", "-o", str(trace)]
        return subprocess.Popen([*(strace if trace else []), *node.launcher], env=node.env,
                                cwd=home, stdout=log, stderr=subprocess.STDOUT)

    # The first run under strace: where the crash report and everything else is written.
    trace = tmp_path / "trace.txt" if shutil.which("strace") else None
    first = start(trace)
    tracee = child_pid(first.pid, exec_done=True) if trace else first.pid
    try:
        peak = wait_peak_rss(first, timeout=300)  # Blender dies on the bomb
    except subprocess.TimeoutExpired:
        stop(first, tracee, timeout=5)
        pytest.fail("the worker survived a 25 M-face subdivision under a 1 GiB data limit:\n"
                    + (home / "worker.log").read_text()[-3000:])
    log = (home / "worker.log").read_text(errors="replace")
    assert first.returncode != 0, log[-3000:]
    # The ceiling held: the worker's peak RSS stayed under --memory-max (a job that needs
    # more fails; the node's memory is never the job's).
    print(f"{blender}: peak RSS {peak / (1 << 20):.0f} MiB under --memory-max 1G")
    assert 200 << 20 < peak <= 1 << 30, peak
    # Blender's crash handler writes <temp>/<file>.crash.txt; the bpy module installs none.
    report = not cell.is_module
    crash_files = [p.name for p in (work / "tmp").glob("*.crash.txt")]
    assert crash_files == (["scene.crash.txt"] if report else []), log[-3000:]
    if trace:  # nothing, the crash report included, was written outside the work dir
        worker = node.worker
        accesses = strace_log.parse(trace.read_text(errors="replace"), str(home),
                                    after=f'execve("{worker[0]}", ["{worker[0]}", "{worker[1]}"')
        assert len(accesses) > 500, "the trace did not follow the worker"
        inside = {str(work), os.path.realpath(work), "/dev/null"}
        assert [a.line for a in accesses if a.ok and a.write
                and not strace_log.within(a.path, inside)] == []
        crash_report = str(work / "tmp" / "scene.crash.txt")
        assert any(a.ok and a.write and a.path == crash_report for a in accesses) == report

    small = demo_farm.submit_job(coordinator, kubo, tmp_path / "small.blend", frames=[1])["id"]
    second = start()  # systemd's Restart=on-failure
    try:
        done = demo_farm.wait_for_job(coordinator, small, timeout=180, worker=second)
        assert done["status"] == "completed", done
        failed = demo_farm.get_job(coordinator, bomb)
        assert failed["error"] == "worker crashed while rendering"
        assert failed["error_code"] == "crashed"  # docs/protocol.md failure codes
        assert f"job {bomb}: handed to Blender" in failed["log_tail"]
        assert ("--- Blender crash report (scene.crash.txt) ---" in failed["log_tail"]) == report
        assert (work / f"job-{bomb}" / "blender.crash.txt").is_file() == report
        time.sleep(2)  # the bomb is pending again: this worker leaves it to others
        assert demo_farm.get_job(coordinator, bomb)["status"] == "pending"
    finally:
        stop(second)
    # The coordinator no longer offers it here either (docs/protocol.md "Poison tasks"); the
    # worker's own record survives restarts in its journal.
    journal = json.loads((work / "journal.json").read_text())
    assert [(e["id"], e["state"]) for e in journal["jobs"]] == [(str(bomb), "crashed")]
