"""Which node, modifier and sequencer-strip types read or write files during evaluation,
classified per Blender version.

The classification of Blender X.Y lives in ``classified/blender-X.Y.json``:
``{"blender": "5.0", "nodes": {idname: "safe" | "refuse: <why>"}, "modifiers": {type: ...},
"strips": {type: ...}}``. The running Blender uses its own version's file, or else the
newest older one (a worker on a Blender no file exists for still refuses what the older
file refuses, and refuses every type that file does not know: "not classified for Blender
X.Y"). ``scripts/classify_capabilities.py`` (run inside each Blender) lists the running
Blender's types, checks them against the file and drafts a file for a new version; the
test ``tests/addon/test_audit.py`` fails when a type appears that the file does not
classify, so an upgrade cannot open a hole silently.

On top of the tables, rules that do not depend on the version: any node with a file-path
socket or property (Geometry Nodes import nodes: their path can be computed at run time),
point caches on disk or external, Transform Cache constraints, custom (OSL) cameras,
Alembic/USD cache files and unpacked OpenVDB volumes are refused; ocean modifiers only when
they read a bake, multires only with external data, Geometry Nodes modifiers only when a
bake is stored on disk, IES textures only in external mode.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import bpy

CLASSIFIED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classified")
SAFE = "safe"


@dataclass
class Classification:
    """One version's tables (see module doc). ``version``: (major, minor) of the file;
    ``exact``: whether it is the running Blender's own."""

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


def load(version: tuple) -> Classification:
    """The classification for Blender ``version`` (major, minor): its own file, else the
    newest older one (``exact`` False), else the oldest. Raises FileNotFoundError if the
    add-on ships none."""
    version = tuple(version[:2])
    if version in _CACHE:
        return _CACHE[version]
    versions = available_versions()
    if not versions:
        raise FileNotFoundError(f"no capability classification in {CLASSIFIED_DIR}")
    older = [v for v in versions if v <= version]
    chosen = older[-1] if older else versions[0]
    with open(os.path.join(CLASSIFIED_DIR, f"blender-{chosen[0]}.{chosen[1]}.json"),
              encoding="utf-8") as f:
        data = json.load(f)
    result = Classification(chosen, chosen == version, data["nodes"], data["modifiers"],
                            data["strips"])
    _CACHE[version] = result
    return result


def for_running_blender() -> Classification:
    """:func:`load` for ``bpy.app.version``."""
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
    if isinstance(struct, getattr(bpy.types, "Volume", ())) and not struct.packed_file:
        return ("OpenVDB volume", "reads .vdb files during evaluation")
    return None
