"""Builds the job files of the capability audit and failure-kind tests (run inside Blender):

    blender -b --factory-startup --python tests/addon/make_audit_files.py -- OUT_DIR
    .venv/bin/python tests/addon/make_audit_files.py OUT_DIR

Each is the sample scene (scripts/demo_scene.py) plus one trait. Saved by the Blender that
runs this script: Debian's 3.4 (every cell opens those) or a newer one (then only it and
newer Blenders open them; ``gn_import.blend`` needs the Geometry Nodes *Import Text* node
of Blender >= 4.5, ``gn_sound.blend`` the *Sample Sound Frequencies* node of 5.2). ``//``
paths point where the job dir never has the file (a job dir holds only its .blend).

- packed.blend       an image texture packed into the file: renders
- missing.blend      two unpacked textures (//wood.png, //rough.png) and a UDIM set
                     (//tile.<UDIM>.png, tiles 1001-1002): missing_files
- nocamera.blend     the camera removed: no_camera
- vse.blend          a sequencer image strip reading /etc: refused_by_audit
- fluid.blend        a fluid domain modifier (writes its cache dir): refused_by_audit
- meshcache.blend    a Mesh Cache modifier reading //../../x.mdd: refused_by_audit
- ies.blend          an external IES texture at //../../light.ies: refused_by_audit
- pointcache.blend   a particle system caching to disk: refused_by_audit
- escape_dir.blend   a Dynamic Paint image-sequence output dir /tmp/...: refused_by_audit
- freestyle_script.blend  Freestyle in Python Scripting mode with a style module (a text
                     of the file that writes ``//freestyle_ran``: Blender runs it at render
                     time, auto-run off or not): refused_by_audit
- packed_sequence.blend, packed_movie.blend  a packed image switched to an image sequence
                     or a movie named outside the job dir (Blender reads those files, not
                     the packed bytes): missing_files (outside the job directory)
- udim_part_packed.blend  a UDIM image with tile 1001 packed, 1002 read from outside:
                     missing_files (outside the job directory)
- view_suffix.blend  Stereoscopy with a view file suffix "/../../x_L" (a path Blender
                     appends to per-view file names): refused_by_audit
- render_cache.blend  Cache Result on, in a scene named "a/../../rc/P": renders, with the
                     cache turned off (nothing written to the temp dir)
- gn_import.blend    (>= 4.5) Import Text on //../../worker.key: refused_by_audit
- gn_sound.blend     (>= 5.2) Sample Sound Frequencies on a sound //../../secret.wav, the
                     sound used by the node's socket only: missing_files (outside the job
                     directory), never sampled
"""

import os
import sys

import bpy

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from demo_scene import build_scene  # noqa: E402

SIZE = (32, 24)


def save(out_dir, name):
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, name), compress=False,
                                relative_remap=False)


def _textured(image):
    mat = bpy.data.materials["CubeOrange"]
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = image
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    mat.node_tree.links.new(node.outputs[0], bsdf.inputs[0])


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    cube = lambda: bpy.data.objects["Cube"]  # noqa: E731

    build_scene(SIZE)
    image = bpy.data.images.new("Checker", 8, 8, float_buffer=False)
    image.generated_type = "COLOR_GRID"
    image.pack()
    _textured(image)
    save(out_dir, "packed.blend")

    build_scene(SIZE)
    for name in ("wood", "rough"):
        img = bpy.data.images.new(name.title(), 4, 4)
        img.source = "FILE"
        img.filepath = f"//{name}.png"
        _textured(img)
    udim = bpy.data.images.new("Tiles", 4, 4, tiled=True)
    udim.tiles.new(1002)
    udim.source = "TILED"
    udim.filepath = "//tile.<UDIM>.png"
    _textured(udim)
    save(out_dir, "missing.blend")

    build_scene(SIZE)
    bpy.data.objects.remove(bpy.context.scene.camera)
    save(out_dir, "nocamera.blend")

    scene = build_scene(SIZE)
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    strip = strips.new_image("Secret", "/etc/hostname", 1, 1)
    strip.directory = "/etc/"
    save(out_dir, "vse.blend")

    build_scene(SIZE)
    mod = cube().modifiers.new("Fluid", "FLUID")
    mod.fluid_type = "DOMAIN"
    mod.domain_settings.cache_directory = "//cache_fluid"
    save(out_dir, "fluid.blend")

    build_scene(SIZE)
    mod = cube().modifiers.new("Cache", "MESH_CACHE")
    mod.filepath = "//../../x.mdd"
    save(out_dir, "meshcache.blend")

    build_scene(SIZE)
    light = next(o for o in bpy.data.objects if o.type == "LIGHT").data
    light.use_nodes = True
    ies = light.node_tree.nodes.new("ShaderNodeTexIES")
    ies.mode = "EXTERNAL"
    ies.filepath = "//../../light.ies"
    save(out_dir, "ies.blend")

    build_scene(SIZE)
    ps = cube().modifiers.new("Particles", "PARTICLE_SYSTEM").particle_system
    save(out_dir, "pointcache.blend")  # a disk cache needs a saved file
    ps.point_cache.use_disk_cache = True
    save(out_dir, "pointcache.blend")

    build_scene(SIZE)
    mod = cube().modifiers.new("Paint", "DYNAMIC_PAINT")
    mod.ui_type = "CANVAS"
    bpy.context.view_layer.objects.active = cube()
    bpy.ops.dpaint.type_toggle(type="CANVAS")
    surface = mod.canvas_settings.canvas_surfaces[0]
    surface.surface_format = "IMAGE"
    surface.image_output_path = "/tmp/farmhand-paint-escape/"
    save(out_dir, "escape_dir.blend")

    scene = build_scene(SIZE)
    scene.render.use_freestyle = True
    layer = scene.view_layers[0]
    layer.use_freestyle = True
    layer.freestyle_settings.mode = "SCRIPT"
    text = bpy.data.texts.new("style.py")
    text.write("import os\nimport bpy\nopen(os.path.join(bpy.path.abspath('//'), "
               "'freestyle_ran'), 'w').write('ran')\nprint('FREESTYLE SCRIPT RAN')\n")
    layer.freestyle_settings.modules.new().script = text
    save(out_dir, "freestyle_script.blend")

    # Packed data Blender does not read instead of the file (found by a review, 2026-12-03:
    # each read a file outside the job dir through the audit, in 3.4 and bpy 5.0).
    outside = os.path.join(out_dir, "outside")
    os.makedirs(outside, exist_ok=True)
    decoy = bpy.data.images.new("Decoy", 4, 4)
    decoy.filepath_raw = os.path.join(outside, "decoy.png")
    decoy.file_format = "PNG"
    decoy.save()
    for name, source in (("packed_sequence.blend", "SEQUENCE"), ("packed_movie.blend", "MOVIE")):
        build_scene(SIZE)
        image = bpy.data.images.load(os.path.join(outside, "decoy.png"))
        image.name = "Decoy"
        image.pack()  # a FILE image's bytes: packed
        image.source = source
        image.filepath_raw = os.path.join(outside, "secret0001.png")
        _textured(image)
        save(out_dir, name)

    build_scene(SIZE)
    tile = bpy.data.images.new("Tile", 4, 4)
    tile.filepath_raw = os.path.join(outside, "tile.1001.png")
    tile.file_format = "PNG"
    tile.save()
    udim = bpy.data.images.load(os.path.join(outside, "tile.1001.png"))
    udim.name = "Tiles"
    udim.source = "TILED"
    udim.filepath = os.path.join(outside, "tile.<UDIM>.png")
    udim.pack()  # tile 1001's bytes in the file; tile 1002 read from outside/tile.1002.png
    udim.tiles.new(1002)
    _textured(udim)
    save(out_dir, "udim_part_packed.blend")

    scene = build_scene(SIZE)
    scene.render.use_multiview = True
    scene.render.views_format = "STEREO_3D"
    scene.render.views["left"].file_suffix = "/../../x_L"
    save(out_dir, "view_suffix.blend")

    scene = build_scene(SIZE)
    scene.name = "a/../../rc/P"  # Cache Result writes <temp>/cached_RR_<file>_<scene name>_...
    scene.render.use_render_cache = True
    save(out_dir, "render_cache.blend")

    # An object with only a fake user, in no collection, that a Boolean modifier uses (a
    # pointer Blender does not count as a user): evaluated all the same, so its features are
    # audited like any other's (review of 2026-12-04: its Mesh Cache read a file outside).
    for name, hostile in (("fake_user_cache.blend", True), ("fake_user_boolean.blend", False)):
        build_scene(SIZE)
        mesh = bpy.data.meshes.new("Hidden")
        mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
        hidden = bpy.data.objects.new("Hidden", mesh)
        hidden.use_fake_user = True
        if hostile:
            hidden.modifiers.new("Cache", "MESH_CACHE").filepath = "//../../x.mdd"
        cube().modifiers.new("Cut", "BOOLEAN").object = hidden
        save(out_dir, name)

    # A scene named like the empty scene the headless worker opens files with: still the
    # scene rendered (the worker's own is named around it).
    scene = build_scene(SIZE)
    scene.name = "~farmhand: nothing evaluated before the audit"
    save(out_dir, "empty_scene_name.blend")

    # A packed volume whose file path leads outside: Blender reads the path, not the packed
    # bytes (review of 2026-12-04). The packed bytes: a stand-in .vdb next to the files.
    build_scene(SIZE)
    decoy = os.path.join(out_dir, "decoy.vdb")
    with open(decoy, "wb") as f:
        f.write(b" BD\0" + bytes(60))
    volume = bpy.data.volumes.new("Smoke")
    volume.filepath = decoy
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("Smoke", volume))
    bpy.ops.file.pack_all()
    assert volume.packed_file is not None
    volume.filepath = "//../../x.vdb"
    save(out_dir, "packed_volume.blend")

    if hasattr(bpy.types, "GeometryNodeImportText"):
        build_scene(SIZE)
        group = bpy.data.node_groups.new("Leak", "GeometryNodeTree")
        group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        node = group.nodes.new("GeometryNodeImportText")
        node.inputs["Path"].default_value = "//../../worker.key"
        mod = cube().modifiers.new("GN", "NODES")
        mod.node_group = group
        save(out_dir, "gn_import.blend")

    if hasattr(bpy.types, "GeometryNodeSampleSoundFrequencies"):
        build_scene(SIZE)
        # (sounds have no new(): load() of a file that is not there makes the datablock)
        sound = bpy.data.sounds.load("//../../secret.wav", check_existing=False)
        sound.name = "Secret"
        group = bpy.data.node_groups.new("Listen", "GeometryNodeTree")
        group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        node = group.nodes.new("GeometryNodeSampleSoundFrequencies")
        next(s for s in node.inputs if s.bl_idname == "NodeSocketSound").default_value = sound
        mod = cube().modifiers.new("GN", "NODES")
        mod.node_group = group
        save(out_dir, "gn_sound.blend")


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1] if "--" in sys.argv else sys.argv[1])
