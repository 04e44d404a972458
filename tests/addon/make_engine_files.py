"""Scenes for the render-engine outcomes, made in the Blender under test (the ids a Blender
has differ between series, so each cell makes its own):

    blender -b --factory-startup --python tests/addon/make_engine_files.py -- OUT_DIR
    PYTHON tests/addon/make_engine_files.py OUT_DIR          (a bpy module cell)

Each is the sample scene (scripts/demo_scene.py, 32x24) with one render engine:

- workbench.blend       Workbench: renders (Debian 3.4's static RNA enum lists EEVEE alone,
                        so a check trusting it refused Workbench as "not available")
- addon_engine.blend    ``FARMHAND_TEST_ADDON_ENGINE``, an add-on's engine (registered here
                        only while the file is saved, as an installed add-on would be; no
                        Farmhand worker runs add-on engines): fails ``unknown_engine``, not
                        retryable. Blender itself would read it as EEVEE and render that.
- missing_builtin.blend a built-in engine id this Blender does not have, as a file from
                        another series or a build without the engine names it (3.4 and
                        5.x: ``BLENDER_EEVEE_NEXT``; 4.2-4.5: ``BLENDER_EEVEE``), stored the
                        same way: fails ``unsupported_engine``, retryable (another worker's
                        Blender has it).

Prints ``DONE engine-files <ids>`` at the end.
"""

import os
import sys

import bpy

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from demo_scene import build_scene  # noqa: E402

SIZE = (32, 24)
ADDON_ENGINE = "FARMHAND_TEST_ADDON_ENGINE"


def missing_builtin_id() -> str:
    """The built-in EEVEE id this Blender lacks (4.2-4.5 call EEVEE ``BLENDER_EEVEE_NEXT``)."""
    return "BLENDER_EEVEE" if (4, 2) <= bpy.app.version[:2] < (5, 0) else "BLENDER_EEVEE_NEXT"


def save_with_engine(out_dir: str, name: str, engine_id: str, register: bool) -> None:
    """The sample scene with ``engine_id``, saved as ``name``; ``register``: a stand-in
    engine class of that id exists only while the scene is set and saved."""
    scene = build_scene(SIZE)
    cls = None
    if register:
        cls = type("StandInEngine", (bpy.types.RenderEngine,),
                   {"bl_idname": engine_id, "bl_label": f"stand-in {engine_id}"})
        bpy.utils.register_class(cls)
    try:
        scene.render.engine = engine_id
        bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, name), compress=False,
                                    relative_remap=False)
    finally:
        if cls is not None:
            bpy.utils.unregister_class(cls)


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    save_with_engine(out_dir, "workbench.blend", "BLENDER_WORKBENCH", register=False)
    save_with_engine(out_dir, "addon_engine.blend", ADDON_ENGINE, register=True)
    save_with_engine(out_dir, "missing_builtin.blend", missing_builtin_id(), register=True)
    print(f"DONE engine-files {ADDON_ENGINE} {missing_builtin_id()}", flush=True)


main(sys.argv[sys.argv.index("--") + 1] if "--" in sys.argv else sys.argv[1])
