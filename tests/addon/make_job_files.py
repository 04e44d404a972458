"""Builds the job files the add-on tests render (run inside Blender: Debian's 3.4, so both
workers can open them). Each is the sample scene (scripts/demo_scene.py) plus one trait:

    blender -b --factory-startup --python tests/addon/make_job_files.py -- \
        OUT_DIR MARKER_DIR OUTSIDE_DIR

- plain.blend       the sample scene, 32x24, frames 1-3
- autorun.blend     a text block registered as a module (use_module) that writes MARKER_DIR/autorun
- driver.blend      a Python driver on the cube whose expression writes MARKER_DIR/driver
- fileoutput.blend  a compositor File Output node writing into OUTSIDE_DIR
- abspath.blend     a material using an image at an absolute path (OUTSIDE_DIR/texture.png)
- escape.blend      an image at a relative path that climbs out of the job dir (//../../x.png)
- linked.blend     links a mesh from library_source.blend by absolute path
- denoise.blend    the sample scene with Cycles denoising on
- twoscenes.blend   the sample scene and a copy "Second" at 20x10, saved with Second current
- artist.blend      a different scene (an artist's open file) for the GUI strategy
- nocamera.blend    the sample scene without its camera (fails: no_camera, not retryable)
- missing.blend     a texture at //wood.png, not packed (refused: missing_files)
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


def write_marker_code(marker):
    return f"open({marker!r}, 'w').write('python ran')"


def main(out_dir, marker_dir, outside_dir):
    os.makedirs(out_dir, exist_ok=True)
    build_scene(SIZE)
    save(out_dir, "plain.blend")

    build_scene(SIZE)
    text = bpy.data.texts.new("evil.py")
    text.write(write_marker_code(os.path.join(marker_dir, "autorun")) + "\n")
    text.use_module = True
    save(out_dir, "autorun.blend")

    build_scene(SIZE)
    cube = bpy.data.objects["Cube"]
    fcurve = cube.driver_add("location", 0)
    fcurve.driver.type = "SCRIPTED"
    fcurve.driver.expression = (
        f"__import__('builtins').open({os.path.join(marker_dir, 'driver')!r}, 'w')"
        ".write('python ran') * 0")
    save(out_dir, "driver.blend")

    scene = build_scene(SIZE)
    scene.use_nodes = True
    tree = scene.node_tree
    out = tree.nodes.new("CompositorNodeOutputFile")
    out.base_path = os.path.join(outside_dir, "fileoutput_")
    layers = tree.nodes.get("Render Layers") or tree.nodes.new("CompositorNodeRLayers")
    tree.links.new(layers.outputs[0], out.inputs[0])
    save(out_dir, "fileoutput.blend")

    for name, path in (("abspath.blend", os.path.join(outside_dir, "texture.png")),
                       ("escape.blend", "//../../escaped_texture.png")):
        build_scene(SIZE)
        image = bpy.data.images.new("Texture", 4, 4)
        image.source = "FILE"
        image.filepath = path
        mat = bpy.data.materials["CubeOrange"]
        node = mat.node_tree.nodes.new("ShaderNodeTexImage")
        node.image = image
        save(out_dir, name)

    build_scene(SIZE)
    save(out_dir, "library_source.blend")
    scene = build_scene(SIZE)
    source = os.path.join(out_dir, "library_source.blend")
    with bpy.data.libraries.load(source, link=True) as (_from, to):
        to.meshes = ["Cube"]
    linked = bpy.data.objects.new("LinkedCube", to.meshes[0])
    scene.collection.objects.link(linked)
    save(out_dir, "linked.blend")

    scene = build_scene(SIZE)
    scene.cycles.use_denoising = True
    for layer in scene.view_layers:
        if hasattr(layer, "cycles"):
            layer.cycles.use_denoising = True
    save(out_dir, "denoise.blend")

    build_scene(SIZE)
    bpy.data.objects.remove(bpy.context.scene.camera)
    save(out_dir, "nocamera.blend")

    build_scene(SIZE)
    image = bpy.data.images.new("Wood", 4, 4)
    image.source = "FILE"
    image.filepath = "//wood.png"
    bpy.data.materials["CubeOrange"].node_tree.nodes.new("ShaderNodeTexImage").image = image
    save(out_dir, "missing.blend")

    # two scenes, the file saved with the second current (FileGlobal.curscene): that one is
    # rendered (20x10), not the first in file order (32x24)
    first = build_scene(SIZE) or bpy.data.scenes[0]
    second = first.copy()
    second.name = "Second"
    second.use_fake_user = True  # a copied scene has no user: saved only with one
    second.render.resolution_x, second.render.resolution_y = 20, 10
    for window in bpy.data.window_managers[0].windows:
        window.scene = second
    save(out_dir, "twoscenes.blend")

    build_scene((16, 16), frame_range=(1, 10), current=5)
    bpy.data.objects["Cube"].name = "ArtistCube"
    bpy.data.meshes.new("ArtistKeptMesh").use_fake_user = True  # unused but kept: must survive
    save(out_dir, "artist.blend")


if __name__ == "__main__":
    main(*sys.argv[sys.argv.index("--") + 1:][:3])
