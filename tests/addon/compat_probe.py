"""Runs inside a Blender of the matrix for tests/addon/test_compat.py.

    <cell argv> compat_probe.py make OUT_DIR    (in the oldest Blender: writes the files)
    <cell argv> compat_probe.py probe OUT_DIR   (in any Blender: reads them back)

``make`` writes, with the add-on's compat helpers only (no version checks here):
- eevee.blend       the sample scene rendered with EEVEE
- compositor.blend  the sample scene with a compositor File Output node at //out/shot_
- strips.blend      the sample scene with an image strip on //plate.png in the sequencer

``probe`` opens each (scripts off) and prints one ``RESULT {json}`` line with what this
Blender and farmhand.compat make of them; the test holds the expected values per version.
"""

import json
import os
import sys

import bpy

ADDON_PARENT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "addon")
sys.path.insert(0, ADDON_PARENT)
sys.path.insert(0, os.path.join(os.path.dirname(ADDON_PARENT), "scripts"))
from farmhand import compat  # noqa: E402
from demo_scene import build_scene  # noqa: E402


def save(out_dir, name):
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, name), compress=False)


def make(out_dir):
    scene = build_scene((16, 12))
    scene.render.engine = compat.EEVEE
    save(out_dir, "eevee.blend")

    scene = build_scene((16, 12))
    tree = compat.new_compositor_tree(scene)
    node = tree.nodes.new("CompositorNodeOutputFile")
    compat.set_file_output_path(node, "//out/shot_")
    save(out_dir, "compositor.blend")

    scene = build_scene((16, 12))
    compat.new_strips_collection(scene).new_image("Plate", "//plate.png", 1, 1)
    save(out_dir, "strips.blend")


def _open(out_dir, name):
    bpy.ops.wm.open_mainfile(filepath=os.path.join(out_dir, name), load_ui=False,
                             use_scripts=False)
    return bpy.context.scene


def probe(out_dir):
    result = {"version": list(bpy.app.version[:2]), "EEVEE": compat.EEVEE}
    scene = _open(out_dir, "eevee.blend")
    result["eevee_engine"] = scene.render.engine
    result["eevee_family"] = compat.engine_family(scene.render.engine)

    scene = _open(out_dir, "compositor.blend")
    tree = compat.compositor_tree(scene)
    outputs = [n for n in tree.nodes if n.bl_idname == "CompositorNodeOutputFile"]
    result["compositor_embedded"] = tree.is_embedded_data
    result["file_output_paths"] = [compat.file_output_path(n) for n in outputs]

    scene = _open(out_dir, "strips.blend")
    strips = compat.sequencer_strips(scene)
    result["strips"] = [[s.name, type(s).__name__, s.directory, s.elements[0].filename]
                        for s in strips]

    scene = _open(out_dir, "eevee.blend")
    action = bpy.data.objects["Cube"].animation_data.action
    result["slotted"] = hasattr(action, "layers")
    result["fcurves"] = sorted([f.data_path, f.array_index, len(f.keyframe_points)]
                               for f in compat.action_fcurves(action))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    {"make": make, "probe": probe}[args[0]](args[1])
