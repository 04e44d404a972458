"""Blender's own side of the public-scene comparison (tests/e2e/test_public_scenes.py); run
inside the Blender under test (any cell of scripts/blender_cells.py):

    blender -b --factory-startup --python tests/addon/render_copies.py -- derive SPEC.json
    blender -b --factory-startup --python tests/addon/render_copies.py -- render SPEC.json
    (a bpy cell: PYTHON tests/addon/render_copies.py derive|render SPEC.json)

SPEC.json is a list of ``{"src": PATH, "copy": PATH, "frame": N, "png": PATH}``.

``derive``: open each ``src`` (a public scene, read-only) and save a *render copy* at
``copy``: the same file with only the render size and quality lowered so the test stays
quick on a CPU-only machine — ``resolution_percentage`` so the image is about ``WIDTH``
pixels wide, EEVEE's ``taa_render_samples`` and Cycles' ``samples`` at most ``SAMPLES``,
the output format PNG (the worker writes PNG; the comparison is of decoded pixels). Nothing
else changes: the same objects, materials, compositor, sequencer and frame range.

``render``: Blender's own render of each ``copy``: open it like the worker does
(``load_ui=False, use_scripts=False``: no Python from a job file runs here either), set the
frame, ``bpy.ops.render.render(write_still=True)`` into ``png`` — what ``blender -b FILE -f N``
and F12 + Save do.

Prints one line ``DONE <mode> <count>`` at the end; any failure raises (non-zero exit).
"""

import json
import os
import sys

import bpy

WIDTH = 96
SAMPLES = 4


def _args() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def derive(item: dict) -> None:
    """Save the render copy of ``item["src"]`` at ``item["copy"]`` (see module doc)."""
    bpy.ops.wm.open_mainfile(filepath=item["src"], load_ui=False, use_scripts=False)
    scene = bpy.context.scene
    render = scene.render
    render.resolution_percentage = max(1, min(100, round(100 * WIDTH / render.resolution_x)))
    if hasattr(scene, "eevee"):
        scene.eevee.taa_render_samples = min(scene.eevee.taa_render_samples, SAMPLES)
    if hasattr(scene, "cycles"):
        scene.cycles.samples = min(scene.cycles.samples, SAMPLES)
    render.image_settings.file_format = "PNG"
    scene.frame_current = item["frame"]
    bpy.ops.wm.save_as_mainfile(filepath=item["copy"], copy=True, compress=False,
                                relative_remap=False)


def render(item: dict) -> None:
    """Blender's own render of frame ``item["frame"]`` of ``item["copy"]`` into
    ``item["png"]``."""
    bpy.ops.wm.open_mainfile(filepath=item["copy"], load_ui=False, use_scripts=False)
    scene = bpy.context.scene
    scene.frame_current = item["frame"]
    scene.render.image_settings.file_format = "PNG"
    scene.render.use_file_extension = False
    scene.render.filepath = item["png"]
    bpy.ops.render.render(write_still=True)
    if not os.path.isfile(item["png"]):
        raise RuntimeError(f"Blender wrote no {item['png']}")


def main() -> None:
    mode, spec = _args()[:2]
    step = {"derive": derive, "render": render}[mode]
    with open(spec) as f:
        items = json.load(f)
    for item in items:
        step(item)
        print(f"DONE-ITEM {mode} {os.path.basename(item['src'])}", flush=True)
    print(f"DONE {mode} {len(items)}", flush=True)


main()
