"""A fresh machine's view: `git clone` of the committed tree, then `packaging/build` there
makes every artefact (cp311 wheel, cp313 wheel where Python 3.13 is built, extension and
legacy zips) and prints their names, sizes and SHA-256.

Reused from this machine to keep it to one compile: the clone's .venv and tools/ are
symlinks to this checkout's (the pinned Python packages and kubo that scripts/setup
installs); the apt packages are the machine's. Everything else (the CMake build dir
build/wheel-<tag>, dist/) starts empty. Slow (a full compile of the core): FARMHAND_SLOW=1.
"""

import hashlib
import re
import subprocess

import pytest

import blender_cells
from pack_helpers import REPO_ROOT, VERSION
from conftest import collect, run_build

PY313 = blender_cells.cell("bpy52")


@pytest.mark.slow
def test_clean_clone_builds_wheel_extension_and_legacy_zips(tmp_path):
    clone = tmp_path / "farmhand"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True,
                   timeout=300)
    assert not (clone / "build").exists() and not (clone / "dist").exists()
    for shared in (".venv", "tools"):
        (clone / shared).symlink_to(REPO_ROOT / shared)

    result = run_build(clone, clone / "dist", timeout=1800)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    built = collect(clone / "dist", result.stdout + result.stderr)
    artefacts = [built.wheel, built.extension_zip, built.legacy_zip]
    if PY313.missing() is None:  # scripts/setup built the bpy 5.2 cell's Python 3.13
        assert built.wheel_cp313 is not None, built.output[-3000:]
    if built.wheel_cp313 is not None:
        artefacts.append(built.wheel_cp313)
    for path in artefacts:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert re.search(rf"{re.escape(path.name)}\s+{path.stat().st_size} bytes\s+sha256 {digest}",
                         built.output), built.output
    sums = (clone / "dist" / "SHA256SUMS").read_text().splitlines()
    assert sorted(line.split("  ")[1] for line in sums) == sorted(p.name for p in artefacts)
    assert f"farmhand-{VERSION}-legacy-linux-x64.zip" in built.output
