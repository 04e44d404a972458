"""`scripts/bench gui`'s table: every figure of issue 16's "Done when" list that the two GUI
window sessions measured (tests/e2e/test_gui_window.py writes DIR/main.json,
DIR/idle.json and DIR/loop.json when FARMHAND_GUI_BENCH_DIR=DIR), with its goal and whether it was met.

    .venv/bin/python scripts/gui_bench_table.py DIR

Rows with ``"met": null`` are references (Blender's own F12 render measured the same way),
shown for comparison. Prints the table, the load averages during each session and now, and exits 1 when a figure
missed its goal or a session wrote nothing (it failed before measuring: see pytest's output).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> int:
    out = Path(sys.argv[1])
    rows, missing, loads = [], [], []
    for test in ("main", "idle", "loop"):
        path = out / f"{test}.json"
        if not path.is_file():
            missing.append(test)
            continue
        data = json.loads(path.read_text())
        rows += data["rows"]
        loads.append(f"{test} session {' '.join(f'{x:.2f}' for x in data['load'])}")
    width = max([len(r["figure"]) for r in rows] + [40])
    print(f"\n{'issue 16: Done when':<{width}}  {'measured':>14}  {'goal':>14}  met")
    print("-" * (width + 38))
    for r in rows:
        met = "ref" if r["met"] is None else "yes" if r["met"] else "NO"
        print(f"{r['figure']:<{width}}  {r['measured']:>14}  {r['goal']:>14}  {met}")
    print("-" * (width + 38))
    for test in missing:
        print(f"the {test} session measured nothing (it failed first: see above)")
    print("load average (1, 5, 15 min):", "; ".join(loads),
          "; now", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    goals = [r for r in rows if r["met"] is not None]  # reference rows have no goal
    met = sum(r["met"] for r in goals)
    print(f"{met} of {len(goals)} figures met their goal")
    return 0 if goals and met == len(goals) and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
