"""The one place the add-on imports the native core ``farmhand_core``.

Order: a plain ``import farmhand_core`` first (a wheel installed into Blender's
site-packages, as a Blender >= 4.2 extension ships it, or a dev build on
``sys.path``/``FARMHAND_CORE_PATH``), then the copy inside this add-on's own ``vendor/``
directory (the legacy add-on zip for Blender 3.4-4.1).
"""

from __future__ import annotations

import importlib
import os
import sys

VENDOR_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor")


class CoreMissing(ImportError):
    """``farmhand_core`` could not be imported from any of the places above."""


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
    if os.path.isdir(os.path.join(VENDOR_DIR, "farmhand_core")):
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
