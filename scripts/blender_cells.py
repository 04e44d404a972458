"""The Blender matrix: every Blender Farmhand is tested in ("cells"), in one table.

    cell       Blender                      Python  how it runs a script
    blender34  Debian 12's ``blender`` 3.4   3.11    blender -b --factory-startup --python S -- ARGS
    bpy42      ``bpy`` 4.2 LTS (newest 4.2.x) 3.11   $FARMHAND_CACHE/venvs/bpy42/bin/python S ARGS
    bpy45      ``bpy`` 4.5 LTS (newest 4.5.x) 3.11   $FARMHAND_CACHE/venvs/bpy45/bin/python S ARGS
    bpy50      ``bpy`` 5.0.1                  3.11   .venv/bin/python S ARGS
    bpy52      ``bpy`` 5.2 LTS (newest 5.2.x) 3.13   $FARMHAND_CACHE/venvs/bpy52/bin/python S ARGS

scripts/setup makes the environments (scripts/lib/cells.sh: the same table, with the pins in
requirements/<cell>.txt). Tests (tests/addon/blender_runner.py, tests/e2e), the demo
(``scripts/demo --blender bpy52``) and the packaging tests all take their Blenders from here,
so a new cell is one line in CELLS and one requirements file.

Names accepted everywhere a cell is named: the cell names above, and the older aliases
``debian`` (blender34) and ``bpy`` (bpy50).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("FARMHAND_CACHE", "/var/cache/farmhand"))
ALIASES = {"debian": "blender34", "bpy": "bpy50"}


@dataclass(frozen=True)
class Cell:
    """One Blender of the matrix.

    ``series``: (major, minor) the cell's Blender reports in ``bpy.app.version``.
    ``python_tag``: the CPython ABI tag its Python needs (``cp311``, ``cp313``).
    ``binary``: path of a Blender executable (Debian's), or None for a ``bpy`` module cell.
    ``python``: the interpreter with ``bpy`` installed (module cells), or None.
    """

    name: str
    series: tuple[int, int]
    python_tag: str
    binary: str | None = None
    python: Path | None = None

    @property
    def label(self) -> str:
        """For people: ``bpy 5.2 (cp313)``, ``Debian Blender 3.4 (cp311)``."""
        kind = "bpy" if self.is_module else "Debian Blender"
        return f"{kind} {self.series[0]}.{self.series[1]} ({self.python_tag})"

    @property
    def is_module(self) -> bool:
        """True for a ``bpy``-module cell (a Python interpreter runs the script)."""
        return self.name != "blender34"

    @property
    def has_extensions(self) -> bool:
        """True when this Blender installs extensions (>= 4.2); older ones take legacy zips."""
        return self.series >= (4, 2)

    @property
    def version_number(self) -> int:
        """``bpy.app.version`` as the .blend header writes it: 5.2 -> 502."""
        return self.series[0] * 100 + self.series[1]

    @property
    def core_path(self) -> Path:
        """The build tree's staged farmhand_core for this cell's Python ABI."""
        build = "release" if self.python_tag == "cp311" else f"release-{self.python_tag}"
        return REPO / "build" / build / "python"

    def missing(self) -> str | None:
        """Why this cell cannot run here (a sentence naming what to install), or None."""
        if not self.is_module:
            return None if self.binary else "Debian's blender is not installed (scripts/setup)"
        if self.python is None or not self.python.exists():
            return (f"{self.label}: {self.python} is missing: run scripts/setup "
                    "(it makes the cell's environment in the cache)")
        return None

    def argv(self, script: str | Path | None = None, args=(), expr: str | None = None,
             factory_startup: bool = True) -> list[str]:
        """The command line that runs ``script`` (or the Python ``expr``) with ``args`` in this
        Blender. A Blender binary gets ``-b`` (and ``--factory-startup`` unless told not to)."""
        if (script is None) == (expr is None):
            raise ValueError("give exactly one of script or expr")
        if not self.is_module:
            head = [self.binary or "blender", "-b"]
            head += ["--factory-startup"] if factory_startup else []
            head += ["--python-expr", expr] if expr else ["--python", str(script)]
            return [*head, "--", *map(str, args)]
        head = [str(self.python), "-c", expr] if expr else [str(self.python), str(script)]
        return [*head, *map(str, args)]


def _cells() -> dict[str, Cell]:
    venvs = CACHE / "venvs"
    table = [
        Cell("blender34", (3, 4), "cp311", binary=shutil.which("blender")),
        Cell("bpy42", (4, 2), "cp311", python=venvs / "bpy42" / "bin" / "python"),
        Cell("bpy45", (4, 5), "cp311", python=venvs / "bpy45" / "bin" / "python"),
        Cell("bpy50", (5, 0), "cp311", python=REPO / ".venv" / "bin" / "python"),
        Cell("bpy52", (5, 2), "cp313", python=venvs / "bpy52" / "bin" / "python"),
    ]
    return {c.name: c for c in table}


CELLS = _cells()
NAMES = [*CELLS, *ALIASES]


def cell(name: str) -> Cell:
    """The cell called ``name`` (or an alias). Raises KeyError naming the valid names."""
    try:
        return CELLS[ALIASES.get(name, name)]
    except KeyError:
        raise KeyError(f"unknown Blender cell {name!r}; one of {', '.join(NAMES)}") from None


def oldest_available() -> Cell:
    """The oldest cell that can run here: job files saved by it open in every other cell."""
    for c in CELLS.values():
        if c.missing() is None:
            return c
    raise RuntimeError("no Blender is available: run scripts/setup")
