"""farmhand.compat pinned in every cell of the Blender matrix: files written by the oldest
Blender (with compat's own helpers) read back in each Blender, and the values compat gives
there are the ones that Blender version's release notes promise:

- EEVEE's engine id: BLENDER_EEVEE in 3.4, BLENDER_EEVEE_NEXT in 4.2-4.5, BLENDER_EEVEE
  again from 5.0 (a 3.4 EEVEE file opens as EEVEE Next in 4.x);
- the compositor: a tree embedded in the scene up to 4.5, a node group ID from 5.0
  (3.4's embedded tree is converted on load), File Output path kept across the change;
- sequencer strips: ``ImageSequence`` up to 4.3, ``ImageStrip`` from 4.4 (Sequence -> Strip);
- slotted actions from 4.4: the cube's rotation F-curves are found either way;
- a ``bpy.app.timers`` timer pending at exit: the bpy 4.2 and 4.5 modules crash or hang
  unless compat unregisters it (the process must exit 0 in every cell);
- a Python driver evaluated (as Blender does on loading a job file with one): the bpy 4.2
  module crashes and 4.5 hangs at exit unless compat drops ``bpy`` from the driver namespace.
"""

from __future__ import annotations

import json
import subprocess

import pytest

import blender_cells
from blender_runner import ADDON_PARENT, BLENDERS, blender_env, core_path

PROBE = __file__.replace("test_compat.py", "compat_probe.py")


def _run(kind, mode, out_dir, tmp_path):
    argv = blender_cells.cell(kind).argv(PROBE, [mode, out_dir])
    proc = subprocess.run(argv, env=blender_env(tmp_path), capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def compat_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("compat")
    _run(blender_cells.oldest_available().name, "make", out, out)
    return out


@pytest.mark.parametrize("kind", BLENDERS)
def test_compat_reads_the_oldest_blenders_files_as_this_version_names_them(
        kind, compat_files, tmp_path):
    proc = _run(kind, "probe", compat_files, tmp_path)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    version = tuple(result["version"])
    assert version == blender_cells.cell(kind).series

    eevee = "BLENDER_EEVEE_NEXT" if (4, 2) <= version < (5, 0) else "BLENDER_EEVEE"
    assert (result["EEVEE"], result["eevee_engine"], result["eevee_family"]) == (
        eevee, eevee, "EEVEE")

    assert result["compositor_embedded"] is (version < (5, 0))
    assert result["file_output_paths"] == ["//out/shot_"]

    strip_type = "ImageStrip" if version >= (4, 4) else "ImageSequence"
    assert result["strips"] == [["Plate", strip_type, "//", "plate.png"]]

    assert result["slotted"] is (version >= (4, 4))
    assert result["fcurves"] == [["rotation_euler", i, 2] for i in range(3)]


ENABLE_AND_EXIT = """
import bpy, addon_utils
addon_utils.enable('farmhand', default_set=True, handle_error=None)
from farmhand import compat
print('TIMER_GUARD', compat.TIMERS_BREAK_EXIT)
"""


@pytest.mark.parametrize("kind", BLENDERS)
def test_process_exits_0_with_the_add_ons_timer_pending(kind, tmp_path):
    # The add-on registers a timer when enabled; in a bpy module nothing runs timers, so it is
    # still pending at exit. bpy 4.2 crashed (SIGSEGV) and bpy 4.5 hung forever there until
    # compat.register_timer unregistered it at exit.
    cell = blender_cells.cell(kind)
    scripts = tmp_path / "blender-scripts" / "addons"
    scripts.mkdir(parents=True)
    (scripts / "farmhand").symlink_to(ADDON_PARENT / "farmhand")
    env = blender_env(tmp_path)
    env["FARMHAND_CORE_PATH"] = core_path(kind)
    if cell.is_module:
        env["PYTHONPATH"] = str(scripts)
    proc = subprocess.run(cell.argv(expr=ENABLE_AND_EXIT), env=env, capture_output=True,
                          text=True, timeout=90)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    guard = cell.is_module and (4, 2) <= cell.series < (5, 0)
    assert f"TIMER_GUARD {guard}" in proc.stdout


DRIVER_AND_EXIT = """
import sys
sys.path.insert(0, {addon!r})
import bpy
from farmhand import safety  # what every job imports (and with it compat)
from farmhand import compat
cube = bpy.data.objects.new('Cube', None)
bpy.context.scene.collection.objects.link(cube)
fcurve = cube.driver_add('location', 0)
fcurve.driver.type = 'SCRIPTED'
fcurve.driver.expression = "len('ab') + frame * 0"  # not a simple expression: Python runs
bpy.context.scene.frame_set(2)
print('DRIVER_PYTHON', not fcurve.driver.is_simple_expression)
print('BPY_IN_DRIVER_NAMESPACE', 'bpy' in bpy.app.driver_namespace)
print('EXIT_HOOK', compat.BPY_PINNED_AT_EXIT)
"""


@pytest.mark.parametrize("kind", BLENDERS)
def test_process_exits_0_after_blender_evaluated_a_python_driver(kind, tmp_path):
    # Blender evaluates a job file's Python driver once, restricted, before the add-on removes
    # it (driver.blend in test_job_rendering). From then on the driver namespace holds the bpy
    # module, so WM_exit never ran: the bpy 4.2 module crashed (SIGSEGV) and 4.5 hung forever
    # at exit (Blender bug #146640: a static destructor waits on the audio thread) until
    # compat dropped it there.
    cell = blender_cells.cell(kind)
    proc = subprocess.run(cell.argv(expr=DRIVER_AND_EXIT.format(addon=str(ADDON_PARENT))),
                          env=blender_env(tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "DRIVER_PYTHON True" in proc.stdout
    assert "BPY_IN_DRIVER_NAMESPACE True" in proc.stdout
    hook = cell.is_module and (4, 2) <= cell.series < (5, 0)
    assert f"EXIT_HOOK {hook}" in proc.stdout
