"""Generate Farmhand's sample scene with bpy (no binary scene is kept in git).

Runs in Debian's Blender or the ``bpy`` module:

    blender -b --factory-startup --python scripts/demo_scene.py -- OUT.blend [options]
    .venv/bin/python scripts/demo_scene.py OUT.blend [options]

Options: ``--size WxH`` (pixels, default 64x48), ``--samples N`` (Cycles samples, default 4),
``--frames A-B`` (frame range stored in the file, default 1-3; the cube turns across it),
``--current N`` (current frame, default 1). A file saved by Blender X opens only in
Blender >= X: save job files with the oldest Blender the workers run (Debian's 3.4).

The scene: a lit, turning cube on a plane, Cycles on the CPU, tiny and fast on 2 cores.
Importable: ``build_scene(size=(64, 48), samples=4, frame_range=(1, 3))`` returns the scene.
"""

from __future__ import annotations

import argparse
import math
import sys

import bpy  # first: the bpy module (5.2) puts bmesh on sys.path when imported
import bmesh  # noqa: I001


def _mesh_object(name, builder, **kwargs):
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    builder(bm, **kwargs)
    bm.to_mesh(mesh)
    bm.free()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _material(name, rgba):
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = rgba
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = rgba
    return mat


def build_scene(size=(64, 48), samples=4, frame_range=(1, 3), current=1):
    """Reset to an empty file and build the sample scene; returns ``bpy.context.scene``."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.frame_start, scene.frame_end = frame_range
    scene.frame_current = current

    cube = _mesh_object("Cube", bmesh.ops.create_cube, size=1.0)
    cube.location = (0.0, 0.0, 0.5)
    cube.data.materials.append(_material("CubeOrange", (0.9, 0.35, 0.05, 1.0)))
    cube.rotation_euler = (0.0, 0.0, 0.0)
    cube.keyframe_insert("rotation_euler", frame=frame_range[0])
    cube.rotation_euler = (0.0, 0.0, math.radians(45))
    cube.keyframe_insert("rotation_euler", frame=frame_range[1])

    plane = _mesh_object("Ground", bmesh.ops.create_grid, x_segments=1, y_segments=1, size=4.0)
    plane.data.materials.append(_material("Ground", (0.6, 0.6, 0.65, 1.0)))

    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.location = (3.2, -3.2, 2.4)
    cam.rotation_euler = (math.radians(63), 0.0, math.radians(45))
    scene.collection.objects.link(cam)
    scene.camera = cam

    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (math.radians(40), math.radians(10), math.radians(30))
    scene.collection.objects.link(sun)

    world = bpy.data.worlds.new("World")
    world.color = (0.05, 0.07, 0.1)
    scene.world = world
    return scene


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--size", default="64x48")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--frames", default="1-3")
    parser.add_argument("--current", type=int, default=1)
    return parser.parse_args(argv)


def main(argv):
    args = _parse(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    first, last = (int(v) for v in args.frames.split("-"))
    build_scene((width, height), args.samples, (first, last), args.current)
    bpy.ops.wm.save_as_mainfile(filepath=args.out, compress=False)
    print(f"demo_scene: wrote {args.out} ({width}x{height}, frames {first}-{last}, "
          f"Blender {bpy.app.version_string})")


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:])
