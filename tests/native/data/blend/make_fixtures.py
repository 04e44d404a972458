"""Regenerates the .blend fixtures of tests/native/blend/ (run by hand, never by the tests).

    blender -b --factory-startup --python make_fixtures.py -- DIR blender34   # Debian 3.4
    python make_fixtures.py DIR bpy50                                         # bpy 5.0.1

writes DIR/cube_<tag>.blend (factory settings emptied, one cube, zstd) and
DIR/linked_<tag>.blend (a mesh linked from DIR/linked_<tag>.blend.lib.blend, which is not
kept: the tests only need the LI block) and DIR/fonts_<tag>.blend (see below).
"""

import os
import sys

import bpy

out_dir, tag = sys.argv[-2], sys.argv[-1]
out_dir = os.path.abspath(out_dir)

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.preferences.filepaths.save_version = 0  # no .blend1 backups
bpy.ops.mesh.primitive_cube_add()
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, f"cube_{tag}.blend"), compress=True)

linked = os.path.join(out_dir, f"linked_{tag}.blend")
bpy.data.libraries.write(linked + ".lib.blend", {bpy.data.meshes[0]})
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.preferences.filepaths.save_version = 0
with bpy.data.libraries.load(linked + ".lib.blend", link=True) as (src, dst):
    dst.meshes = src.meshes
obj = bpy.data.objects.new("linked", bpy.data.meshes[0])
bpy.context.scene.collection.objects.link(obj)
bpy.ops.wm.save_as_mainfile(filepath=linked, compress=True, relative_remap=True)
os.remove(linked + ".lib.blend")

# DIR/fonts_<tag>.blend: three text objects, one per kind of font -- the built-in font,
# a font packed into the file and a font read from //fonts/unpacked.ttf (not kept): the
# tests expect only the last one refused.
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.preferences.filepaths.save_version = 0
fonts_dir = os.path.join(out_dir, "fonts")
os.makedirs(fonts_dir, exist_ok=True)
source = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Oblique.ttf"  # Debian fonts-dejavu
for kind in ("packed", "unpacked"):
    with open(source, "rb") as src, open(os.path.join(fonts_dir, kind + ".ttf"), "wb") as dst:
        dst.write(src.read())
fonts = {"builtin": None}
for kind in ("packed", "unpacked"):
    fonts[kind] = bpy.data.fonts.load(os.path.join(fonts_dir, kind + ".ttf"))
    fonts[kind].name = kind
fonts["packed"].pack()
for kind, font in fonts.items():
    curve = bpy.data.curves.new(kind, "FONT")
    if font is not None:
        curve.font = font
    bpy.context.scene.collection.objects.link(bpy.data.objects.new(kind, curve))
path = os.path.join(out_dir, f"fonts_{tag}.blend")
bpy.ops.wm.save_as_mainfile(filepath=path, compress=True, relative_remap=True)
for kind in ("packed", "unpacked"):
    os.remove(os.path.join(fonts_dir, kind + ".ttf"))
os.rmdir(fonts_dir)
