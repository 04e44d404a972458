"""Hostile-file defences, applied to a job's data before anything is evaluated or rendered.

A job file comes from a stranger. The rules (issue 5, "Hostile files"):

- no Python from the file ever runs: files are opened with ``use_scripts=False``; on top of
  that every scripted driver that needs Python (``not driver.is_simple_expression``) is
  removed, text blocks lose their "Register" flag, and Cycles' OSL script nodes are
  disabled (``scene.cycles.shading_system = False``);
- compositor File Output nodes are removed (they write anywhere on disk);
- every external path (linked libraries, images, sounds, movie clips, fonts, Alembic/USD
  caches, volumes) must be packed, or relative and resolve inside the job directory;
  otherwise the job is refused with :class:`JobRejected` before anything renders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import bpy

# bpy.data collections whose IDs carry an external ``filepath``, and their names in messages.
_PATH_COLLECTIONS = {"libraries": "library", "images": "image", "sounds": "sound",
                     "movieclips": "movie clip", "fonts": "font", "cache_files": "cache file",
                     "volumes": "volume"}
_FILE_OUTPUT_IDNAME = "CompositorNodeOutputFile"


class JobRejected(Exception):
    """The job file breaks a safety rule; ``str(exc)`` says which data and why.

    Not retryable: every worker would refuse the same file.
    """


@dataclass
class Neutralised:
    """What :func:`neutralise` changed (for the job's log line)."""

    python_drivers: list[str] = field(default_factory=list)
    file_output_nodes: list[str] = field(default_factory=list)
    text_modules: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"removed {len(self.python_drivers)} Python driver(s), "
                f"{len(self.file_output_nodes)} File Output node(s); "
                f"{len(self.text_modules)} text block(s) unregistered")


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


def _is_packed(id_) -> bool:
    if getattr(id_, "packed_file", None) is not None:
        return True
    return bool(getattr(id_, "packed_files", None))


def _skip_path_check(kind: str, id_) -> bool:
    if _is_packed(id_):
        return True
    if kind == "images" and id_.source in {"GENERATED", "VIEWER"}:
        return True
    if kind == "fonts" and id_.filepath == "<builtin>":
        return True
    return not id_.filepath


def _inside(path: str, root: str) -> bool:
    real = os.path.realpath(path)
    root = os.path.realpath(root)
    return real == root or real.startswith(root + os.sep)


def check_external_paths(job_dir: str, ids=None, allow_absolute: bool = False) -> None:
    """Refuse external paths that are absolute or resolve outside ``job_dir``.

    ``ids``: restrict the check to these IDs (GUI strategy: only what the job added);
    None = everything in ``bpy.data``. ``allow_absolute``: accept an absolute path when it
    resolves inside ``job_dir`` (appended data has its relative paths rebased by Blender).
    Raises JobRejected listing every offending datablock and its path.
    """
    wanted = None if ids is None else {i.as_pointer() for i in ids}
    problems = []
    for kind, label in _PATH_COLLECTIONS.items():
        for id_ in getattr(bpy.data, kind, ()):
            if wanted is not None and id_.as_pointer() not in wanted:
                continue
            if _skip_path_check(kind, id_):
                continue
            raw = id_.filepath
            lib = getattr(id_, "library", None)
            if not raw.startswith("//") and os.path.isabs(raw) and not allow_absolute:
                problems.append(f"{label} '{id_.name}' uses the absolute path {raw!r}")
                continue
            resolved = bpy.path.abspath(raw, library=lib) if lib else bpy.path.abspath(raw)
            if not _inside(resolved, job_dir):
                problems.append(f"{label} '{id_.name}' path {raw!r} resolves outside the "
                                f"job directory ({resolved})")
    if problems:
        raise JobRejected(
            "job file refers to files outside its job directory: " + "; ".join(problems)
            + ". Pack external data into the .blend (File > External Data > Pack Resources) "
            "and submit it again.")


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
        if isinstance(id_, bpy.types.Scene) and hasattr(id_, "cycles"):
            id_.cycles.shading_system = False  # no OSL: script nodes can read files
    return report
