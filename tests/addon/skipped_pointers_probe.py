"""Prints, for each pointer the audit does not enter (audit.SKIPPED_POINTERS), the path
properties reachable from it without crossing into a datablock (IDs are audited on their
own), as ``RESULT {json}``: {"Scene.tool_settings": ["tool_settings.x.filepath", ...]}; and,
as a control that the search finds paths at all, those under ``Object.modifiers``.
Runs inside any Blender (tests/addon/test_audit.py):

    blender -b --factory-startup --python tests/addon/skipped_pointers_probe.py
    .venv/bin/python tests/addon/skipped_pointers_probe.py
"""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "addon"))

import bpy  # noqa: E402

from farmhand import audit  # noqa: E402


def _is_id(rna) -> bool:
    while rna is not None:
        if rna.identifier == "ID":
            return True
        rna = rna.base
    return False


_FAMILY: dict = {}


def _subclasses(rna):
    """``rna`` and every registered struct type derived from it (a pointer typed Modifier
    may hold any modifier); the map is built once."""
    if not _FAMILY:
        for name in dir(bpy.types):
            other = getattr(getattr(bpy.types, name, None), "bl_rna", None)
            base = other
            while base is not None:
                _FAMILY.setdefault(base.identifier, []).append(other)
                base = base.base
    return _FAMILY.get(rna.identifier) or [rna]


def reachable_paths(rna, trail, seen):
    """Path properties under struct type ``rna`` (named ``trail``), not through an ID."""
    found = []
    for sub in _subclasses(rna):
        if sub.identifier in seen:
            continue
        seen.add(sub.identifier)
        for prop in sub.properties:
            if prop.type == "STRING" and prop.subtype in audit.PATH_SUBTYPES:
                found.append(f"{trail}.{prop.identifier}")
            elif prop.type in {"POINTER", "COLLECTION"} and prop.fixed_type is not None \
                    and prop.identifier != "rna_type" and not _is_id(prop.fixed_type):
                found += reachable_paths(prop.fixed_type, f"{trail}.{prop.identifier}", seen)
    return found


def main():
    out = {}
    for struct, pointer in sorted(audit.SKIPPED_POINTERS):
        target = getattr(bpy.types, struct).bl_rna.properties[pointer].fixed_type
        out[f"{struct}.{pointer}"] = reachable_paths(target, pointer, set())
    modifiers = bpy.types.Object.bl_rna.properties["modifiers"].fixed_type
    out["control: Object.modifiers"] = reachable_paths(modifiers, "modifiers", set())
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
