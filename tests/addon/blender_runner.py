"""How the add-on tests run Blender: every cell of the Blender matrix (Debian's ``blender``
3.4 binary and the ``bpy`` 4.2, 4.5, 5.0.1 and 5.2 modules; scripts/blender_cells.py), each as
a child process so a crash or hang stays there.

``BLENDERS`` is the pytest parameter list (one param per cell, id = cell name, marked with
the cell's name: ``pytest -m bpy52`` runs one cell); ``cell_params(...)`` makes a narrower
list; ``run_bpy_script(kind, script, args)`` runs a script in one of them and returns the
CompletedProcess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import blender_cells  # scripts/ (tests/conftest.py puts it on sys.path)
from matrix import cell_params  # tests/matrix.py

REPO = Path(__file__).resolve().parents[2]
ADDON_PARENT = REPO / "addon"
HARNESS = Path(__file__).with_name("harness.py")
MAKE_FILES = Path(__file__).with_name("make_job_files.py")
DEBIAN_BLENDER = shutil.which("blender")


BLENDERS = cell_params()


def blender_env(tmp: Path) -> dict:
    """Environment isolating Blender's user config/scripts in ``tmp``."""
    env = dict(os.environ)
    env["BLENDER_USER_CONFIG"] = str(tmp / "blender-config")
    env["BLENDER_USER_SCRIPTS"] = str(tmp / "blender-scripts")
    return env


def command(kind: str, script: Path | None, args: list[str], expr: str | None = None) -> list:
    """The argv that runs ``script`` (or ``expr``) with ``args`` in Blender ``kind`` (a cell
    name or alias, see scripts/blender_cells.py)."""
    return blender_cells.cell(kind).argv(script, args, expr=expr)


def core_path(kind: str) -> str:
    """The built farmhand_core for ``kind``'s Python (FARMHAND_CORE_PATH wins when set)."""
    return os.environ.get("FARMHAND_CORE_PATH") or str(blender_cells.cell(kind).core_path)


def run_bpy_script(kind: str, script: Path, args: list[str], tmp: Path, timeout=180,
                   env: dict | None = None):
    """Run ``script`` in Blender ``kind`` (blender_env of ``tmp``, plus ``env``)."""
    return subprocess.run(command(kind, script, args), env={**blender_env(tmp), **(env or {})},
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def make_job_files(tmp: Path) -> dict:
    """Generate the test job files with the oldest Blender here (Debian's 3.4, so every cell
    can open them). Returns dirs: files, markers, outside."""
    dirs = {k: tmp / k for k in ("files", "markers", "outside")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    kind = blender_cells.oldest_available().name
    proc = run_bpy_script(kind, MAKE_FILES, [str(dirs[k]) for k in ("files", "markers",
                                                                    "outside")], tmp)
    assert (dirs["files"] / "artist.blend").is_file(), proc.stdout + proc.stderr
    return dirs


def render_with_harness(kind: str, tmp: Path, blend: Path, env: dict | None = None,
                        **spec) -> dict:
    """Copy ``blend`` into a fresh job dir under ``tmp`` and render it with the harness
    (``env``: extra environment variables for Blender). Returns the harness RESULT dict plus
    ``output_dir``, ``work_dir``, ``log`` and ``returncode`` (Blender's exit status after it
    printed the result)."""
    work = tmp / f"job-{kind}-{blend.stem}-{spec.get('strategy', 'opened')}"
    out = work / "output"
    work.mkdir(parents=True)
    job_blend = work / "job.blend"
    shutil.copyfile(blend, job_blend)
    full = {"addon_parent": str(ADDON_PARENT), "strategy": "opened", "blend": str(job_blend),
            "work_dir": str(work), "output_dir": str(out), "frames": [], "format": "PNG",
            "device": "CPU", "artist": None, "autorun": True, **spec}
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(full))
    proc = run_bpy_script(kind, HARNESS, [str(spec_path)], tmp, env=env)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, f"harness printed no RESULT (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1][len("RESULT "):])
    result.update(output_dir=out, work_dir=work, log=proc.stdout + proc.stderr,
                  returncode=proc.returncode)
    return result
