"""Regenerates the .blend fixtures of tests/native/blend/ (run by hand, never by the tests).

    blender -b --factory-startup --python make_fixtures.py -- DIR blender34   # Debian 3.4
    python make_fixtures.py DIR bpy50                                         # bpy 5.0.1

writes DIR/cube_<tag>.blend (factory settings emptied, one cube, zstd) and
DIR/linked_<tag>.blend (a mesh linked from DIR/linked_<tag>.blend.lib.blend, which is not
kept: the tests only need the LI block).
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
