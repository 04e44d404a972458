"""Run inside Debian's Blender 3.4 by test_legacy_install.py:

    blender -b --factory-startup --python blender_install_legacy.py -- install ZIP
    blender -b --python blender_install_legacy.py -- inspect

`install`: bpy.ops.preferences.addon_install + addon_enable, then save the preferences
(as closing the GUI would). `inspect`: a fresh Blender reading those preferences.
Both print one line `RESULT {...}` (JSON): enabled state, where `farmhand` and the
farmhand_core its loader returned were imported from, and their versions.
"""

import json
import sys

import addon_utils
import bpy

args = sys.argv[sys.argv.index("--") + 1:]
out = {"blender": bpy.app.version_string}
if args[0] == "install":
    out["install"] = sorted(bpy.ops.preferences.addon_install(filepath=args[1], overwrite=True))
    try:
        out["enable"] = sorted(bpy.ops.preferences.addon_enable(module="farmhand"))
    except RuntimeError as exc:  # Blender reports a failed enable as an operator error
        out["enable_error"] = str(exc).strip().splitlines()[-1]
    bpy.ops.wm.save_userpref()
out["enabled"] = list(addon_utils.check("farmhand"))
out["in_prefs"] = "farmhand" in bpy.context.preferences.addons
addon = sys.modules.get("farmhand")
if addon is not None:
    from farmhand import core_loader

    core = core_loader.load_core()
    out["addon_file"] = addon.__file__
    out["addon_version"] = list(addon.bl_info["version"])
    out["core_file"] = core.__file__
    out["core_version"] = core.__version__
print("RESULT " + json.dumps(out))
