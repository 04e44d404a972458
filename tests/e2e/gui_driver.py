"""Runs inside Blender (Debian's 3.4 or the bpy module): the GUI worker
(farmhand.gui_worker.GuiWorker) with an artist's file open and Auto Run on, until it has
processed N jobs. Background Blender never fires ``bpy.app.timers``, so this drives the
worker's own timer callback by hand, the way the GUI's event loop would.

    ... gui_driver.py -- SPEC.json  ->  prints "RESULT {json}"

SPEC: {"addon_parent", "artist", "jobs", "timeout_s", "settings": {WorkerSettings fields}}
"""

import json
import sys
import time


def main(spec_path):
    spec = json.load(open(spec_path))
    sys.path.insert(0, spec["addon_parent"])
    sys.path.insert(0, spec["tests_addon"])
    import bpy
    from farmhand.gui_worker import GuiWorker
    from farmhand.log import setup_stream_logging
    from farmhand.settings import WorkerSettings
    from harness import snapshot

    setup_stream_logging()
    bpy.ops.wm.open_mainfile(filepath=spec["artist"], load_ui=False)
    bpy.context.preferences.filepaths.use_scripts_auto_execute = True
    if hasattr(bpy.app, "online_access") and not bpy.app.online_access:
        bpy.context.preferences.system.use_online_access = True
    before = snapshot(bpy)
    frame_before = bpy.context.scene.frame_current
    worker = GuiWorker(WorkerSettings(**spec["settings"]))
    worker.start()
    deadline = time.monotonic() + spec["timeout_s"]
    while time.monotonic() < deadline:
        status = worker.status()
        if status["jobs_done"] + status["jobs_failed"] >= spec["jobs"]:
            break
        worker._tick()  # what bpy.app.timers calls in the GUI
        time.sleep(0.2)
    worker.stop()
    status = worker.status()
    print("RESULT " + json.dumps({
        "same": before == snapshot(bpy), "before": before, "after": snapshot(bpy),
        "frame_restored": bpy.context.scene.frame_current == frame_before,
        "jobs_done": status["jobs_done"], "jobs_failed": status["jobs_failed"]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1] if "--" in sys.argv else sys.argv[1])
