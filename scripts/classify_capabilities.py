"""Lists the running Blender's node, modifier and sequencer-strip types and checks them
against the add-on's capability classification (addon/farmhand/classified/), or drafts a
classification for a Blender that has none. Runs inside any Blender:

    blender -b --factory-startup --python scripts/classify_capabilities.py -- --check
    .venv/bin/python scripts/classify_capabilities.py --check
    .venv/bin/python scripts/classify_capabilities.py --draft OUT.json

--check: exit 0 when the running Blender's own file exists and classifies every type;
  exit 1 otherwise, listing the unclassified types. Either way the last line is
  ``RESULT {json}`` (version, counts, ``unclassified``, ``exact``).
--draft OUT: write a classification for the running Blender: types of the newest older
  file keep their verdict; new node types with a file-path socket or property, and the
  known file readers below, are refused; every other new type is marked safe. Review each
  new "safe" before committing it (the draft lists them on stderr).

Used by tests/addon/test_audit.py (Debian Blender 3.4, bpy 5.0.1) and by the versions
matrix (4.2, 4.5, 5.2).
"""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "addon"))

import bpy  # noqa: E402

from farmhand import capabilities  # noqa: E402

TREE_TYPES = ("ShaderNodeTree", "GeometryNodeTree", "CompositorNodeTree", "TextureNodeTree")
# Known file readers/writers whose reason is worth more than the generic rule's words.
KNOWN_REFUSALS = {
    "nodes": {
        "ShaderNodeScript": "refuse: an OSL script node: runs shader code, external mode "
                            "reads a .osl file",
        "ShaderNodeTexIES": "refuse: in external mode reads an .ies file (internal mode, "
                            "IES data in a text block, is allowed)",
        "CompositorNodeOutputFile": "refuse: writes image files anywhere on disk (removed "
                                    "from the job before the audit)",
    },
    "modifiers": {
        "FLUID": "refuse: a fluid simulation reads and writes its cache directory",
        "MESH_CACHE": "refuse: reads an MDD/PC2 file during evaluation",
        "MESH_SEQUENCE_CACHE": "refuse: reads an Alembic/USD file during evaluation",
    },
    "strips": {
        "IMAGE": "refuse: an image strip reads image files",
        "MOVIE": "refuse: a movie strip reads a movie file",
        "SOUND": "refuse: a sound strip reads a sound file",
    },
}


# Types no tree accepts through nodes.new() but that files contain.
ALWAYS_PRESENT = {
    "nodes": {"NodeUndefined": []},  # a node type this Blender lacks: evaluates to nothing
}


def _trees():
    """(node tree, cleanup) for every kind of tree a node can live in: node groups of each
    tree type, and the embedded trees of a material, world, light and the scene's
    compositor (some nodes, e.g. 3.4's Render Layers, refuse to live in a group)."""
    for tree_type in TREE_TYPES:
        if hasattr(bpy.types, tree_type):
            tree = bpy.data.node_groups.new("classify", tree_type)
            yield tree, lambda t=tree: bpy.data.node_groups.remove(t)
    mat = bpy.data.materials.new("classify")
    mat.use_nodes = True
    yield mat.node_tree, lambda: None
    world = bpy.data.worlds.new("classify")
    world.use_nodes = True
    yield world.node_tree, lambda: None
    light = bpy.data.lights.new("classify", "POINT")
    light.use_nodes = True
    yield light.node_tree, lambda: None
    scene = bpy.context.scene
    if hasattr(scene, "node_tree") and not hasattr(scene, "compositing_node_group"):
        scene.use_nodes = True
        yield scene.node_tree, lambda: None
    tex = bpy.data.textures.new("classify", "IMAGE")
    tex.use_nodes = True
    if tex.node_tree is not None:
        yield tex.node_tree, lambda: None


def node_types():
    """{idname: [path inputs]} of every node type some node tree type accepts."""
    found = {}
    idnames = []
    for name in dir(bpy.types):
        cls = getattr(bpy.types, name, None)
        if isinstance(cls, type) and issubclass(cls, bpy.types.Node) and hasattr(cls, "bl_rna"):
            idnames.append(cls.bl_rna.identifier)
    for tree, done in _trees():
        for idname in idnames:
            if idname in found:
                continue
            try:
                node = tree.nodes.new(idname)
            except RuntimeError:
                continue
            found[idname] = capabilities.node_path_inputs(node)
            tree.nodes.remove(node)
        done()
    found.update(ALWAYS_PRESENT["nodes"])
    return found


def enum_items(struct, prop="type"):
    return [e.identifier for e in struct.bl_rna.properties[prop].enum_items]


def running_types():
    return {"nodes": node_types(), "modifiers": {t: [] for t in enum_items(bpy.types.Modifier)},
            "strips": {t: [] for t in enum_items(capabilities.strip_base())}}


def check():
    classes = capabilities.for_running_blender()
    types = running_types()
    tables = {"nodes": classes.nodes, "modifiers": classes.modifiers, "strips": classes.strips}
    unclassified = {k: sorted(t for t in types[k] if t not in tables[k]) for k in types}
    # A node with a file-path input classified "safe" would be refused by the rule anyway;
    # still list it: the table should say so.
    mislabelled = sorted(n for n, paths in types["nodes"].items()
                         if paths and classes.nodes.get(n) == capabilities.SAFE)
    result = {"blender": bpy.app.version_string, "file": classes.name,
              "exact": classes.exact,
              "counts": {k: len(v) for k, v in types.items()},
              "refused": {k: sorted(t for t in types[k]
                                    if tables[k].get(t, "").startswith("refuse"))
                          for k in types},
              "unclassified": unclassified, "path_nodes_marked_safe": mislabelled}
    ok = classes.exact and not any(unclassified.values()) and not mislabelled
    for kind, names in unclassified.items():
        for name in names:
            print(f"unclassified {kind[:-1]}: {name}", file=sys.stderr)
    if not classes.exact:
        print(f"no classification for Blender {bpy.app.version_string} (using "
              f"{classes.name}): run with --draft addon/farmhand/classified/blender-"
              f"{bpy.app.version[0]}.{bpy.app.version[1]}.json and review it",
              file=sys.stderr)
    print("RESULT " + json.dumps(result), flush=True)
    return 0 if ok else 1


def draft(out_path):
    try:
        base = capabilities.for_running_blender()
        tables = {"nodes": base.nodes, "modifiers": base.modifiers, "strips": base.strips}
    except FileNotFoundError:
        tables = {"nodes": {}, "modifiers": {}, "strips": {}}
    types = running_types()
    out = {"blender": f"{bpy.app.version[0]}.{bpy.app.version[1]}"}
    for kind, found in types.items():
        table = {}
        for name in sorted(found):
            if name in KNOWN_REFUSALS[kind]:
                table[name] = KNOWN_REFUSALS[kind][name]
            elif name in tables[kind]:
                table[name] = tables[kind][name]
            elif found[name]:
                table[name] = (f"refuse: takes a file path ({', '.join(found[name])}) that "
                               "it reads or writes during evaluation")
            else:
                table[name] = capabilities.SAFE
                print(f"new {kind[:-1]} marked safe, review: {name}", file=sys.stderr)
        out[kind] = table
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {out_path}: " + ", ".join(f"{len(out[k])} {k}" for k in types))
    return 0


def main(argv):
    if argv[:1] == ["--check"]:
        return check()
    if len(argv) == 2 and argv[0] == "--draft":
        return draft(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    code = main(args)
    sys.stdout.flush()
    sys.exit(code)
