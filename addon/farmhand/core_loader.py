"""The one place the add-on imports the native core ``farmhand_core``.

Order: a plain ``import farmhand_core`` first (a wheel installed into Blender's
site-packages, as a Blender >= 4.2 extension ships it, or a dev build on
``sys.path``/``FARMHAND_CORE_PATH``), then the copy inside this add-on's own ``vendor/``
directory (the legacy add-on zip for Blender 3.4-4.1).

``vendor/farmhand_core`` may carry the compiled module for several Pythons side by side
(``_native.cpython-311-x86_64-linux-gnu.so`` for Blender 3.4-5.0,
``_native.cpython-313-...`` for Blender 5.1+): Python's import system loads the one whose
suffix is in ``importlib.machinery.EXTENSION_SUFFIXES`` of the running interpreter. When a
directory holds only other ABIs, the error says which ones it holds and which this Blender
needs (:func:`abi_mismatch`).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys

VENDOR_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor")


class CoreMissing(ImportError):
    """``farmhand_core`` could not be imported from any of the places above."""


def native_builds(package_dir: str) -> list[str]:
    """File names of the compiled ``_native`` modules in ``package_dir`` (sorted), e.g.
    ``['_native.cpython-311-x86_64-linux-gnu.so', '_native.cpython-313-x86_64-linux-gnu.so']``;
    empty when the directory is missing."""
    try:
        names = os.listdir(package_dir)
    except OSError:
        return []
    return sorted(n for n in names if n.startswith("_native.") and n.endswith((".so", ".pyd")))


def abi_mismatch(package_dir: str) -> str | None:
    """None when ``package_dir`` holds a ``_native`` build this Python can load (or none at
    all); otherwise a sentence naming the builds found and the suffix this Python needs."""
    builds = native_builds(package_dir)
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    if not builds or any(b == "_native" + s for b in builds for s in suffixes):
        return None
    return (f"it holds {', '.join(builds)} but this Blender's Python "
            f"{sys.version_info.major}.{sys.version_info.minor} needs _native{suffixes[0]}")


def load_core():
    """Return the ``farmhand_core`` module.

    Raises CoreMissing, naming every place tried and the import errors seen.
    """
    errors = []
    extra = os.environ.get("FARMHAND_CORE_PATH")
    if extra and extra not in sys.path:
        sys.path.insert(0, extra)
    try:
        return importlib.import_module("farmhand_core")
    except ImportError as exc:
        errors.append(f"site-packages/sys.path: {exc}")
        mismatch = abi_mismatch(os.path.join(extra, "farmhand_core")) if extra else None
        if mismatch:
            errors.append(f"FARMHAND_CORE_PATH={extra}: {mismatch}")
    vendored = os.path.join(VENDOR_DIR, "farmhand_core")
    if os.path.isdir(vendored):
        mismatch = abi_mismatch(vendored)
        if mismatch:
            errors.append(f"{VENDOR_DIR}: {mismatch}")
        else:
            sys.path.insert(0, VENDOR_DIR)
            try:
                return importlib.import_module("farmhand_core")
            except ImportError as exc:
                errors.append(f"{VENDOR_DIR}: {exc}")
                sys.path.remove(VENDOR_DIR)
    else:
        errors.append(f"{VENDOR_DIR}: no farmhand_core directory")
    raise CoreMissing(
        "farmhand_core (the Farmhand native core) is not importable; tried "
        + "; ".join(errors)
        + ". Install the Farmhand add-on built for this Blender's Python "
        f"({sys.version_info.major}.{sys.version_info.minor}) or run scripts/setup.")
