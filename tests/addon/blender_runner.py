"""How the add-on tests run Blender: Debian's ``blender`` 3.4 binary and the ``bpy`` 5.0.1
module (``.venv/bin/python``), each as a child process so a crash or hang stays there.

``BLENDERS`` is the pytest parameter list; ``run_bpy_script(kind, script, args)`` runs a
script in one of them and returns the CompletedProcess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADDON_PARENT = REPO / "addon"
HARNESS = Path(__file__).with_name("harness.py")
MAKE_FILES = Path(__file__).with_name("make_job_files.py")
DEBIAN_BLENDER = shutil.which("blender")

BLENDERS = [
    pytest.param("blender34", marks=[pytest.mark.blender, pytest.mark.skipif(
        DEBIAN_BLENDER is None, reason="Debian's blender is not installed")]),
    pytest.param("bpy50"),
]


def blender_env(tmp: Path) -> dict:
    """Environment isolating Blender's user config/scripts in ``tmp``."""
    env = dict(os.environ)
    env["BLENDER_USER_CONFIG"] = str(tmp / "blender-config")
    env["BLENDER_USER_SCRIPTS"] = str(tmp / "blender-scripts")
    return env


def command(kind: str, script: Path | None, args: list[str], expr: str | None = None) -> list:
    """The argv that runs ``script`` (or ``expr``) with ``args`` in Blender ``kind``."""
    if kind == "blender34":
        head = [DEBIAN_BLENDER, "-b", "--factory-startup"]
        head += ["--python-expr", expr] if expr else ["--python", str(script)]
        return head + ["--", *args]
    py = str(REPO / ".venv" / "bin" / "python")
    return [py, "-c", expr, *args] if expr else [py, str(script), *args]


def run_bpy_script(kind: str, script: Path, args: list[str], tmp: Path, timeout=180):
    return subprocess.run(command(kind, script, args), env=blender_env(tmp), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def make_job_files(tmp: Path) -> dict:
    """Generate the test job files with Debian's Blender 3.4 (or bpy 5.0 if absent:
    then only the 5.0 worker can open them). Returns dirs: files, markers, outside."""
    dirs = {k: tmp / k for k in ("files", "markers", "outside")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    kind = "blender34" if DEBIAN_BLENDER else "bpy50"
    proc = run_bpy_script(kind, MAKE_FILES, [str(dirs[k]) for k in ("files", "markers",
                                                                    "outside")], tmp)
    assert (dirs["files"] / "artist.blend").is_file(), proc.stdout + proc.stderr
    return dirs


def render_with_harness(kind: str, tmp: Path, blend: Path, **spec) -> dict:
    """Copy ``blend`` into a fresh job dir under ``tmp`` and render it with the harness.
    Returns the harness RESULT dict plus ``output_dir``, ``work_dir`` and ``log``."""
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
    proc = run_bpy_script(kind, HARNESS, [str(spec_path)], tmp)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, f"harness printed no RESULT (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1][len("RESULT "):])
    result.update(output_dir=out, work_dir=work, log=proc.stdout + proc.stderr)
    return result
