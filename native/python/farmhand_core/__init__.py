"""Farmhand's native core as a Python package.

The compiled half lives in ``farmhand_core._native`` (C++20, pybind11). This package
re-exports it: identity and signed-challenge auth (``Identity``, ``BackendClient``),
IPFS transfer and UnixFS hashing (``farmhand_core.ipfs``), ``.blend`` header
validation (``farmhand_core.blend``) and the job engine (``Engine``).

Every error is a ``FarmhandError`` subclass with ``kind`` (str) and ``http_status``
(int) attributes; see ``docs/architecture.md``.
"""

from ._native import *  # noqa: F401,F403
from ._native import __version__  # noqa: F401

# The star import above also binds the compiled submodules _native.ipfs, .blend and .sandbox
# under these names; the Python modules of the same names are the documented surface.
# (`from . import ipfs` would keep the compiled one: the attribute already exists.) The
# launcher farmhand_core.sandbox is imported on demand (python -m farmhand_core.sandbox).
import importlib as _importlib  # noqa: E402

ipfs = _importlib.import_module(".ipfs", __name__)
blend = _importlib.import_module(".blend", __name__)
