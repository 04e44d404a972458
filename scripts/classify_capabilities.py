"""Lists the running Blender's node, modifier and sequencer-strip types and checks them
against the add-on's capability classification (addon/farmhand/classified/), or drafts a
classification for a Blender that has none. Runs inside any Blender:

    blender -b --factory-startup --python scripts/classify_capabilities.py -- --check
    .venv/bin/python scripts/classify_capabilities.py --check
    .venv/bin/python scripts/classify_capabilities.py --draft OUT.json

--check: exit 0 when the running Blender's own file exists, classifies every type, gives
  every verdict a source, marks no node with a file-path input safe and holds no
  ``UNREVIEWED`` note; exit 1 otherwise, listing what is wrong on stderr. Either way the
  last line is ``RESULT {json}`` (``blender``, ``file``, ``exact``, ``counts``, ``refused``,
  ``unclassified``, ``path_nodes_marked_safe``, ``unsourced``, ``unreviewed``).
--draft OUT: write a classification for the running Blender. Each type's verdict comes from,
  in this order: the known file readers below; the same type in the existing file of the
  nearest Blender version (older first at equal distance); the file-path rule (a new node
  type with a file-path socket or property is refused); else "safe". Each file records
  where every verdict came from (``sources``, see capabilities.py). A new type drafted
  "safe" is recorded as ``UNREVIEWED: ...`` and listed on stderr: a person reviews it
  against Blender's source and docs (does it read or write a file by path, directly or
  through a datablock the audit does not check?) and replaces the note with the finding;
  ``--check`` fails while any ``UNREVIEWED`` note remains (docs/security.md, "A table for a
  new Blender").

Used by tests/addon/test_audit.py in every cell of the matrix (scripts/blender_cells.py).
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


UNREVIEWED = "UNREVIEWED"
KINDS = ("nodes", "modifiers", "strips")


def _version():
    return (bpy.app.version[0], bpy.app.version[1])


def check():
    """--check (see module doc): prints the RESULT line; returns the exit status (0/1)."""
    version = _version()
    name = f"{version[0]}.{version[1]}"
    types = running_types()
    try:
        data = capabilities.read_table(version)
        exact = True
    except FileNotFoundError:
        data, exact = {k: {} for k in (*KINDS, "sources")}, False
    tables = {k: data[k] for k in KINDS}
    sources = data.get("sources", {})
    unclassified = {k: sorted(t for t in types[k] if t not in tables[k]) for k in types}
    # A node with a file-path input classified "safe" would be refused by the rule anyway;
    # still list it: the table should say so.
    mislabelled = sorted(n for n, paths in types["nodes"].items()
                         if paths and tables["nodes"].get(n) == capabilities.SAFE)
    # Every verdict says where it comes from, and no draft verdict is left unreviewed.
    unsourced = {k: sorted(t for t in tables[k] if t not in sources.get(k, {}))
                 for k in KINDS}
    unreviewed = {k: sorted(t for t, why in sources.get(k, {}).items()
                            if why.startswith(UNREVIEWED)) for k in KINDS}
    result = {"blender": bpy.app.version_string, "file": name, "exact": exact,
              "counts": {k: len(v) for k, v in types.items()},
              "refused": {k: sorted(t for t in types[k]
                                    if tables[k].get(t, "").startswith("refuse"))
                          for k in types},
              "unclassified": unclassified, "path_nodes_marked_safe": mislabelled,
              "unsourced": unsourced, "unreviewed": unreviewed}
    ok = exact and not any(unclassified.values()) and not mislabelled and \
        not any(unsourced.values()) and not any(unreviewed.values())
    for label, table in (("unclassified", unclassified), ("no source for", unsourced),
                         ("unreviewed draft verdict for", unreviewed)):
        for kind, names in table.items():
            for n in names:
                print(f"{label} {kind[:-1]}: {n}", file=sys.stderr)
    if not exact:
        print(f"no classification for Blender {bpy.app.version_string}: run with --draft "
              f"{capabilities.table_path(version)} and review it (docs/security.md)",
              file=sys.stderr)
    print("RESULT " + json.dumps(result), flush=True)
    return 0 if ok else 1


def _base_tables(version):
    """[(name, parsed file)] of the existing classifications, nearest version first."""
    out = []
    for v in capabilities.nearest_versions(version):
        out.append((f"blender-{v[0]}.{v[1]}.json", capabilities.read_table(v)))
    return out


def draft(out_path):
    """--draft (see module doc): writes the drafted table to ``out_path``; returns 0."""
    version = _version()
    name = f"{version[0]}.{version[1]}"
    bases = _base_tables(version)
    types = running_types()
    out = {"blender": name, "sources": {}}
    for kind, found in types.items():
        table, sources = {}, {}
        for t in sorted(found):
            base = next(((n, d) for n, d in bases if t in d[kind]), None)
            if t in KNOWN_REFUSALS[kind]:
                table[t] = KNOWN_REFUSALS[kind][t]
                sources[t] = ("known file reader/writer (scripts/classify_capabilities.py "
                              "KNOWN_REFUSALS)")
            elif base is not None:
                table[t] = base[1][kind][t]
                sources[t] = f"as in {base[0]}"
            elif found[t]:
                table[t] = (f"refuse: takes a file path ({', '.join(found[t])}) that "
                            "it reads or writes during evaluation")
                sources[t] = f"file-path rule: RNA of Blender {name} shows a path input"
            else:
                table[t] = capabilities.SAFE
                sources[t] = (f"{UNREVIEWED}: new in Blender {name}, no file-path socket or "
                              "property in RNA; review against Blender's source and docs")
                print(f"new {kind[:-1]} drafted safe, review: {t}", file=sys.stderr)
        out[kind] = table
        out["sources"][kind] = sources
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
