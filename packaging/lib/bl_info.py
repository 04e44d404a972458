"""Read and rewrite the ``bl_info`` literal of an add-on's ``__init__.py``.

Blender (3.x-4.1) reads ``bl_info`` without running the module: it parses the file with
``ast`` and evaluates the dict with ``ast.literal_eval`` (scripts/modules/addon_utils.py,
``fake_module``). So ``bl_info`` must stay a literal dict, and packaging can rewrite its
``"version"`` tuple textually, leaving every other byte of the file alone.
"""

from __future__ import annotations

import ast


class BlInfoError(ValueError):
    """The source has no literal ``bl_info`` dict with a ``"version"`` entry."""


def _version_node(source: str) -> ast.expr:
    tree = ast.parse(source)
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "bl_info"):
            if not isinstance(node.value, ast.Dict):
                raise BlInfoError("bl_info must be a literal dict (Blender parses it with ast)")
            for key, value in zip(node.value.keys, node.value.values):
                if isinstance(key, ast.Constant) and key.value == "version":
                    return value
            raise BlInfoError('bl_info has no "version" entry: add "version": (0, 1, 0)')
    raise BlInfoError("no top-level `bl_info = {...}` found in the add-on's __init__.py")


def read_bl_info(source: str) -> dict:
    """The ``bl_info`` dict of ``source`` (text of an ``__init__.py``), as Blender sees it.

    Raises BlInfoError if it is missing or not a literal."""
    _version_node(source)  # validates the shape
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "bl_info":
            return ast.literal_eval(node.value)
    raise BlInfoError("unreachable")


def stamp_version(source: str, version: str) -> str:
    """Return ``source`` with bl_info["version"] replaced by ``version`` ("1.2.3" -> (1, 2, 3)).

    Raises BlInfoError if bl_info is missing or not a literal, ValueError if ``version`` is
    not three dot-separated integers."""
    parts = version.strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"version must be MAJOR.MINOR.PATCH, got {version!r}")
    node = _version_node(source)
    lines = source.splitlines(keepends=True)
    # ast offsets are UTF-8 byte columns; convert through bytes to stay exact.
    start = sum(len(l.encode()) for l in lines[: node.lineno - 1]) + node.col_offset
    end = sum(len(l.encode()) for l in lines[: node.end_lineno - 1]) + node.end_col_offset
    data = source.encode()
    literal = "(" + ", ".join(str(int(p)) for p in parts) + ")"
    return (data[:start] + literal.encode() + data[end:]).decode()
