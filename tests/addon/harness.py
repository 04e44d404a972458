"""Runs inside Blender (Debian ``blender -b`` or the ``bpy`` module): renders one job file
with one of the add-on's strategies, without the engine, and prints one ``RESULT {json}``
line. Used by tests/addon and tests/e2e.

    blender -b --factory-startup --python tests/addon/harness.py -- SPEC.json
    .venv/bin/python tests/addon/harness.py SPEC.json

SPEC: {"addon_parent", "strategy": "opened"|"appended", "blend", "work_dir", "output_dir",
"frames", "format", "device", "scene" (the file's current scene as the engine
read it), "artist": path|null, "autorun": bool, "check_only": bool
(open, audit and check the scene without rendering), "report": bool (also print what
handover.report_error would send), "log_tail": str, "build_without": a format name (a STUB of
a Blender build without that output format, which no cell is: setting it is made to fail with
the real TypeError Blender's RNA raises for an enum value its build lacks)}
"""

import json
import os
import sys
import traceback
from types import SimpleNamespace


def snapshot(bpy):
    """Every datablock of the open file: {collection: sorted [name, users, is_library]}."""
    out = {}
    for name in dir(bpy.data):
        coll = getattr(bpy.data, name, None)
        if isinstance(coll, bpy.types.bpy_prop_collection) and name not in (
                "window_managers", "screens", "workspaces"):
            items = [i for i in coll if isinstance(i, bpy.types.ID)]
            out[name] = sorted([i.name, i.users, i.library is not None] for i in items)
    return out


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    sys.path.insert(0, spec["addon_parent"])
    import bpy
    from farmhand import jobrun
    from farmhand.log import setup_stream_logging

    setup_stream_logging()
    result = {}
    if spec.get("artist"):
        bpy.ops.wm.open_mainfile(filepath=spec["artist"], load_ui=False)
    bpy.context.preferences.filepaths.use_scripts_auto_execute = bool(spec.get("autorun"))
    result["before"] = snapshot(bpy)
    job = SimpleNamespace(id="harness", blend_path=spec["blend"], work_dir=spec["work_dir"],
                          output_dir=spec["output_dir"], frames=spec.get("frames", []),
                          output_format=spec.get("format", "PNG"), scene=spec.get("scene", ""))
    if spec.get("build_without"):
        from farmhand import render

        real_set = render.set_file_format

        def set_file_format(settings, name):
            if name == spec["build_without"]:  # Blender's own error for a missing enum item
                settings.file_format = name + "_NOT_IN_THIS_BUILD"
            real_set(settings, name)
        render.set_file_format = set_file_format
    run = jobrun.render_appended if spec["strategy"] == "appended" else jobrun.render_opened
    try:
        if spec.get("check_only"):  # open, neutralise, audit, check; render nothing
            bpy.ops.wm.open_mainfile(filepath=job.blend_path, load_ui=False,
                                     use_scripts=False)
            result["checked"] = jobrun._audit(job)
            jobrun.check_renderable(bpy.context.scene)
        else:
            res = run(job, spec.get("device", "CPU"))
            result.update(paths=res.paths, notes=res.notes, seconds=res.seconds)
    except Exception as exc:  # reported to the test, which asserts on it
        result.update(error_type=type(exc).__name__, error=str(exc),
                      traceback=traceback.format_exc(), code=getattr(exc, "code", None))
        kind = getattr(exc, "kind", None)
        if kind is not None:
            result.update(retryable=kind.retryable, word=kind.word)
        if spec.get("report"):  # what handover.report_error would send to the coordinator
            from farmhand import handover

            class Recorder:
                def fail(self, job_, error, log_tail, retryable, code=""):
                    result["sent"] = {"error": error, "log_tail": log_tail,
                                      "retryable": retryable, "code": code}
            handover.report_error(Recorder(), job, exc, spec.get("log_tail", ""))
    result["after"] = snapshot(bpy)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1] if "--" in sys.argv else sys.argv[1])
