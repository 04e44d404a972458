"""Explain the GUI worker's late heartbeats (issue 16): where did Blender's main thread spend
each gap of the 0.05 s heartbeat timer longer than 0.1 s?

    .venv/bin/python scripts/gui_gaps.py GAPS.json [PERF.data]

GAPS.json is written by tests/e2e/gui_session.py during the long farm render (the beats,
and the add-on's own spans when Blender ran with FARMHAND_TRACE=1: farmhand/trace.py).
With a trace, the regions Blender drew in each gap are named too (``View3D/WINDOW``...).
PERF.data (optional) is ``perf record -k mono -F 397 -p PID`` of that Blender
(FARMHAND_GUI_PERF=PATH makes the session record it): for each gap it adds the main
thread's CPU time in the gap (samples / 397 Hz: a gap with little CPU time is the main
thread waiting -- for a lock, the GIL or a CPU) and the libraries it was in (Debian's
blender binary has no symbols: ``blender`` is Blender's own code, ``swrast``/``gallium``/
``LLVM`` is software OpenGL drawing, ``python`` is Python).

Prints one line per gap, longest first, then totals.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

HZ = 397


def perf_samples(path: str, tid: int) -> list[tuple[float, str]]:
    """(monotonic time, library) of each sample of thread ``tid``."""
    out = subprocess.run(["perf", "script", "-i", path, "-F", "tid,time,ip,dso"],
                         capture_output=True, text=True, check=True).stdout
    samples = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[0].isdigit() or int(parts[0]) != tid:
            continue
        t = float(parts[1].rstrip(":"))
        dso = parts[-1].strip("()").rsplit("/", 1)[-1]
        samples.append((t, dso))
    return samples


def short(dso: str) -> str:
    for key, name in (("swrast", "GL"), ("gallium", "GL"), ("LLVM", "GL"), ("libGL", "GL"),
                      ("python", "python"), ("blender", "blender"), ("libc", "libc"),
                      ("kernel", "kernel"), ("libX", "X11"), ("_native", "farmhand_core")):
        if key in dso:
            return name
    return dso


def main() -> None:
    data = json.load(open(sys.argv[1]))
    beats = [t for t, _ in data["beats"]]
    states = {t: s for t, s in data["beats"]}
    samples = perf_samples(sys.argv[2], data["pid"]) if len(sys.argv) > 2 else []
    start = data["render_started"]
    sched = {row[0]: row[1:] for row in data.get("sched", [])}
    rows = []
    for a, b in zip(beats, beats[1:]):
        if b - a <= 0.1:
            continue
        inside = Counter()
        for s0, s1, name in data["spans"]:
            if s1 > a and s0 < b:
                inside[name] += min(s1, b) - max(s0, a)
        libs = Counter(short(d) for t, d in samples if a <= t < b)
        drawn = Counter(name for t, name in data.get("draws", []) if a <= t < b)
        rows.append((b - a, a - start, states.get(a, "?"), inside, libs, sched.get(a),
                     sched.get(b), drawn))
    rows.sort(key=lambda r: -r[0])
    print(f"{len(rows)} gaps > 0.1 s over {beats[-1] - beats[0]:.1f} s, {len(beats)} beats; "
          f"render {data['render_ended'] - start:.1f} s")
    totals = Counter()
    for gap, at, state, inside, libs, s0, s1, _ in rows:
        if s0 and s1:
            totals["main running"] += (s1[0][0] - s0[0][0]) / 1e9
            totals["main waiting for a CPU"] += (s1[0][1] - s0[0][1]) / 1e9
            totals["GL threads running"] += (s1[1][0] - s0[1][0]) / 1e9
            totals["GL threads waiting for a CPU"] += (s1[1][1] - s0[1][1]) / 1e9
        totals["gaps"] += gap
    for gap, at, state, inside, libs, s0, s1, drawn in rows[:40]:
        ours = ", ".join(f"{k} {v:.2f}" for k, v in inside.most_common(3)) or "-"
        line = f"{gap:6.2f} s at {at:+7.2f} ({state}): ours [{ours}]"
        if s0 and s1:  # schedstat: [run, wait] ns of the main thread and the GL threads
            line += (f"; main ran {(s1[0][0] - s0[0][0]) / 1e9:.2f} s, waited for a CPU "
                     f"{(s1[0][1] - s0[0][1]) / 1e9:.2f} s; GL threads ran "
                     f"{(s1[1][0] - s0[1][0]) / 1e9:.2f} s, waited "
                     f"{(s1[1][1] - s0[1][1]) / 1e9:.2f} s")
        if samples:
            where = ", ".join(f"{k} {v / HZ:.2f}" for k, v in libs.most_common(3)) or "-"
            line += f"; main thread in [{where}]"
        if drawn:  # the regions Blender drew in the gap (gui_session.py's draw callbacks)
            line += "; drew [" + ", ".join(sorted(drawn)) + "]"
        print(line)
    print("all gaps:", ", ".join(f"{k} {v:.2f} s" for k, v in totals.items()))
    total = Counter()
    for row in rows:
        total.update(row[4])
    if samples:
        print("main thread CPU in all gaps:",
              ", ".join(f"{k} {v / HZ:.2f} s" for k, v in total.most_common(8)))


if __name__ == "__main__":
    main()
