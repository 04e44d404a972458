"""Scenes for the render-time failure kinds, made in the Blender under test (the compositor's
data differ between series: 5.0 keeps the compositor in a node group):

    blender -b --factory-startup --python tests/addon/make_fault_files.py -- OUT_DIR
    PYTHON tests/addon/make_fault_files.py OUT_DIR          (a bpy module cell)

Each is the sample scene (scripts/demo_scene.py, 32x24) with one thing a creator could do:

- tiny.blend          32 x 24 px at 1 %: under one pixel, Blender refuses to render
                      ("Image too small", RE_InitState in source/blender/render/intern/
                      pipeline.cc): fails ``scene_error`` (not retryable), naming the fix.
- region.blend        a Render Region (border) of no area: Blender refuses to render it
                      ("Image too small" in 3.4 and 5.0: RE_InitState's size check comes
                      before RE_is_rendering_allowed's "No border area selected"): fails
                      ``scene_error``, naming the Render Region.
- stereo_views.blend  Stereoscopy on with "Individual" views: Blender renders and writes
                      ``frame_0001_L.png`` and ``frame_0001_R.png``, never the frame the
                      job asked for: fails ``scene_error`` (not retryable).
- huge.blend          30000 x 30000 px at 100 %: the combined pass alone needs 13.4 GiB,
                      over the memory ceiling of a worker started with --memory-max:
                      fails ``out_of_memory`` before rendering.

For the faults of the worker's own machine (tests/e2e/test_worker_faults.py, a work dir on
a small filesystem):

- big_frame.blend     512 x 384 px, 1 sample, PNG 16-bit RGBA without compression: a
                      small file whose frame is 1.5 MiB (what a full disk refuses:
                      ``no_output``, retryable).
- big_file.blend      the sample scene with a 200 x 200 grid: a file over 1 MiB (the job
                      file a full disk refuses: ``worker_error``, retryable).

And, in Blenders with a GPU compositor (4.2+):

- gpu_compositor.blend  17000 x 16 px composited on the GPU (a Render Layers node to the
                      output): bpy 5.0 without a GPU segfaulted on it; a CPU worker
                      composites it on the CPU (tests/addon/test_job_rendering.py).

Prints ``DONE fault-files <names>`` at the end.
"""

import os
import sys

import bpy

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from demo_scene import build_scene  # noqa: E402

SIZE = (32, 24)
HUGE = 30000


def _save(out_dir: str, name: str) -> None:
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, name), compress=False,
                                relative_remap=False)


def tiny(scene) -> None:
    """1 % of 32 x 24 px: 0 x 0 px."""
    scene.render.resolution_percentage = 1


def region(scene) -> None:
    """Render Region on, from x 0.5 to 0.5: no area."""
    scene.render.use_border = True
    scene.render.border_min_x = scene.render.border_max_x = 0.5


def stereo_views(scene) -> None:
    """Stereoscopy on (left and right views), written as individual files."""
    scene.render.use_multiview = True
    scene.render.views_format = "STEREO_3D"
    scene.render.image_settings.views_format = "INDIVIDUAL"


def huge(scene) -> None:
    scene.render.resolution_x = HUGE
    scene.render.resolution_y = HUGE
    scene.render.resolution_percentage = 100


def big_frame(scene) -> None:
    scene.render.resolution_x, scene.render.resolution_y = 512, 384
    scene.cycles.samples = 1
    settings = scene.render.image_settings
    settings.file_format = "PNG"
    settings.color_mode = "RGBA"
    settings.color_depth = "16"
    settings.compression = 0


def big_file(scene) -> None:
    import bmesh

    mesh = bpy.data.meshes.new("Grid")
    bm = bmesh.new()
    bmesh.ops.create_grid(bm, x_segments=200, y_segments=200, size=2.0)
    bm.to_mesh(mesh)
    bm.free()
    scene.collection.objects.link(bpy.data.objects.new("Grid", mesh))


def gpu_compositor(scene) -> None:
    scene.render.resolution_x, scene.render.resolution_y = 17000, 16
    scene.cycles.samples = 1
    scene.render.compositor_device = "GPU"
    if hasattr(scene, "compositing_node_group"):  # 5.x: the compositor is a node group
        tree = bpy.data.node_groups.new("Compositor", "CompositorNodeTree")
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        layers = tree.nodes.new("CompositorNodeRLayers")
        out = tree.nodes.new("NodeGroupOutput")
        tree.links.new(layers.outputs[0], out.inputs[0])
        scene.compositing_node_group = tree
    else:  # 4.x: Render Layers -> Composite, made by use_nodes
        scene.use_nodes = True
    scene.render.use_compositing = True


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    made = []
    for name, change in (("tiny.blend", tiny), ("region.blend", region),
                         ("stereo_views.blend", stereo_views), ("huge.blend", huge),
                         ("big_frame.blend", big_frame), ("big_file.blend", big_file)):
        scene = build_scene(SIZE)
        change(scene)
        _save(out_dir, name)
        made.append(name)
    if hasattr(bpy.types.RenderSettings, "bl_rna") and \
            "compositor_device" in bpy.types.RenderSettings.bl_rna.properties:
        gpu_compositor(build_scene(SIZE))
        _save(out_dir, "gpu_compositor.blend")
        made.append("gpu_compositor.blend")
    print(f"DONE fault-files {' '.join(made)}", flush=True)


main(sys.argv[sys.argv.index("--") + 1] if "--" in sys.argv else sys.argv[1])
