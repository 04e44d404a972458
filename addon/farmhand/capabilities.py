"""Which node, modifier and sequencer-strip types read or write files during evaluation,
classified per Blender version.

The classification of Blender X.Y lives in ``classified/blender-X.Y.json``:
``{"blender": "5.0", "nodes": {idname: "safe" | "refuse: <why>"}, "modifiers": {type: ...},
"strips": {type: ...}, "sources": {"nodes": {idname: "<where the verdict comes from>"},
...}}``. The running Blender uses its own version's file and no other: a Blender the add-on
has no file for (a newer release than the add-on knows, e.g. 5.3) fails closed, every job
refused with :class:`NotClassified` (code ``unclassified_blender``, retryable: a classified
worker can take it) and a message naming the Blender, the classified versions and the fix.
An older file cannot vouch for a newer Blender: a known type may read files in new ways.
``scripts/classify_capabilities.py`` (run inside each Blender) lists the running Blender's
types, checks them against its file and drafts a file for a new version (from the nearest
existing files); the test ``tests/addon/test_audit.py`` fails, in every cell, when a type
appears that the file does not classify or whose draft verdict nobody reviewed, so an
upgrade cannot open a hole silently. How a file is made and reviewed: docs/security.md.

On top of the tables, rules that do not depend on the version: any node with a file-path
socket or property (Geometry Nodes import nodes: their path can be computed at run time),
point caches on disk or external, Transform Cache constraints, custom (OSL) cameras,
Alembic/USD cache files and OpenVDB volumes with a file path (packed or not: Blender
reads the path) are refused; ocean modifiers only when they read a bake, multires only with
external data, Geometry Nodes modifiers only when a bake is stored on disk, IES textures
only in external mode.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import bpy

from .failures import JobRefused

CLASSIFIED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classified")
SAFE = "safe"


class NotClassified(JobRefused):
    """The running Blender has no classification file in this add-on (see module doc).
    ``version``: (major, minor) of the running Blender; ``available``: the classified
    versions. Retryable: another worker's Blender may be classified."""

    code = "unclassified_blender"

    def __init__(self, version: tuple, available: list):
        self.version = tuple(version[:2])
        self.available = list(available)
        name = f"{self.version[0]}.{self.version[1]}"
        known = ", ".join(f"{v[0]}.{v[1]}" for v in self.available) or "none"
        super().__init__(
            f"this worker's Blender {name} has no capability classification in its Farmhand "
            f"add-on (classified: {known}), so the audit cannot vouch for what its node, "
            "modifier and strip types read or write: update the Farmhand add-on, or share "
            "with a classified Blender (a maintainer makes the table with "
            "scripts/classify_capabilities.py --draft, see docs/security.md)")


@dataclass
class Classification:
    """One version's tables (see module doc). ``version``: (major, minor) of the file;
    ``exact``: whether it is the running Blender's own (always, from :func:`load`)."""

    version: tuple
    exact: bool
    nodes: dict
    modifiers: dict
    strips: dict

    @property
    def name(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


_CACHE: dict = {}


def available_versions() -> list[tuple]:
    """(major, minor) of every classification file, sorted."""
    out = []
    for name in os.listdir(CLASSIFIED_DIR):
        if name.startswith("blender-") and name.endswith(".json"):
            major, minor = name[len("blender-"):-len(".json")].split(".")
            out.append((int(major), int(minor)))
    return sorted(out)


def table_path(version: tuple) -> str:
    """Path of Blender ``version``'s (major, minor) classification file (may not exist)."""
    return os.path.join(CLASSIFIED_DIR, f"blender-{version[0]}.{version[1]}.json")


def read_table(version: tuple) -> dict:
    """The parsed classification file of Blender ``version`` (major, minor), ``sources``
    included. Raises FileNotFoundError when the add-on has none for it."""
    with open(table_path(version), encoding="utf-8") as f:
        return json.load(f)


def nearest_versions(version: tuple) -> list[tuple]:
    """The classified versions ordered by distance from ``version`` (older first at equal
    distance), distance counted in minor releases with a major release as 100: the order
    in which a draft for ``version`` takes verdicts from existing files."""
    key = tuple(version[:2])

    def distance(v):
        return (abs((v[0] * 100 + v[1]) - (key[0] * 100 + key[1])), v > key)

    return sorted((v for v in available_versions() if v != key), key=distance)


def load(version: tuple) -> Classification:
    """The classification for Blender ``version`` (major, minor), from its own file only.
    Raises :class:`NotClassified` when the add-on ships none for that version (fail
    closed, see module doc)."""
    version = tuple(version[:2])
    if version in _CACHE:
        return _CACHE[version]
    if not os.path.isfile(table_path(version)):
        raise NotClassified(version, available_versions())
    data = read_table(version)
    result = Classification(version, True, data["nodes"], data["modifiers"], data["strips"])
    _CACHE[version] = result
    return result


def for_running_blender() -> Classification:
    """:func:`load` for ``bpy.app.version``. Raises :class:`NotClassified`."""
    return load(bpy.app.version)


def strip_base():
    """The sequencer strip base class: ``bpy.types.Strip`` (Blender >= 4.4) or
    ``bpy.types.Sequence``."""
    return getattr(bpy.types, "Strip", None) or getattr(bpy.types, "Sequence")


def _table_verdict(table: dict, key: str, what: str, classes: Classification):
    verdict = table.get(key)
    if verdict is None:
        return (f"{what} '{key}'", f"not classified for Blender {classes.name}; a worker "
                "refuses types it does not know")
    if verdict == SAFE:
        return None
    return (f"{what} '{key}'", verdict[len("refuse: "):] if verdict.startswith("refuse: ")
            else verdict)


def node_path_inputs(node) -> list[str]:
    """Names of ``node``'s inputs and properties that hold a file path (sockets of a
    file-path string type, or properties with a path subtype)."""
    out = []
    for sock in getattr(node, "inputs", ()):
        prop = sock.bl_rna.properties.get("default_value")
        if prop is not None and prop.type == "STRING" and prop.subtype in (
                "FILE_PATH", "DIR_PATH", "FILE_NAME"):
            out.append(sock.name)
    for prop in node.bl_rna.properties:
        if prop.type == "STRING" and prop.subtype in ("FILE_PATH", "DIR_PATH", "FILE_NAME"):
            out.append(prop.identifier)
    return out


def _node_refusal(node, classes):
    idname = node.bl_idname
    label = f"node '{idname}'"
    if idname == "ShaderNodeTexIES" and getattr(node, "mode", "") != "EXTERNAL":
        return None  # IES data from a text block inside the .blend
    verdict = _table_verdict(classes.nodes, idname, "node", classes)
    if verdict is not None:
        return verdict
    paths = node_path_inputs(node)
    if paths:
        return (label, f"takes a file path ({', '.join(paths)}) that it reads or writes "
                "during evaluation")
    return None


def _modifier_refusal(mod, classes):
    verdict = _table_verdict(classes.modifiers, mod.type, "modifier", classes)
    if verdict is not None:
        return verdict
    label = f"modifier '{mod.type}'"
    if mod.type == "OCEAN" and getattr(mod, "is_cached", False):
        return (label, "reads a baked ocean from disk")
    if mod.type == "MULTIRES" and getattr(mod, "is_external", False):
        return (label, "reads its displacement from an external file")
    if mod.type == "NODES":
        disk = getattr(mod, "bake_target", "PACKED") == "DISK"
        for bake in getattr(mod, "bakes", ()):
            target = getattr(bake, "bake_target", "INHERIT")
            if target == "DISK" or (target == "INHERIT" and disk):
                return (label, "reads a Geometry Nodes bake stored on disk")
    return None


def refusal(struct, classes: Classification):
    """(feature, why) if ``struct`` (a node, modifier, strip, point cache, constraint,
    camera, cache file or volume) reads or writes files during evaluation; else None."""
    if isinstance(struct, bpy.types.Node):
        return _node_refusal(struct, classes)
    if isinstance(struct, bpy.types.Modifier):
        return _modifier_refusal(struct, classes)
    if isinstance(struct, strip_base()):
        return _table_verdict(classes.strips, struct.type, "strip", classes)
    if isinstance(struct, bpy.types.PointCache):
        if struct.use_external:
            return ("external point cache", "reads simulation data from disk")
        if struct.use_disk_cache:
            return ("point cache on disk", "writes and reads simulation data on disk")
        return None
    if isinstance(struct, bpy.types.Constraint) and struct.type == "TRANSFORM_CACHE":
        return ("Transform Cache constraint", "reads an Alembic/USD file during evaluation")
    if isinstance(struct, bpy.types.Camera) and struct.type == "CUSTOM":
        return ("custom (OSL) camera", "runs an OSL script read from a file")
    if isinstance(struct, bpy.types.CacheFile):
        return ("Alembic/USD cache", "reads a cache file during evaluation")
    if isinstance(struct, getattr(bpy.types, "Volume", ())) and (
            struct.filepath or not struct.packed_file):
        # packed or not: Blender reads a volume from its file path (BKE_volume_load)
        return ("OpenVDB volume", "reads .vdb files during evaluation, from its file path "
                "even when packed")
    return None
