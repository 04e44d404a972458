"""Hostile-file defences, applied to a job's data before anything is evaluated or rendered.

A job file comes from a stranger. The rules (issue 5, "Hostile files"):

- no Python from the file ever runs: files are opened with ``use_scripts=False``; on top of
  that every scripted driver that needs Python (``not driver.is_simple_expression``) is
  removed, text blocks lose their "Register" flag, and Cycles' OSL script nodes are
  disabled (``scene.cycles.shading_system = False``);
- compositor File Output nodes are removed (they write anywhere on disk);
- Render > Performance > Cache Result is turned off in every scene: Blender writes the render
  result to ``<temp dir>/cached_RR_<file>_<scene name>_<md5>.exr``, and the job names the
  scene ("a/../../x" wrote an EXR outside the job dir in 3.4 and bpy 5.0, found by a review
  on 2026-12-03; a plain name still writes into the shared temp dir);
- everything else a file could make Blender read or write (every path property, file-reading
  nodes/modifiers/strips/caches, missing external files) is the capability audit's
  (:mod:`audit`), run right after :func:`neutralise`, before anything is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from . import compat  # noqa: F401  (its exit hook: a job's driver pins bpy in 4.5's module)
from .failures import JobRefused

_FILE_OUTPUT_IDNAME = "CompositorNodeOutputFile"

# The worker refuses the file (not retryable: every worker would); :mod:`failures`.
JobRejected = JobRefused


@dataclass
class Neutralised:
    """What :func:`neutralise` changed (for the job's log line)."""

    python_drivers: list[str] = field(default_factory=list)
    file_output_nodes: list[str] = field(default_factory=list)
    text_modules: list[str] = field(default_factory=list)
    render_caches: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"removed {len(self.python_drivers)} Python driver(s), "
                f"{len(self.file_output_nodes)} File Output node(s); "
                f"{len(self.text_modules)} text block(s) unregistered"
                + (f"; Cache Result turned off in {len(self.render_caches)} scene(s)"
                   if self.render_caches else ""))


def all_ids():
    """Every ID in ``bpy.data`` (all collections), as a list."""
    out = []
    for name in dir(bpy.data):
        coll = getattr(bpy.data, name, None)
        if isinstance(coll, bpy.types.bpy_prop_collection) and name not in ("window_managers",
                                                                           "screens",
                                                                           "workspaces"):
            for item in coll:
                if isinstance(item, bpy.types.ID):
                    out.append(item)
    return out


def _with_embedded(ids):
    """The IDs plus their embedded IDs (material/world/scene node trees, shape keys)."""
    for id_ in ids:
        yield id_
        tree = getattr(id_, "node_tree", None)
        if isinstance(tree, bpy.types.ID):
            yield tree
        group = getattr(id_, "compositing_node_group", None)
        if isinstance(group, bpy.types.ID):
            yield group


def _remove_python_drivers(ids, report: Neutralised) -> None:
    for id_ in _with_embedded(ids):
        anim = getattr(id_, "animation_data", None)
        if anim is None:
            continue
        for fcurve in list(anim.drivers):
            drv = fcurve.driver
            if drv.type == "SCRIPTED" and not drv.is_simple_expression:
                report.python_drivers.append(
                    f"{id_.name}.{fcurve.data_path}[{fcurve.array_index}]: {drv.expression!r}")
                anim.drivers.remove(fcurve)


def _remove_file_output_nodes(ids, report: Neutralised) -> None:
    for id_ in _with_embedded(ids):
        if not isinstance(id_, bpy.types.NodeTree):
            continue
        for node in list(id_.nodes):
            if node.bl_idname == _FILE_OUTPUT_IDNAME:
                report.file_output_nodes.append(f"{id_.name}/{node.name}")
                id_.nodes.remove(node)


def neutralise(ids=None) -> Neutralised:
    """Strip everything in ``ids`` (default: all of ``bpy.data``) that could run Python or
    write outside the job's output dir. Call before any depsgraph evaluation."""
    ids = all_ids() if ids is None else list(ids)
    report = Neutralised()
    _remove_python_drivers(ids, report)
    _remove_file_output_nodes(ids, report)
    for id_ in ids:
        if isinstance(id_, bpy.types.Text) and id_.use_module:
            id_.use_module = False
            report.text_modules.append(id_.name)
        if isinstance(id_, bpy.types.Scene):
            if hasattr(id_, "cycles"):
                id_.cycles.shading_system = False  # no OSL: script nodes can read files
            if id_.render.use_render_cache:  # writes <temp>/cached_RR_..._<scene name>...
                id_.render.use_render_cache = False
                report.render_caches.append(id_.name)
    return report
