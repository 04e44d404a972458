"""scripts/bench audit [RUNS] [CELL...]: the capability audit's cost per job on the demo scene.

For each Blender of the matrix that is installed here (scripts/blender_cells.py: Debian's
3.4 and the bpy 4.2, 4.5, 5.0 and 5.2 modules; or only the CELLs named): build the demo
scene (scripts/demo_scene.py), save it into a job dir, reopen it as a worker does, and time
RUNS audits (addon/farmhand/audit.py) after the one-off RNA type-graph analysis, next to
RUNS calls of Blender's own ``bpy.utils.blend_paths(absolute=True, packed=True)`` (its
built-in walk of external file paths). Prints one line per cell and the load average
(medians hide a busy machine's spikes; the max shows them); the goal is <= 50 ms per job
(issue 9).
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
sys.path.insert(0, os.path.join(REPO, "scripts"))
import blender_cells  # noqa: E402

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


def run(cell, runs):
    """The BENCH dict of ``runs`` audits in ``cell`` (a blender_cells.Cell)."""
    tmp = tempfile.mkdtemp(prefix="farmhand-bench-audit-")
    try:
        script = os.path.join(tmp, "inside.py")
        with open(script, "w") as f:
            f.write(INSIDE)
        job = os.path.join(tmp, "job")
        os.makedirs(job)
        env = dict(os.environ, BLENDER_USER_CONFIG=os.path.join(tmp, "cfg"),
                   BLENDER_USER_SCRIPTS=os.path.join(tmp, "scripts"))
        cmd = cell.argv(script, [REPO, job, str(runs)])
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        lines = [l for l in out.stdout.splitlines() if l.startswith("BENCH ")]
        if not lines:
            sys.exit(f"{cell.name}: no result\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        return json.loads(lines[-1][len("BENCH "):])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    runs = int(argv[0]) if argv else 20
    names = argv[1:] or [c.name for c in blender_cells.CELLS.values() if c.missing() is None]
    cells = [blender_cells.cell(n) for n in names]
    print(f"capability audit on the demo scene, {runs} runs each, {os.cpu_count()} CPUs "
          "(goal: <= 50 ms per job)")
    print(f"{'cell':10}{'Blender':12}{'type graph (once)':>19}{'audit median':>14}"
          f"{'min':>9}{'max':>9}{'blend_paths median':>20}   {'goal':6}")
    for cell in cells:
        r = run(cell, runs)
        median = statistics.median(r["audit_ms"])
        print(f"{cell.name:10}{r['blender'].split()[0]:12}{r['graph_s'] * 1000:16.0f} ms"
              f"{median:11.1f} ms{min(r['audit_ms']):6.1f} ms{max(r['audit_ms']):6.1f} ms"
              f"{statistics.median(r['blend_paths_ms']):17.2f} ms   "
              f"{'met' if median <= 50 else 'MISSED':6} ({r['summary']})", flush=True)
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(sys.argv[1:])
