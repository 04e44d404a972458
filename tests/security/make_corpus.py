"""Writes the hostile corpus of tests/security/test_hostile_corpus.py with the running Blender
(Debian's 3.4 or the bpy module); never run on its own by the tests' own process.

    blender -b --factory-startup --python make_corpus.py -- OUT_DIR SECRET_PNG OUTSIDE_DIR
    python make_corpus.py OUT_DIR SECRET_PNG OUTSIDE_DIR                # bpy

OUT_DIR/good.blend         a cube, Cycles, 32x32, 1 sample: renders in a second
OUT_DIR/vse_secret.blend   + a Video Sequencer image strip showing SECRET_PNG (absolute)
OUT_DIR/fluid_outside.blend + a smoke domain whose cache directory is OUTSIDE_DIR/fluid
OUT_DIR/gn_import_text.blend (Blender >= 4.5: Import Text node) + Geometry Nodes reading
                           //../../worker.key through Import Text into String to Curves
OUT_DIR/gn_import_{obj,stl,ply,csv,vdb}.blend (Blender >= 4.5) + a Geometry Nodes Import
                           OBJ/STL/PLY/CSV/VDB node reading SECRET_DIR/secret.<ext>
OUT_DIR/vse_movie.blend    + a Video Sequencer movie strip playing SECRET_DIR/secret.mp4
OUT_DIR/mesh_cache.blend   + a Mesh Cache modifier reading SECRET_DIR/secret.pc2
OUT_DIR/particle_cache.blend + a particle system whose external point cache is
                           SECRET_DIR/particles (holding one cache_000001_00.bphys)
OUT_DIR/ies_light.blend    + a point light whose IES Texture node (external) reads
                           SECRET_DIR/secret.ies
OUT_DIR/linked_library.blend + an object linked from SECRET_DIR/library.blend
OUT_DIR/unpacked_font.blend + a text object in a font read from SECRET_DIR/secret.ttf
OUT_DIR/fake_user_cache.blend + an object with only a fake user, used by a Boolean modifier,
                           whose Mesh Cache modifier reads SECRET_DIR/secret.pc2
OUT_DIR/packed_volume.blend + a packed volume whose path is SECRET_DIR/volume.vdb
OUT_DIR/alembic_cache.blend (Blender with Alembic) + a Mesh Sequence Cache modifier reading
                           SECRET_DIR/secret.abc (exported here)
OUT_DIR/packed_sequence.blend, packed_movie.blend + a packed image switched to an image
                           sequence (SECRET_DIR/seq0001.png) or a movie (secret.mp4)
OUT_DIR/view_suffix.blend  + Stereoscopy, Individual views, a view suffix leading to
                           OUTSIDE_DIR/PWNED_L
OUT_DIR/render_cache.blend + Cache Result on in a scene named "a/../../../../outside/rc"
SECRET_DIR is the directory of SECRET_PNG: every file the hostile jobs aim at is written there
(a 4x4 PNG, a 2-frame MPEG-4 movie rendered here, an 8-point PC2 cache, a one-lamp IES file,
small OBJ/STL/PLY/CSV texts, bytes named .vdb, the library .blend, a DejaVu font), so each
feature has something real to read; the test asserts none of them is ever opened by the worker.
All files are saved uncompressed; the test derives the corrupt-DNA and zstd-bomb files.
"""

import os
import struct
import sys

import bpy

out_dir, secret_png, outside = (os.path.abspath(p) for p in sys.argv[-3:])
secret_dir = os.path.dirname(secret_png)
os.makedirs(out_dir, exist_ok=True)
os.makedirs(secret_dir, exist_ok=True)


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


def secret(name):
    return os.path.join(secret_dir, name)


def write(name, data):
    with open(secret(name), "wb") as f:
        f.write(data)


# The movie the strip plays: two 16x16 frames of a sequencer colour strip, written by
# Blender's own FFmpeg (no 3D render).
scene = base_scene()
scene.render.resolution_x = scene.render.resolution_y = 16
scene.frame_start, scene.frame_end = 1, 2
scene.sequence_editor_create()
editor = scene.sequence_editor
strips = editor.strips if hasattr(editor, "strips") else editor.sequences
try:
    strips.new_effect("colour", "COLOR", 1, frame_start=1, frame_end=3)
except TypeError:  # Blender >= 5.0 takes a length instead
    strips.new_effect("colour", "COLOR", 1, frame_start=1, length=2)
scene.render.use_sequencer = True
if hasattr(scene.render.image_settings, "media_type"):  # Blender >= 5.0
    scene.render.image_settings.media_type = "VIDEO"
scene.render.image_settings.file_format = "FFMPEG"
scene.render.ffmpeg.format = "MPEG4"
scene.render.ffmpeg.codec = "MPEG4"
scene.render.filepath = secret("secret")
scene.render.use_file_extension = False
before = set(os.listdir(secret_dir))
bpy.ops.render.render(animation=True)
made = sorted(set(os.listdir(secret_dir)) - before)  # secret0001-0002: the movie
os.replace(secret(made[0]), secret("secret.mp4"))

scene = base_scene()
scene.sequence_editor_create()
editor = scene.sequence_editor
strips = editor.strips if hasattr(editor, "strips") else editor.sequences
strips.new_movie("secret", secret("secret.mp4"), 1, 1)
scene.render.use_sequencer = True
save("vse_movie.blend")

# Mesh Cache: a PC2 file (POINTCACHE2, version 1, points, start, rate, samples; xyz floats)
# for the cube's 8 vertices.
write("secret.pc2", b"POINTCACHE2\0" + struct.pack("<iiffi", 1, 8, 1.0, 1.0, 1)
      + struct.pack("<24f", *([2.0] * 24)))
scene = base_scene()
mod = bpy.context.active_object.modifiers.new("MeshCache", "MESH_CACHE")
mod.cache_format = "PC2"
mod.filepath = secret("secret.pc2")
save("mesh_cache.blend")

# A particle system whose point cache is external (Blender lists and reads the directory).
os.makedirs(secret("particles"), exist_ok=True)
write(os.path.join("particles", "cache_000001_00.bphys"), b"BPHYSICS" + bytes(64))
scene = base_scene()
obj = bpy.context.active_object
obj.modifiers.new("Particles", "PARTICLE_SYSTEM")
cache = obj.particle_systems[0].point_cache
cache.use_external = True
cache.filepath = secret("particles")
cache.name = "cache"
save("particle_cache.blend")

# An IES light texture in external mode.
write("secret.ies", b"IESNA:LM-63-2002\nTILT=NONE\n1 1000 1 1 1 1 2 0 0 0\n1 1 100\n0\n0\n"
      b"1000\n")
scene = base_scene()
light = bpy.data.lights.new("Lamp", "POINT")
light.use_nodes = True
ies = light.node_tree.nodes.new("ShaderNodeTexIES")
ies.mode = "EXTERNAL"
ies.filepath = secret("secret.ies")
emission = next(n for n in light.node_tree.nodes if n.type == "EMISSION")
light.node_tree.links.new(ies.outputs[0], emission.inputs["Strength"])
lamp = bpy.data.objects.new("Lamp", light)
lamp.location = (0, 0, 3)
scene.collection.objects.link(lamp)
save("ies_light.blend")

# A linked library: an object linked from SECRET_DIR/library.blend (absolute path).
scene = base_scene()
bpy.context.active_object.name = "LibCube"
bpy.ops.wm.save_as_mainfile(filepath=secret("library.blend"), compress=False)
scene = base_scene()
with bpy.data.libraries.load(secret("library.blend"), link=True) as (src, dst):
    dst.objects = ["LibCube"]
scene.collection.objects.link(dst.objects[0])
save("linked_library.blend")

# An unpacked font: a text object whose font Blender reads from SECRET_DIR/secret.ttf while it
# opens the file, before any check on the loaded data could run (refused by the engine's
# pre-open check of the VF blocks). The bytes: Debian's fonts-dejavu, a dependency of blender.
with open("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "rb") as src:
    write("secret.ttf", src.read())
scene = base_scene()
curve = bpy.data.curves.new("Secret", "FONT")
curve.font = bpy.data.fonts.load(secret("secret.ttf"))
curve.font.name = "secret"
scene.collection.objects.link(bpy.data.objects.new("Secret", curve))
save("unpacked_font.blend")

# An Alembic cache (where the build has Alembic; Debian's 3.4 has not): a Mesh Sequence Cache
# modifier on SECRET_DIR/secret.abc. Blender opens a cache file while it reads the .blend
# (bpy 5.0, 2026-12-04): refused by the engine's pre-open check of the CF blocks.
scene = base_scene()
try:
    bpy.ops.wm.alembic_export(filepath=secret("secret.abc"), selected=False)
    bpy.ops.cachefile.open(filepath=secret("secret.abc"))
except (AttributeError, RuntimeError) as exc:
    print("no Alembic in this Blender:", exc)
else:
    mod = bpy.context.active_object.modifiers.new("Cache", "MESH_SEQUENCE_CACHE")
    mod.cache_file = bpy.data.cache_files[0]
    save("alembic_cache.blend")

# An object with only a fake user, in no collection, that the cube's Boolean modifier uses (a
# pointer Blender does not count as a user): Blender evaluates it, and its Mesh Cache modifier
# read SECRET_DIR/secret.pc2 (review of 2026-12-04; the audit skipped unused IDs then).
scene = base_scene()
mesh = bpy.data.meshes.new("Hidden")
mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
hidden = bpy.data.objects.new("Hidden", mesh)
hidden.use_fake_user = True
cache = hidden.modifiers.new("Cache", "MESH_CACHE")
cache.cache_format = "PC2"
cache.filepath = secret("secret.pc2")
bpy.context.active_object.modifiers.new("Cut", "BOOLEAN").object = hidden
save("fake_user_cache.blend")

# A packed volume whose path leads to SECRET_DIR/volume.vdb: Blender reads the path, never the
# packed bytes (review of 2026-12-04).
write("volume.vdb", b" BD\0" + bytes(60))
write("decoy.vdb", b" BD\0" + bytes(60))
scene = base_scene()
volume = bpy.data.volumes.new("Smoke")
volume.filepath = secret("decoy.vdb")
scene.collection.objects.link(bpy.data.objects.new("Smoke", volume))
bpy.ops.file.pack_all()
volume.filepath = secret("volume.vdb")
save("packed_volume.blend")


# Packed images Blender still reads from disk (a review's finds, 2026-12-03): a packed image
# switched to an image sequence or a movie (the half-packed UDIM image of the same review:
# tests/addon/test_audit.py).
def textured(image):
    mat = bpy.data.materials.new("Secret")
    mat.use_nodes = True
    tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
    tex.image = image
    mat.node_tree.links.new(tex.outputs[0], mat.node_tree.nodes["Principled BSDF"].inputs[0])
    bpy.context.active_object.data.materials.append(mat)


for name in ("seq0000.png", "seq0001.png"):
    write(name, open(secret_png, "rb").read())
for name, source, target in (("packed_sequence", "SEQUENCE", "seq0001.png"),
                             ("packed_movie", "MOVIE", "secret.mp4")):
    scene = base_scene()
    image = bpy.data.images.load(secret_png)
    image.name = "Packed"
    image.pack()
    image.source = source
    image.filepath_raw = secret(target)
    textured(image)
    save(f"{name}.blend")

# A render view's file suffix naming a path (Stereoscopy, Individual views): Blender would
# write frame_0001<suffix>.png, i.e. OUTSIDE_DIR/PWNED_L.png from <work>/job-N/output.
scene = base_scene()
scene.render.use_multiview = True
scene.render.views_format = "STEREO_3D"
scene.render.image_settings.views_format = "INDIVIDUAL"
scene.render.views["left"].file_suffix = "/../../../../../outside/PWNED_L"
save("view_suffix.blend")

# Cache Result in a scene named as a path: <temp>/cached_RR_<file>_<scene>_<md5>.exr, the
# node's temp dir being <work>/tmp: would write OUTSIDE_DIR/rc_<md5>.exr (neutralised: renders).
scene = base_scene()
scene.name = "a/../../../../outside/rc"
scene.render.use_render_cache = True
save("render_cache.blend")

# Geometry Nodes import nodes (Blender >= 4.5), one file each, on a file in SECRET_DIR.
MESH_TEXT = {"obj": b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
             "stl": b"solid s\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\n"
                    b"vertex 0 1 0\nendloop\nendfacet\nendsolid s\n",
             "ply": b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
                    b"property float y\nproperty float z\nend_header\n0 0 0\n",
             "csv": b"x,y,z\n0,0,0\n1,0,0\n",
             "vdb": b" BD\0" + bytes(60)}
for ext, data in MESH_TEXT.items():
    idname = f"GeometryNodeImport{ext.upper()}"
    if not hasattr(bpy.types, idname):
        continue
    write(f"secret.{ext}", data)
    scene = base_scene()
    obj = bpy.context.active_object
    group = bpy.data.node_groups.new(f"Import{ext.upper()}", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    out = group.nodes.new("NodeGroupOutput")
    node = group.nodes.new(idname)
    node.inputs["Path"].default_value = secret(f"secret.{ext}")
    group.links.new(node.outputs[0], out.inputs[0])
    mod = obj.modifiers.new(f"Import{ext.upper()}", "NODES")
    mod.node_group = group
    save(f"gn_import_{ext}.blend")
