"""The artist's session, for real: Debian's Blender 3.4 in a window under Xvfb, the add-on
installed from its zip, an artist's file open, a local farm (real kubo and coordinator).
tests/e2e/gui_session.py drives Blender from inside (a timer, real X key presses through
xdotool) and reports; this test checks its numbers and the coordinator's view.

One Blender session covers every "Done when" of issue 16 (one long render only: the machine
is shared): a >= 20 s farm render with a 0.05 s heartbeat timer and key presses; 3 jobs done;
Pause, Esc, F12, untick and quit each during a render of the same job (released each time,
attempts unchanged); the artist's file checked after 3 jobs and a cancelled one; the
screenshots for docs/ made on the way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

import demo_farm
from blender_runner import blender_env
from e2e_helpers import HERE

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    not (demo_farm.DEBIAN_BLENDER and shutil.which("xvfb-run") and shutil.which("xdotool")),
    reason="needs Debian's blender, xvfb-run and xdotool (scripts/setup installs them)")]

REPO = HERE.parents[1]
DOCS_IMG = REPO / "docs" / "img"
LONG_RENDER_S = 22     # Cycles time limit of the long job (>= 20 s of rendering)
CANCEL_RENDER_S = 300  # the job that is cancelled five times never ends on its own
# the reference: the artist's own F12 render (Blender's render job without Farmhand) of a
# scene set up like the long job, measured the same way (shorter: the machine is shared)
REFERENCE_RENDER_S = 10
SCREEN = "1024x640x24"
# Issue 16's targets (0.05 s heartbeat gap <= 0.25 s, key <= 0.5 s, cancel <= 2 s) are checked
# by `scripts/bench gui` (FARMHAND_GUI_BENCH=1): timings depend on the machine's load (a
# shared 2-core box with software OpenGL under Xvfb reaches several seconds). The test
# itself checks behaviour, with bounds that only catch a blocked or hung main thread.
STRICT = os.environ.get("FARMHAND_GUI_BENCH") == "1"
GAP_LIMIT_S = 0.25 if STRICT else 15.0
KEY_LIMIT_S = 0.5 if STRICT else 15.0
CANCEL_LIMIT_S = 2.0 if STRICT else 15.0


def addon_zip(dest: Path) -> Path:
    """The legacy add-on zip as packaging builds it: farmhand/ with the core in vendor/
    (scripts/setup stages addon/farmhand/vendor for this tree)."""
    src = REPO / "addon" / "farmhand"
    assert (src / "vendor" / "farmhand_core").is_dir(), "run scripts/setup (stages vendor/)"
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("farmhand") / path.relative_to(src))
    return dest


def slow_scene(src: Path, dest: Path, seconds: int) -> Path:
    """``src`` with Cycles sampling until its time limit: renders ``seconds`` s anywhere."""
    expr = ("import bpy; s = bpy.context.scene; s.cycles.samples = 1000000; "
            f"s.cycles.time_limit = {seconds}; s.cycles.use_adaptive_sampling = False; "
            "s.render.resolution_x = 64; s.render.resolution_y = 48; "
            "s.render.threads_mode = 'FIXED'; "
            "s.render.threads = 1; "
            f"bpy.ops.wm.save_as_mainfile(filepath={str(dest)!r}, compress=False)")
    subprocess.run([demo_farm.DEBIAN_BLENDER, "-b", "--factory-startup", str(src),
                    "--python-expr", expr], capture_output=True, timeout=120, check=True)
    return dest


def ts(iso: str) -> float:
    """A coordinator timestamp (ISO 8601 UTC) as Unix seconds."""
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


def figure(name: str, measured, goal, met: bool) -> dict:
    """One row of `scripts/bench gui`'s table (goal: the issue's Done-when bound; met None:
    a reference figure, shown for comparison)."""
    return {"figure": name, "measured": measured, "goal": goal,
            "met": None if met is None else bool(met)}


def bench_rows(test: str, rows: list[dict]) -> None:
    """Print the figures and, under `scripts/bench gui` (FARMHAND_GUI_BENCH_DIR), keep them
    for its one table (scripts/gui_bench_table.py)."""
    print("GUI FIGURES", test, json.dumps(rows), "load", os.getloadavg())
    out = os.environ.get("FARMHAND_GUI_BENCH_DIR")
    if out:
        Path(out, f"{test}.json").write_text(json.dumps(
            {"rows": rows, "load": os.getloadavg()}, indent=1))


def seconds(value) -> str:
    return "none" if value is None else f"{value:.2f} s"


def run_session(spec: dict, tmp_path: Path, artist: Path):
    """Run gui_session.py with ``spec`` in Blender under Xvfb; returns (result, events by
    name). Fails with the end of Blender's output when the session reported an error."""
    spec_path = tmp_path / "spec.json"
    artist_out = tmp_path / "artist-output"
    spec_path.write_text(json.dumps({**spec, "artist_out": str(artist_out)}))
    env = blender_env(tmp_path)
    env.pop("FARMHAND_CORE_PATH", None)  # the core comes from the zip's vendor/
    env.pop("PYTHONPATH", None)
    # normal priority: this measures how a desktop application answers its user (pytest
    # itself may run under nice); one core of the two is left to the artist by the worker
    cmd = ["nice", "-n", str(-os.nice(0)), "xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}",
           demo_farm.DEBIAN_BLENDER,
           "--factory-startup", str(artist), "--python",
           str(HERE / "gui_session.py"), "--", str(spec_path)]
    log_path = tmp_path / "blender.log"  # written as Blender runs (a hung session leaves it)
    with open(log_path, "w") as out:
        done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=900)
    log = log_path.read_text(errors="replace")
    lines = [l for l in log.splitlines() if l.startswith("RESULT ")]
    # (xvfb-run passes Blender's exit status on: -11 / 139 is a segfault)
    assert lines, f"Blender exited with {done.returncode} and no RESULT:\n{log[-6000:]}"
    # every farm frame started in the sharing watcher's turn, with no context override
    # (an operator under one crashes Blender when another thread runs Python: docs/addon.md)
    starts = [l for l in log.splitlines() if "as a Blender render job" in l]
    assert starts and all("started in the window's turn" in l for l in starts), starts
    result = json.loads(lines[-1][len("RESULT "):])
    assert not result["errors"], result["errors"][0] + log[-4000:]
    events = {e["name"]: e for e in result["events"]}
    # the artist's own F12 renders (they pressed no "save") wrote nothing to their output path
    written = sorted(str(p.relative_to(artist_out)) for p in artist_out.rglob("*")) \
        if artist_out.exists() else []
    assert written == [], f"the artist's F12 render saved {written} into their output path"
    return result, events


def test_farm_renders_in_a_live_window_and_every_stop_path_releases_the_job(
        coordinator, kubo, job_files, tmp_path):
    files = job_files["files"]
    long_blend = slow_scene(files / "plain.blend", tmp_path / "long.blend", LONG_RENDER_S)
    cancel_blend = slow_scene(files / "plain.blend", tmp_path / "cancel.blend", CANCEL_RENDER_S)
    submit = lambda blend, **kw: demo_farm.submit_job(coordinator, kubo, blend, **kw)  # noqa
    long_job = submit(long_blend, frames=[1])
    # with Auto Run on: a Python driver and a registered text block must not run
    short = [submit(files / name, frames=[2]) for name in ("driver.blend", "autorun.blend")]
    hostile = submit(files / "abspath.blend", frames=[2], max_attempts=1)
    cancel_cid = kubo.add(cancel_blend)  # the session creates this job after 3 jobs
    shots = tmp_path / "shots"
    shots.mkdir()
    spec = {
        "zip": str(addon_zip(tmp_path / "farmhand.zip")),
        "tests_addon": str(HERE.parent / "addon"), "shots": str(shots), "key_probes": 5,
        "reference_render_s": REFERENCE_RENDER_S,
        "jobs": {"long": long_job["id"], "short": [j["id"] for j in short]},
        "cancel_cid": cancel_cid, "coordinator": coordinator.url,
        "prefs": {"backend_url": coordinator.url, "ipfs_rpc_urls": kubo.api_url,
                  "gateway_urls": kubo.gateway_url, "key_file": str(tmp_path / "worker.key"),
                  "cache_dir": str(tmp_path / "work")},
    }
    result, events = run_session(spec, tmp_path, files / "artist.blend")

    # a >= 20 s farm render with a live window
    rendered = events["long job rendered"]
    assert rendered["render_state"] == "done"
    # the jobs' frames (1 for the long job, 2 for the short ones) were rendered, not the
    # artist's frame 5, which the render start lends them without RNA (farm_render.FrameField)
    assert rendered["artist_frame"] == 5 and 1 in rendered["farm_frames"], rendered
    assert set(rendered["farm_frames"]) <= {1, 2}, rendered
    assert rendered["render_s"] >= 20
    print("GUI NUMBERS", json.dumps({k: events[k] for k in events if k != "screenshot"}))
    print("GUI LOAD", os.getloadavg())
    (tmp_path / "gui-numbers.json").write_text(json.dumps(result["events"], indent=1))
    # the panel's numbers: what the coordinator credits (3 jobs at 1.00 each; the refused
    # hostile job's failure report may come before or after)
    shown = events["reward shown"]
    assert (shown["numbers"]["jobs_completed"], shown["numbers"]["reward_total"],
            shown["error"]) == (3, "3", ""), shown
    cancel_id = events["cancel job created"]["job"]
    final = demo_farm.get_job(coordinator, cancel_id)
    released = [e for e in demo_farm.job_events(coordinator, cancel_id)
                if e["type"] == "released"]
    release_after = {}
    for label in ("pause", "esc", "f12", "untick", "quit"):
        asked = events[f"{label}: request"]["wall"]
        after = [ts(e["created_at"]) - asked for e in released if ts(e["created_at"]) >= asked]
        release_after[label] = after[0] if after else None
    keys = rendered["key_latency_s"]
    append_s = events["long job rendering"]["append_s"]
    worst_key = None if None in keys else max(keys)
    reference = events["reference render"]
    ref_keys = [k for k in reference["key_latency_s"] if k is not None]  # (some never seen)
    rows = [
        figure(f"reference, Blender's own F12 render ({reference['render_s']:.0f} s): "
               "longest gap", seconds(reference["max_gap_s"]), "(reference)", None),
        figure(f"reference, Blender's own F12 render: key press handled (worst of "
               f"{len(ref_keys)} seen)", seconds(max(ref_keys, default=None)), "(reference)",
               None),
        figure("reference, Blender's own F12 render: Esc -> render ended",
               seconds(events["reference esc"]["cancel_s"]), "(reference)", None),
        figure(f"heartbeat: longest gap during the {rendered['render_s']:.0f} s farm render",
               seconds(rendered["max_gap_s"]), "<= 0.25 s", rendered["max_gap_s"] <= 0.25),
        figure("heartbeat: longest gap over the whole job but the append",
               seconds(rendered["job_max_gap_s"]), "<= 0.25 s",
               rendered["job_max_gap_s"] <= 0.25),
        figure(f"heartbeat: gap over the scene append ({append_s:.2f} s of it appending)",
               seconds(rendered["append_gap_s"]), "<= 0.5 s", rendered["append_gap_s"] <= 0.5),
        figure(f"key press handled during the render (worst of {len(keys)})",
               seconds(worst_key), "<= 0.5 s", worst_key is not None and worst_key <= 0.5),
    ]
    for label in ("pause", "esc", "f12", "untick"):
        cancel_s = events[f"{label}: released"]["cancel_s"]
        rows.append(figure(f"{label}: farm render cancelled after the request",
                           seconds(cancel_s), "<= 2 s", cancel_s <= 2.0))
    for label, after in release_after.items():
        rows.append(figure(f"{label}: 'released' event after the request", seconds(after),
                           "<= 2 s", after is not None and after <= 2.0))
    rows += [
        figure("cancelled job: status, attempts, released events",
               f"{final['status']}, {final['attempts']}, {len(released)}", "pending, 0, 5",
               (final["status"], final["attempts"], len(released) >= 5) == ("pending", 0, True)),
        figure("F12: the artist's render started after the key",
               seconds(events["artist render started"]["after_s"]), "<= 2 s",
               events["artist render started"]["after_s"] <= 2.0),
        figure("artist's file after 3 jobs and a cancelled one (what changed)",
               ", ".join(k for k, same in result["file_same"].items() if not same) or "nothing",
               "nothing", all(result["file_same"].values())),
    ]
    made = [n for n in ("gui-preferences.png", "gui-during-job.png", "gui-statusbar.png",
                        "gui-panel.png") if (shots / n).is_file()]
    rows.append(figure("screenshots made by the test (for docs/img and the README)",
                       f"{len(made)} of 4", "4 of 4", len(made) == 4))
    bench_rows("main", rows)
    assert rendered["max_gap_s"] <= GAP_LIMIT_S, rendered
    assert all(l is not None and l <= KEY_LIMIT_S for l in rendered["key_latency_s"]), rendered
    assert demo_farm.get_job(coordinator, long_job["id"])["status"] == "completed"
    for job in short:
        assert demo_farm.wait_for_job(coordinator, job["id"], timeout=60)["status"] == \
            "completed"
    refused = demo_farm.get_job(coordinator, hostile["id"])
    assert refused["status"] == "failed", refused
    assert "(image 'Texture', outside the job directory)" in refused["error"], refused["error"]
    assert not list(job_files["markers"].iterdir()), "Python from a job file ran (Auto Run on)"

    # after 3 jobs and a cancelled one the artist's file is as it was
    assert all(result["file_same"].values()), events["file checks"]

    # Pause, Esc, F12, untick: cancelled within 2 s, released; quit: released on exit
    for label in ("pause", "esc", "f12", "untick"):
        done = events[f"{label}: released"]
        assert done["render_state"] == "cancelled", done
        assert done["cancel_s"] <= CANCEL_LIMIT_S, done
    assert events["esc: released"]["pause_reason"] == "you cancelled the render (Esc)"
    assert events["f12: released"]["pause_reason"] == "you are rendering"
    assert events["artist render started"]["after_s"] <= CANCEL_LIMIT_S
    assert final["status"] == "pending", final
    assert final["attempts"] == 0
    assert len(released) >= 5, released
    for label, after in release_after.items():
        assert after is not None and after <= CANCEL_LIMIT_S, (label, released)

    # the screenshots for docs/ and the README
    for name in ("gui-during-job.png", "gui-statusbar.png", "gui-panel.png"):
        assert (shots / name).stat().st_size > 1000, name
    if os.environ.get("FARMHAND_UPDATE_DOCS") == "1":
        DOCS_IMG.mkdir(exist_ok=True)
        for name in ("gui-during-job.png", "gui-statusbar.png", "gui-panel.png",
                     "gui-preferences.png"):
            if (shots / name).exists():
                shutil.copy(shots / name, DOCS_IMG / name)


def test_only_when_idle_stop_after_this_job_and_keep_sharing_after_restart(
        coordinator, kubo, job_files, tmp_path):
    files = job_files["files"]
    idle_blend = slow_scene(files / "plain.blend", tmp_path / "idle.blend", 20)
    idle_job = demo_farm.submit_job(coordinator, kubo, idle_blend, frames=[1])
    last_blend = slow_scene(files / "plain.blend", tmp_path / "last.blend", 20)
    last_cid = kubo.add(last_blend)  # the session creates this job once sharing resumes
    shots = tmp_path / "shots"
    shots.mkdir()
    spec = {
        "scenario": "idle", "zip": str(addon_zip(tmp_path / "farmhand.zip")),
        "tests_addon": str(HERE.parent / "addon"), "shots": str(shots), "key_probes": 0,
        "jobs": {"idle": idle_job["id"]}, "last_cid": last_cid, "coordinator": coordinator.url,
        "prefs": {"backend_url": coordinator.url, "ipfs_rpc_urls": kubo.api_url,
                  "gateway_urls": kubo.gateway_url, "key_file": str(tmp_path / "worker.key"),
                  "cache_dir": str(tmp_path / "work"), "only_when_idle": True,
                  "idle_minutes": 0.05},
    }
    result, events = run_session(spec, tmp_path, files / "artist.blend")

    # Only When Idle: nothing starts while the artist works; their input gives the job back
    assert events["while the artist works"]["worker_state"] == "paused"
    assert events["while the artist works"]["pause_reason"].startswith(
        "waiting until you are away for 0.05 min")
    given_back = events["input: released"]
    released = [e for e in demo_farm.job_events(coordinator, idle_job["id"])
                if e["type"] == "released"]
    asked = events["input: request"]["wall"]
    after = [ts(e["created_at"]) - asked for e in released if ts(e["created_at"]) >= asked]
    bench_rows("idle", [
        figure("Only When Idle, the artist's input: farm render cancelled after it",
               seconds(given_back["cancel_s"]), "<= 2 s", given_back["cancel_s"] <= 2.0),
        figure("Only When Idle, the artist's input: 'released' event after it",
               seconds(after[0] if after else None), "<= 2 s", bool(after) and after[0] <= 2),
    ])
    assert given_back["render_state"] == "cancelled", given_back
    assert given_back["cancel_s"] <= CANCEL_LIMIT_S
    assert given_back["pause_reason"].startswith("waiting until you are away"), given_back
    assert released[0]["detail"].startswith("you are working (Only when idle)"), released
    # Stop After This Job: the job finished and was handed in, then sharing stopped
    assert events["stopped after the job"]["jobs_done"] == 1
    after_stop = events["reward after the stop"]
    assert (after_stop["numbers"]["jobs_completed"], after_stop["numbers"]["reward_total"],
            after_stop["error"]) == (1, "1", ""), after_stop
    finished = events["stop after this job: request"]["job"]
    job = demo_farm.wait_for_job(coordinator, finished, timeout=60)
    assert (job["status"], job["attempts"]) == ("completed", 0), job
    # Keep Sharing After Restart: a visible notice first; cancelled -> no sharing
    notice = events["notice"]
    assert 0 < notice["seconds_left"] <= 10
    assert events["notice cancelled"] == {**events["notice cancelled"], "sharing": False,
                                          "share_gpu": False}
    assert events["resumed after the notice"]["sharing"] is True
    # quit while the last job renders (or waits): it is released, attempts unchanged
    final = demo_farm.get_job(coordinator, events["quit: request"]["job"])
    assert (final["status"], final["attempts"]) == ("pending", 0), final
    assert (shots / "gui-resume-notice.png").stat().st_size > 500


# Rounds of cancel -> release -> resume -> the next append in one Blender session: a few in
# every test run, FARMHAND_GUI_LOOPS (scripts/bench gui: 30) for the proof that the crash of
# issue 16 (Debian Blender 3.4 segfaulted on the append after an Esc cancel) is gone.
LOOPS = int(os.environ.get("FARMHAND_GUI_LOOPS", "8"))
LOOP_ACTIONS = os.environ.get("FARMHAND_GUI_LOOP_ACTIONS",
                              "pause,esc,untick,f12,esc_resume").split(",")


def test_cancel_release_resume_append_rounds_never_crash_blender(
        coordinator, kubo, job_files, tmp_path):
    cancel_blend = slow_scene(job_files["files"] / "plain.blend", tmp_path / "cancel.blend",
                              CANCEL_RENDER_S)
    job = demo_farm.submit_job(coordinator, kubo, cancel_blend, frames=[1])
    spec = {
        "scenario": "loop", "loops": LOOPS, "loop_actions": LOOP_ACTIONS,
        "zip": str(addon_zip(tmp_path / "farmhand.zip")),
        "tests_addon": str(HERE.parent / "addon"), "shots": str(tmp_path), "key_probes": 0,
        "jobs": {"cancel": job["id"]}, "coordinator": coordinator.url,
        "prefs": {"backend_url": coordinator.url, "ipfs_rpc_urls": kubo.api_url,
                  "gateway_urls": kubo.gateway_url, "key_file": str(tmp_path / "worker.key"),
                  "cache_dir": str(tmp_path / "work")},
    }
    result, events = run_session(spec, tmp_path, job_files["files"] / "artist.blend")
    rounds = [e for e in result["events"] if e["name"] == "loop"]
    assert [e["round"] for e in rounds] == list(range(LOOPS))
    assert {e["render_state"] for e in rounds} == {"cancelled"}, rounds
    cancels = [e["cancel_s"] for e in rounds]
    # every round gave the job back: a release each, and no release counted an attempt. (An
    # untick stops the engine; a claim it cuts off holds the job until its lease expires,
    # which counts one: the engine's open bug, seen as a 'lease_expired' event, not ours.)
    final = demo_farm.get_job(coordinator, job["id"])
    history = demo_farm.job_events(coordinator, job["id"])
    released = [e for e in history if e["type"] == "released"]
    # each round's 'released' event, by the coordinator's clock, after its request: the job
    # goes back before the render has ended (gui_worker._end_job), whatever Cycles' batch
    release_after = []
    for r in rounds:
        after = [ts(e["created_at"]) - r["asked_wall"] for e in released
                 if ts(e["created_at"]) >= r["asked_wall"]]
        release_after.append(min(after) if after else None)
    known = [a for a in release_after if a is not None]
    bench_rows("loop", [
        figure(f"cancel -> release -> resume -> next append, rounds in one session without a "
               f"crash (cancel took {min(cancels):.2f}-{max(cancels):.2f} s)",
               f"{len(rounds)} of {LOOPS}", f"{LOOPS} of {LOOPS} (>= 30 in the bench)",
               len(rounds) == LOOPS and LOOPS >= 30),
        figure(f"loop: 'released' event after the request (worst of {len(known)} rounds)",
               seconds(max(known, default=None)), "<= 2 s",
               len(known) == LOOPS and max(known) <= 2.0)])
    assert None not in release_after, list(zip(rounds, release_after))
    expired = [e for e in history if e["type"] == "lease_expired"]
    assert final["status"] in ("pending", "assigned"), final
    assert final["attempts"] == len(expired), (final, history)
    assert len(released) >= LOOPS, len(released)
    # nothing the job appended is left: the artist's scene only
    assert events["loop done"]["scenes"] == ["Scene"], events["loop done"]
    # no step of the worker failed (e.g. a call to the engine about a job already given back)
    log = (tmp_path / "blender.log").read_text(errors="replace")
    assert "unexpected error in state" not in log, log[-4000:]
    # nor on disk: no job dir, no frame staged (each cancelled render wrote its partial frame
    # into the staging dir after the job had been released and its dir removed)
    work = tmp_path / "work"
    assert sorted(p.name for p in work.glob("job-*")) == [], sorted(work.iterdir())
    assert sorted(p.name for p in (work / "rendering").rglob("*")) == [], \
        sorted((work / "rendering").rglob("*"))
