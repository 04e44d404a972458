"""Run by test_extension.py with a bpy cell's Python (4.2, 4.5, 5.0, 5.2): install an extension
zip with Blender's own installer in the bpy module, enable it, and print what got loaded as
JSON.

    python bpy_install_extension.py ZIP  (BLENDER_USER_RESOURCES must point at a temp dir)

Prints one line `RESULT {...}`: operator result, enabled state, the add-on module's file and
the file and version of the farmhand_core the add-on's own loader returned.
"""

import json
import sys

import bpy  # noqa: I001 (bpy first: it puts addon_utils on sys.path)
import addon_utils

zip_path = sys.argv[1]
out = {"blender": bpy.app.version_string}
out["install"] = sorted(bpy.ops.extensions.package_install_files(
    filepath=zip_path, repo="user_default", enable_on_install=True))
module_name = "bl_ext.user_default.farmhand"
out["enabled"] = list(addon_utils.check(module_name))
addon = sys.modules.get(module_name)
out["addon_file"] = getattr(addon, "__file__", None)
if addon is not None:
    loader = sys.modules.get(module_name + ".core_loader") or __import__(
        module_name + ".core_loader", fromlist=["load_core"])
    core = loader.load_core()
    out["core_file"] = core.__file__
    out["core_version"] = core.__version__
    out["core_native"] = core._native.__file__
print("RESULT " + json.dumps(out))
