"""pytest parameters for the Blender matrix (the cells of scripts/blender_cells.py), for any
test that should run in every Blender: ``@pytest.mark.parametrize("kind", cell_params())``.

Each param's value and id is the cell name (``blender34``, ``bpy42``, ``bpy45``, ``bpy50``,
``bpy52``); it carries a marker of the same name (``pytest -m bpy52`` runs one cell; the
markers are registered in tests/conftest.py) and is skipped, with the reason, where that
Blender is not installed (scripts/setup installs them all).
"""

from __future__ import annotations

import pytest

import blender_cells


def cell_params(min_series: tuple[int, int] | None = None, names=None,
                max_series: tuple[int, int] | None = None) -> list:
    """pytest params for the matrix cells (value and id: the cell name), optionally only
    ``names`` or those whose Blender is in [``min_series``, ``max_series``]. Each is marked
    with its cell name (and ``blender`` for Debian's binary) and skipped, with the reason,
    where its Blender is not installed (scripts/setup installs every cell)."""
    out = []
    for cell in blender_cells.CELLS.values():
        if names is not None and cell.name not in names:
            continue
        if min_series is not None and cell.series < min_series:
            continue
        if max_series is not None and cell.series > max_series:
            continue
        # (order kept from before the matrix: Debian's param is [blender, skipif, ...])
        marks = [] if cell.is_module else [pytest.mark.blender]
        missing = cell.missing()
        marks.append(pytest.mark.skipif(missing is not None, reason=missing or ""))
        marks.append(getattr(pytest.mark, cell.name))
        out.append(pytest.param(cell.name, marks=marks, id=cell.name))
    return out
