"""Writes the hostile corpus of tests/security/test_hostile_corpus.py with the running Blender
(Debian's 3.4 or the bpy module); never run on its own by the tests' own process.

    blender -b --factory-startup --python make_corpus.py -- OUT_DIR SECRET_PNG OUTSIDE_DIR
    python make_corpus.py OUT_DIR SECRET_PNG OUTSIDE_DIR                # bpy

OUT_DIR/good.blend         a cube, Cycles, 32x32, 1 sample: renders in a second
OUT_DIR/vse_secret.blend   + a Video Sequencer image strip showing SECRET_PNG (absolute)
OUT_DIR/fluid_outside.blend + a smoke domain whose cache directory is OUTSIDE_DIR/fluid
OUT_DIR/gn_import_text.blend (Blender >= 4.5: Import Text node) + Geometry Nodes reading
                           //../../worker.key through Import Text into String to Curves
SECRET_PNG is also written (a 4x4 image), so the strip has something to show.
All files are saved uncompressed; the test derives the corrupt-DNA and zstd-bomb files.
"""

import os
import sys

import bpy

out_dir, secret_png, outside = (os.path.abspath(p) for p in sys.argv[-3:])
os.makedirs(out_dir, exist_ok=True)
os.makedirs(os.path.dirname(secret_png), exist_ok=True)


def base_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.device = "CPU"
    scene.render.resolution_x = scene.render.resolution_y = 32
    scene.render.resolution_percentage = 100
    bpy.ops.mesh.primitive_cube_add()
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.location = (6, -6, 5)
    cam.rotation_euler = (1.1, 0, 0.785)
    scene.collection.objects.link(cam)
    scene.camera = cam
    return scene


def save(name):
    # relative_remap=False: the hostile absolute paths stay absolute in the file.
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, name), compress=False,
                                relative_remap=False)


scene = base_scene()
save("good.blend")

img = bpy.data.images.new("secret", 4, 4)
img.pixels[:] = [1.0, 0.0, 0.0, 1.0] * 16
img.filepath_raw = secret_png
img.file_format = "PNG"
img.save()

scene = base_scene()
scene.sequence_editor_create()
editor = scene.sequence_editor
strips = editor.strips if hasattr(editor, "strips") else editor.sequences  # 5.0 renamed it
strips.new_image("secret", secret_png, 1, 1)
scene.render.use_sequencer = True
save("vse_secret.blend")

scene = base_scene()
domain = bpy.context.active_object
mod = domain.modifiers.new("Fluid", "FLUID")
mod.fluid_type = "DOMAIN"
mod.domain_settings.cache_directory = os.path.join(outside, "fluid")
bpy.ops.mesh.primitive_uv_sphere_add(radius=0.3)
flow = bpy.context.active_object.modifiers.new("Fluid", "FLUID")
flow.fluid_type = "FLOW"
save("fluid_outside.blend")

if bpy.app.version >= (4, 5, 0):
    scene = base_scene()
    obj = bpy.context.active_object
    group = bpy.data.node_groups.new("ReadKey", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    out = group.nodes.new("NodeGroupOutput")
    text = group.nodes.new("GeometryNodeImportText")
    text.inputs["Path"].default_value = "//../../worker.key"
    curves = group.nodes.new("GeometryNodeStringToCurves")
    group.links.new(text.outputs[0], curves.inputs["String"])
    group.links.new(curves.outputs[0], out.inputs[0])
    mod = obj.modifiers.new("ReadKey", "NODES")
    mod.node_group = group
    save("gn_import_text.blend")
