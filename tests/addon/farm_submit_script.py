"""Runs inside the bpy module: builds an UNSAVED scene (the demo scene, 2 frames) holding a
packed image and an external one, snapshots the session, runs *Render on the farm* through
the operator against a real coordinator and kubo, waits for the frames, and prints one
``RESULT {json}`` line.

    .venv/bin/python tests/addon/farm_submit_script.py SPEC.json

SPEC: {"addon_parent", "scripts", "backend", "ipfs", "key_file", "out_dir", "external_png",
"packed_png", "chunk"}
"""

import json
import os
import sys
import traceback


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    sys.path.insert(0, spec["addon_parent"])
    sys.path.insert(0, spec["scripts"])
    import bpy
    from demo_scene import build_scene
    from farmhand import farm_submit_ui
    from farmhand.log import setup_stream_logging

    setup_stream_logging()
    result = {}
    try:
        scene = build_scene(size=(32, 24), samples=2, frame_range=(1, 2))
        packed = bpy.data.images.load(spec["packed_png"])
        packed.name = "PackedTexture"
        packed.pack()
        external = bpy.data.images.load(spec["external_png"])
        external.name = "ExternalTexture"
        scene.render.filepath = spec["out_dir"] + os.sep
        scene.render.image_settings.file_format = "PNG"
        bpy.context.window_manager  # noqa: B018 -- exists in the bpy module
        farm_submit_ui.register()
        bpy.context.window_manager.farmhand_chunk_size = spec["chunk"]

        def state():
            return {"filepath": bpy.data.filepath,
                    "images": sorted([i.name, i.packed_file is not None, i.filepath]
                                     for i in bpy.data.images),
                    "objects": sorted(o.name for o in bpy.data.objects),
                    "frames": [scene.frame_start, scene.frame_end, scene.frame_current]}

        result["before"] = state()
        outcome = bpy.ops.farmhand.render_on_farm(
            backend_url=spec["backend"], ipfs_rpc=spec["ipfs"], key_file=spec["key_file"],
            poll_s=0.5)
        result["operator"] = sorted(outcome)
        sub = farm_submit_ui.current()
        sub.thread.join(timeout=600)
        result["after"] = state()
        result.update(state=sub.state, message=sub.message, failure=sub.error,
                      asset_cid=sub.asset_cid, job=sub.job, written=sub.written)
    except Exception as exc:  # reported to the test
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[-1])
