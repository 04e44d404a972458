"""Load packaging/lib/*.py by path (packaging/ is not a Python package: a top-level
`packaging` package would shadow the PyPI `packaging` library that pytest and pip use)."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LIB = REPO_ROOT / "packaging" / "lib"
VERSION = (REPO_ROOT / "VERSION").read_text().strip()
BLENDER = shutil.which("blender")
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
# Blender's own extension tool, as the bpy module ships it (validate, install-files, ...).
BPY_EXT_CLI = next(
    (REPO_ROOT / ".venv" / "lib").glob("python3.*/site-packages/bpy/*/scripts/addons_core/"
                                       "bl_pkg/cli/blender_ext.py"), None)


def clean_env(**extra: str) -> dict:
    """os.environ minus what would let Blender import farmhand_core from the source tree
    instead of the installed copy (PYTHONPATH, FARMHAND_CORE_PATH, PYTHONHOME)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "FARMHAND_CORE_PATH", "PYTHONHOME")}
    env.update(extra)
    return env


def load(name: str):
    if str(LIB) not in sys.path:
        sys.path.insert(0, str(LIB))  # make_addon_zips imports its siblings by name
    spec = importlib.util.spec_from_file_location(f"farmhand_packaging_{name}", LIB / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
