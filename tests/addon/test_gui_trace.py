"""The GUI worker's responsiveness tooling, without Blender: farmhand.trace lines a
heartbeat's gaps up with the add-on's recorded main-thread work, and `scripts/bench gui`'s
table (scripts/gui_bench_table.py) says which "Done when" figure missed its goal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "addon"))
from farmhand import trace  # noqa: E402


def test_each_gap_lists_the_work_inside_it_and_how_much_of_it_was_ours():
    beats = [0.0, 0.05, 0.10, 0.60, 0.65, 1.65]
    spans = [(0.12, 0.32, "tick preparing"), (0.15, 0.30, "audit"),  # nested: counted once
             (0.40, 0.45, "draw panel"), (0.70, 0.75, "gc gen2"), (2.0, 2.1, "append")]
    gaps = trace.gaps_explained(beats, recorded=spans)
    assert [g["gap_s"] for g in gaps] == [0.5, 1.0]
    first, second = gaps
    assert first["at"] == 0.1
    assert first["spans"] == [("tick preparing", 0.2), ("audit", 0.15), ("draw panel", 0.05)]
    assert first["ours_s"] == 0.25
    assert second["spans"] == [("gc gen2", 0.05)]
    assert second["ours_s"] == 0.05


def test_nothing_is_recorded_while_tracing_is_off(monkeypatch):
    monkeypatch.setattr(trace, "ENABLED", False)
    before = len(trace.spans())
    with trace.span("append"):
        pass
    trace.record(0.0, 1.0, "tick waiting")
    assert len(trace.spans()) == before


def row(name, met):
    return {"figure": name, "measured": "0.10 s", "goal": "<= 0.25 s", "met": met}


def table(tmp_path, sessions):
    for name, rows in sessions.items():
        (tmp_path / f"{name}.json").write_text(json.dumps({"rows": rows,
                                                           "load": [1.0, 2.0, 3.0]}))
    return subprocess.run([sys.executable, str(REPO / "scripts" / "gui_bench_table.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=60)


def test_the_bench_table_passes_only_when_every_figure_met_its_goal(tmp_path):
    ok = table(tmp_path, {"main": [row("heartbeat gap", True)], "idle": [row("input", True)],
                          "loop": [row("rounds without a crash", True)]})
    assert ok.returncode == 0, ok.stdout
    assert "3 of 3 figures met their goal" in ok.stdout
    assert "main session 1.00 2.00 3.00" in ok.stdout
    missed = table(tmp_path, {"main": [row("heartbeat gap", False)]})
    assert missed.returncode == 1
    assert "heartbeat gap" in missed.stdout and " NO" in missed.stdout


def test_a_session_that_measured_nothing_fails_the_bench(tmp_path):
    out = table(tmp_path, {"main": [row("heartbeat gap", True)]})
    assert out.returncode == 1
    assert "the idle session measured nothing (it failed first: see above)" in out.stdout


def test_reference_rows_are_shown_but_not_counted(tmp_path):
    reference = {**row("Blender's own F12 render: longest gap", True), "met": None}
    out = table(tmp_path, {"main": [reference, row("heartbeat gap", True)],
                           "idle": [row("input", True)],
                           "loop": [row("rounds without a crash", True)]})
    assert out.returncode == 0, out.stdout
    assert "3 of 3 figures met their goal" in out.stdout
    line = next(l for l in out.stdout.splitlines() if l.startswith("Blender's own"))
    assert line.endswith("ref")
