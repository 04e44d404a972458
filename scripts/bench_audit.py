"""scripts/bench audit [RUNS]: the capability audit's cost per job on the demo scene.

For each Blender (Debian's 3.4 ``blender`` when installed, the ``bpy`` 5.0.1 module): build
the demo scene (scripts/demo_scene.py), save it into a job dir, and time RUNS audits
(addon/farmhand/audit.py) after the one-off RNA type-graph analysis, next to RUNS calls of
Blender's own ``bpy.utils.blend_paths(absolute=True, packed=True)`` (its built-in walk of
external file paths). Prints one line per Blender; the goal is <= 50 ms per job.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

INSIDE = r"""
import json, os, statistics, sys, time
args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
repo, job_dir, runs = args[0], args[1], int(args[2])
sys.path[:0] = [os.path.join(repo, "addon"), os.path.join(repo, "scripts")]
import bpy
from demo_scene import build_scene
build_scene()
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(job_dir, "scene.blend"))
bpy.ops.wm.open_mainfile(filepath=os.path.join(job_dir, "scene.blend"), load_ui=False,
                         use_scripts=False)
from farmhand import audit
t = time.perf_counter(); audit.path_bearing_types(); graph = time.perf_counter() - t
ours, theirs, report = [], [], None
for _ in range(runs):
    t = time.perf_counter(); report = audit.audit(job_dir); ours.append(time.perf_counter() - t)
    t = time.perf_counter(); bpy.utils.blend_paths(absolute=True, packed=True)
    theirs.append(time.perf_counter() - t)
print("BENCH " + json.dumps({"blender": bpy.app.version_string, "graph_s": graph,
      "audit_ms": [x * 1000 for x in ours], "blend_paths_ms": [x * 1000 for x in theirs],
      "summary": report.summary()}), flush=True)
"""


def run(kind, runs):
    tmp = tempfile.mkdtemp(prefix="farmhand-bench-audit-")
    try:
        script = os.path.join(tmp, "inside.py")
        with open(script, "w") as f:
            f.write(INSIDE)
        job = os.path.join(tmp, "job")
        os.makedirs(job)
        env = dict(os.environ, BLENDER_USER_CONFIG=os.path.join(tmp, "cfg"),
                   BLENDER_USER_SCRIPTS=os.path.join(tmp, "scripts"))
        if kind == "blender":
            cmd = ["blender", "-b", "--factory-startup", "--python", script, "--", REPO, job,
                   str(runs)]
        else:
            cmd = [os.path.join(REPO, ".venv", "bin", "python"), script, REPO, job, str(runs)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        lines = [l for l in out.stdout.splitlines() if l.startswith("BENCH ")]
        if not lines:
            sys.exit(f"{kind}: no result\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        return json.loads(lines[-1][len("BENCH "):])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    kinds = (["blender"] if shutil.which("blender") else []) + ["bpy"]
    print(f"capability audit on the demo scene, {runs} runs each, {os.cpu_count()} CPUs "
          "(goal: <= 50 ms per job)")
    print(f"{'Blender':10}{'type graph (once)':>20}{'audit median':>15}{'audit max':>12}"
          f"{'blend_paths median':>21}")
    for kind in kinds:
        r = run(kind, runs)
        print(f"{r['blender']:10}{r['graph_s'] * 1000:17.0f} ms"
              f"{statistics.median(r['audit_ms']):12.1f} ms{max(r['audit_ms']):9.1f} ms"
              f"{statistics.median(r['blend_paths_ms']):18.2f} ms   ({r['summary']})")


if __name__ == "__main__":
    main()
