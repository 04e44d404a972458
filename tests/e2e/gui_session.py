"""Runs inside Debian's Blender 3.4 *with a window* (under Xvfb): an artist's session with
the Farmhand add-on installed from its zip, driven step by step from a timer, with real X
key presses (xdotool) for the artist's keys. Prints ``EVENT {json}`` lines as it goes and
one ``RESULT {json}`` before it quits Blender (the last step: quitting while a job renders).

    blender ARTIST.blend --python gui_session.py -- SPEC.json

SPEC: {"zip", "tests_addon", "prefs": {AddonPreferences values}, "jobs": {"long": id,
"short": [id, id], "cancel": id}, "shots": DIR, "key_probes": N}

Steps (each waits for what it needs, see ``scenario``): install + enable the add-on from the
zip; baseline of the artist's file; Share my GPU (the operator behind the button); the long
job renders (0.05 s heartbeat timer, PAUSE key presses, screenshots); the two short jobs;
the cancel job is paused (Pause), then the file checks; Esc; F12; untick; quit.
SPEC "scenario": "idle" (Only When Idle, Stop After This Job, Keep Sharing After Restart) and
"loop" (SPEC "loops" rounds of cancel -> release -> resume -> the next append) run instead.
"""

import faulthandler
import hashlib
import json
import os
import subprocess
import sys
import time
import traceback

import bpy

SPEC = json.load(open(sys.argv[sys.argv.index("--") + 1]))
sys.path.insert(0, SPEC["tests_addon"])
from harness import snapshot  # noqa: E402

faulthandler.enable(all_threads=True)  # a crash prints every thread's Python stack
# The artist's output path: their F12 renders must save nothing there (a farm render's
# write_still must not become the last-used value of Render Image; farm_render.py)
bpy.context.scene.render.filepath = os.path.join(SPEC["artist_out"], "")
OUT = {"events": [], "errors": []}
BEATS = []          # (monotonic time, worker state) of the 0.05 s heartbeat timer
KEYS_SEEN = []      # monotonic times the probe saw a PAUSE key press
ARTIST_RENDER = []  # monotonic times render_init fired for the artist's scene
FARM_FRAMES = []    # frame_current of each farm scene at its render_init


def event(name, **fields):
    fields.update(name=name, t=round(time.monotonic(), 3), wall=round(time.time(), 3))
    OUT["events"].append(fields)
    print("EVENT " + json.dumps(fields), flush=True)


def worker():
    from farmhand import sharing

    return sharing.session()["worker"]


def worker_state():
    try:
        w = worker()
    except ImportError:  # the add-on is not installed yet
        return "none"
    return w.state if w is not None else "none"


TRACE = os.environ.get("FARMHAND_TRACE") == "1"
SCHED = []  # with TRACE: (time, main thread's [run, runqueue wait] ns, llvmpipe threads' same)


def schedstat():
    """[ns running, ns waiting for a CPU] of the main thread and of the software-OpenGL
    threads (llvmpipe-N) together (/proc/self/task/TID/schedstat)."""
    main, gl = [0, 0], [0, 0]
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                run, wait = (int(x) for x in f.read().split()[:2])
        except OSError:
            continue
        into = main if int(tid) == os.getpid() else gl if name.startswith("llvmpipe") else None
        if into is not None:
            into[0] += run
            into[1] += wait
    return main, gl


DRAWS = []  # with TRACE: (time, "Space/REGION") each time Blender drew a region


def trace_region_draws():
    """With TRACE: a POST_PIXEL draw callback on every region of every editor type records
    when Blender drew it (which regions a heartbeat gap redrew: scripts/gui_gaps.py)."""
    regions = ("WINDOW", "HEADER", "UI", "TOOLS", "CHANNELS", "NAVIGATION_BAR", "FOOTER",
               "TOOL_HEADER", "EXECUTE")
    for name in dir(bpy.types):
        space = getattr(bpy.types, name)
        if not (name.startswith("Space") and hasattr(space, "draw_handler_add")):
            continue
        for region in regions:
            def drawn(label=f"{name[5:]}/{region}"):
                DRAWS.append((time.monotonic(), label))
            try:
                space.draw_handler_add(drawn, (), region, "POST_PIXEL")
            except (TypeError, ValueError, RuntimeError):
                continue


def beat():
    now = time.monotonic()
    BEATS.append((now, worker_state()))
    if TRACE:
        SCHED.append((now, *schedstat()))
    return 0.05


TURN_CALLS = []  # (callable, result box): run by the key probe in its window's turn


class TEST_OT_key_probe(bpy.types.Operator):
    """Records when a PAUSE key press reaches Blender's event handling, and runs the steps'
    operator calls in its modal turn (test only): there the window is Blender's own
    context, so no call needs a context override -- an operator under one crashes Blender
    when another thread runs Python meanwhile (docs/addon.md)."""

    bl_idname = "test.key_probe"
    bl_label = "Key probe"

    def invoke(self, context, _event):
        context.window_manager.modal_handler_add(self)
        context.window_manager.event_timer_add(0.02, window=context.window)
        return {"RUNNING_MODAL"}

    def modal(self, _context, ev):
        if ev.type == "PAUSE" and ev.value == "PRESS":
            KEYS_SEEN.append(time.monotonic())
        while TURN_CALLS:
            call, box = TURN_CALLS.pop(0)
            try:
                box["value"] = call()
            except Exception as exc:  # handed to the step that asked
                box["error"] = exc
            box["done"] = True
        return {"PASS_THROUGH"}


def start_key_probe():
    """The key probe in the main window (before sharing: no other thread runs Python)."""
    with window_override():
        bpy.ops.test.key_probe("INVOKE_DEFAULT")


def in_turn(call, timeout=10.0):
    """``value = yield from in_turn(call)``: ``call()`` in the key probe's next modal turn
    (raises what it raised)."""
    box = {}
    TURN_CALLS.append((call, box))
    deadline = time.monotonic() + timeout
    while "done" not in box:
        if time.monotonic() > deadline:
            raise TimeoutError("the key probe's modal turn did not come")
        yield 0.02
    if "error" in box:
        raise box["error"]
    return box.get("value")


@bpy.app.handlers.persistent
def on_render_init(scene, *_args):
    if scene.name == ARTIST_SCENE:
        ARTIST_RENDER.append(time.monotonic())
    else:  # a farm render: the frame it renders (the artist's scene is at another frame)
        FARM_FRAMES.append(scene.frame_current)


def main_window():
    return bpy.context.window_manager.windows[0]


def window_override():
    win = main_window()
    return bpy.context.temp_override(window=win, screen=win.screen)


def retry(call, timeout=10.0):
    """``yield from retry(lambda: bpy.ops...)``: run an operator call from a step, again on
    the next turns while Blender refuses it with "can't modify blend data in this state
    (drawing/rendering)". (Blender keeps that state in one process-wide flag, not per
    thread: a 40-round loop run saw the Resume after a cancel refused so, once; the session
    ended there, its quit refused the same way, and Blender sat idle until the test's
    timeout -- the "worker stopped claiming" stall.)"""
    deadline = time.monotonic() + timeout
    refused_since = 0.0
    while True:
        try:
            if refused_since and time.monotonic() - refused_since >= 1.0:
                from farmhand import write_gate  # the guard is stuck: where writes are allowed

                event("operator refused for 1 s, called through the write gate")
                return write_gate.run(call)
            return (yield from in_turn(call))
        except RuntimeError as exc:
            if "in this state" not in str(exc) or time.monotonic() > deadline:
                raise
            refused_since = refused_since or time.monotonic()
            event("operator refused, retried", error=str(exc))
        yield 0.05


def farmhand_op(name, **kwargs):
    """bpy.ops.farmhand.NAME(**kwargs) in the main window (as it is in the key probe's turn:
    see ``in_turn``; else through an override)."""
    if bpy.context.window == main_window():
        return getattr(bpy.ops.farmhand, name)(**kwargs)
    with window_override():
        return getattr(bpy.ops.farmhand, name)(**kwargs)


def xdotool(*args):
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10)


def install_addon():
    """Install and enable the add-on from SPEC["zip"] (as an artist does, through the
    preferences' operators) and set SPEC["prefs"] on its preferences; -> bpy's Preferences."""
    bpy.ops.preferences.addon_install(filepath=SPEC["zip"], overwrite=True)
    bpy.ops.preferences.addon_enable(module="farmhand")
    prefs = bpy.context.preferences
    addon = prefs.addons["farmhand"].preferences
    for key, value in SPEC["prefs"].items():
        setattr(addon, key, value)
    return prefs


def focus_blender():
    found = xdotool("search", "--name", "Blender").stdout.split()
    if found:
        xdotool("windowfocus", found[0])
        xdotool("mousemove", "--window", found[0], "400", "300")


def shot(name, crop=None):
    """Screenshot of the whole X screen (``import``), optionally cropped (w, h, x, y); a
    generator (``yield from shot(...)``): ``import`` runs as a child process while Blender
    keeps running, and this step only looks every 0.05 s whether it is done. (Run blocking,
    ImageMagick's start, the X grab and the PNG encoding held Blender's main thread 0.2 s per
    shot: the two shots 3 s into the long render were the only heartbeat gap over 0.25 s of
    that render, at load 2.6 -- the test's own work, not the worker's.)"""
    path = os.path.join(SPEC["shots"], name)
    args = ["import", "-window", "root"]
    if crop:
        args += ["-crop", "{}x{}+{}+{}".format(*crop)]
    proc = subprocess.Popen([*args, path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            break
        yield 0.05
    event("screenshot", path=path, exists=os.path.isfile(path))


def create_job(cid):
    """POST /api/v1/jobs on the (dev-mode) coordinator; returns the new job's id."""
    import urllib.request

    body = json.dumps({"asset_cid": cid, "frames": [1], "reward": "1.00"}).encode()
    request = urllib.request.Request(SPEC["coordinator"] + "/api/v1/jobs", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())["id"]


def area_crop_of(area):
    win = main_window()
    return (area.width, area.height, area.x, win.height - area.y - area.height)


def render_result_digest(path):
    image = bpy.data.images.get("Render Result")
    if image is None:
        return None
    with window_override():
        image.save_render(path)
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def file_state(tag):
    """What must not change: datablocks, selection, unsaved flag, Render Result, undo."""
    with window_override():
        can_undo = bpy.ops.ed.undo.poll()
    return {
        "datablocks": snapshot(bpy),
        "selected": sorted(o.name for o in bpy.context.view_layer.objects if o.select_get()),
        "active": getattr(bpy.context.view_layer.objects.active, "name", None),
        "dirty": bpy.data.is_dirty, "can_undo": can_undo,
        "scenes": sorted(s.name for s in bpy.data.scenes),
        "render_result": render_result_digest(os.path.join(SPEC["shots"], f"rr-{tag}.png")),
    }


# -- waiting helpers (generators yield the seconds to sleep) ------------------------------

def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what} (worker "
                               f"state {worker_state()})")
        yield 0.05


def rendering_job(job_id):
    w = worker()
    return (w is not None and w.state == "rendering" and w.job is not None and
            int(w.job.id) == job_id and w.render is not None and
            w.render.state == "running")


def cancel_measure(label, job_id, act):
    """Let ``job_id`` render 3 s, call ``act()``, time until the render is cancelled and
    the job released (the worker leaves 'rendering'/'handing over')."""
    yield from wait_for(lambda: rendering_job(job_id), 240, f"job {job_id} rendering")
    yield 3.0
    w = worker()
    render = w.render
    event(f"{label}: request", job=job_id)
    asked = time.monotonic()
    yield from retry(act)
    yield from wait_for(lambda: render.state != "running", 10, "the render to end")
    # when the render ended, by the worker's own clock (this generator runs on the same
    # main thread, so it may see it only a gap later)
    ended = render.ended_at or time.monotonic()
    yield from wait_for(lambda: worker() is None or worker().job is None, 10,
                        "the job to be handed back")
    event(f"{label}: released", job=job_id, render_state=render.state,
          cancel_s=round(ended - asked, 3), release_s=round(time.monotonic() - asked, 3),
          worker_state=worker_state(),
          pause_reason=getattr(worker(), "pause_reason", ""))


def max_gap(start, end, skip_states=()):
    times = [(t, s) for t, s in BEATS if start <= t <= end]
    gaps = [(b[0] - a[0], b[1]) for a, b in zip(times, times[1:])]
    kept = [g for g, s in gaps if s not in skip_states]
    return (round(max(kept), 3) if kept else None), len(times)


def key_latencies(sent):
    out = []
    for t in sent:
        seen = [k for k in KEYS_SEEN if k >= t]
        out.append(round(seen[0] - t, 3) if seen else None)
    return out


def reference_render(seconds):
    """The artist's own F12 render of their scene set up like the farm's long job (0 s: a
    plain blocking render, no measurement)."""
    scene = bpy.context.scene
    if not seconds:
        with window_override():
            bpy.ops.render.render()
        return
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1000000
    scene.cycles.time_limit = seconds
    scene.cycles.use_adaptive_sampling = False
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    scene.render.threads_mode = "FIXED"
    scene.render.threads = 1
    with window_override():
        bpy.ops.render.render("INVOKE_DEFAULT")
    started = time.monotonic()
    sent = []
    for _ in range(SPEC["key_probes"]):
        yield 1.0
        sent.append(time.monotonic())
        xdotool("key", "Pause")
    yield from wait_for(lambda: not bpy.app.is_job_running("RENDER"), seconds + 120,
                        "the reference render's end")
    ended = time.monotonic()
    gap, beats = max_gap(started, ended)
    event("reference render", render_s=round(ended - started, 2), max_gap_s=gap, beats=beats,
          key_latency_s=key_latencies(sent))
    # Blender's own cancel: the same F12 render, Esc (a real key press) after 3 s, timed to
    # its render_cancel / render_complete handler (the farm's cancel_s is timed the same way)
    yield 1.0
    ends = []

    def on_end(_scene, *_args):
        ends.append(time.monotonic())

    bpy.app.handlers.render_cancel.append(on_end)
    bpy.app.handlers.render_complete.append(on_end)
    try:
        with window_override():
            bpy.ops.render.render("INVOKE_DEFAULT")
        yield 3.0
        asked = time.monotonic()
        xdotool("key", "Escape")
        yield from wait_for(lambda: not bpy.app.is_job_running("RENDER"), 60,
                            "the reference render's cancel")
    finally:
        bpy.app.handlers.render_cancel.remove(on_end)
        bpy.app.handlers.render_complete.remove(on_end)
    event("reference esc", cancel_s=round(ends[0] - asked, 3) if ends else None)


def explain_gaps(start, end, render):
    """Every heartbeat gap > 0.1 s from ``start`` to ``end``: when (seconds after the farm
    render started), the worker's state, and what our code did in it (farmhand.trace, with
    FARMHAND_TRACE=1); the beats and spans go to SHOTS/gaps.json for scripts/gui_gaps.py."""
    from farmhand import trace

    beats = [t for t, _ in BEATS if start <= t <= end]
    states = dict(BEATS)
    explained = trace.gaps_explained(beats)
    for gap in explained:
        gap["after_render_start_s"] = round(gap["at"] - render.started, 3)
        gap["state"] = states.get(gap["at"], "?")
    event("long job gaps", traced=trace.ENABLED, count=len(explained),
          gaps=sorted(explained, key=lambda g: -g["gap_s"])[:25])
    with open(os.path.join(SPEC["shots"], "gaps.json"), "w") as f:
        json.dump({"beats": [b for b in BEATS if start <= b[0] <= end],
                   "sched": [b for b in SCHED if start <= b[0] <= end],
                   "spans": [s for s in trace.spans() if start <= s[1] and s[0] <= end],
                   "draws": [d for d in DRAWS if start <= d[0] <= end],
                   "render_started": render.started, "render_ended": render.ended_at,
                   "pid": os.getpid()}, f)


ARTIST_SCENE = ""


def scenario():
    global ARTIST_SCENE
    ARTIST_SCENE = bpy.context.scene.name
    yield 1.0
    focus_blender()
    start_key_probe()
    # the add-on, installed from its zip as an artist does it
    prefs = install_addon()
    prefs.view.render_display_type = "NONE"  # the artist's own F12 keeps this window
    prefs.view.use_save_prompt = False  # quitting with the unsaved artist file: no dialog
    prefs.filepaths.use_scripts_auto_execute = True  # Auto Run on: job Python must not run
    for area in main_window().screen.areas:
        if area.type == "PROPERTIES":
            area.spaces.active.context = "RENDER"
    yield 5.0  # let the window settle (first draws compile shaders)
    # the artist renders once: their Render Result must survive the farm's renders. It is
    # the reference too: Blender's own render job (F12) of a scene like the farm's (Cycles,
    # 1 thread, 64x48, a time limit), with the same heartbeat and key presses
    yield from reference_render(SPEC.get("reference_render_s", 0))
    bpy.app.handlers.render_init.append(on_render_init)
    yield 2.0
    before = file_state("before")
    event("baseline", dirty=before["dirty"], can_undo=before["can_undo"],
          selected=before["selected"])

    # Share my GPU: the long job renders
    yield from retry(lambda: farmhand_op("toggle_sharing"))
    event("sharing on")
    jobs = SPEC["jobs"]
    yield from wait_for(lambda: rendering_job(jobs["long"]), 240, "the long job rendering")
    render_started = time.monotonic()
    long_render = worker().render
    append_span = worker().append_span
    event("long job rendering", append_s=round(append_span[1] - append_span[0], 3))
    perf = None
    if os.environ.get("FARMHAND_GUI_PERF"):  # where the main thread is, sampled (see gui_gaps)
        perf = subprocess.Popen(["perf", "record", "-q", "-k", "mono", "-F", "397", "-p",
                                 str(os.getpid()), "-o", os.environ["FARMHAND_GUI_PERF"]])
    yield 3.0
    yield from shot("gui-during-job.png")
    win = main_window()
    yield from shot("gui-statusbar.png", (win.width, 28, 0, win.height - 28))  # a global area
    sent = []
    for _ in range(SPEC["key_probes"]):
        yield 1.0
        sent.append(time.monotonic())
        xdotool("key", "Pause")
    yield from wait_for(lambda: long_render.state != "running", 600, "the long job's end")
    render_ended = time.monotonic()
    if perf is not None:
        perf.send_signal(2)
        perf.wait(30)
    gap_all, n_beats = max_gap(render_started, render_ended)
    latencies = key_latencies(sent)
    yield 1.0  # the job is handed over
    # the whole job (append, audit, render, hand over), the gap over the append apart
    job = [t for t, _ in BEATS if append_span[0] - 0.3 <= t <= render_ended + 1.0]
    gaps = [(b - a, a <= append_span[0] and b >= append_span[1]) for a, b in zip(job, job[1:])]
    event("long job rendered", render_s=round(long_render.seconds, 2), max_gap_s=gap_all,
          farm_frames=list(FARM_FRAMES), artist_frame=bpy.context.scene.frame_current,
          beats=n_beats, key_latency_s=latencies, render_state=long_render.state,
          job_max_gap_s=round(max(g for g, over_append in gaps if not over_append), 3),
          append_gap_s=round(max([g for g, over_append in gaps if over_append] or [0]), 3))
    explain_gaps(render_started - 30, render_ended + 1.0, long_render)

    # the two short jobs
    yield from wait_for(lambda: worker().lifetime.jobs_done >= 3, 300, "3 jobs done")
    event("three jobs done", lifetime=worker().lifetime.jobs_done)
    # the coordinator's count and reward, fetched on a core thread (earnings.py)
    from farmhand import sharing
    earnings = sharing.session()["earnings"]
    yield from wait_for(lambda: (earnings.numbers or {}).get("jobs_completed", 0) >= 3, 60,
                        "the reward of 3 jobs in the panel")
    event("reward shown", numbers=earnings.numbers, error=earnings.error)
    # the job to cancel, created now (coordinators offer pending jobs in a random order)
    jobs["cancel"] = create_job(SPEC["cancel_cid"])
    event("cancel job created", job=jobs["cancel"])

    # the preferences, while the cancel job renders
    yield from wait_for(lambda: rendering_job(jobs["cancel"]), 240, "the cancel job rendering")
    prefs.active_section = "ADDONS"
    bpy.context.window_manager.addon_search = "Farmhand"
    yield from in_turn(bpy.ops.screen.userpref_show)
    bpy.ops.preferences.addon_expand(module="farmhand")
    yield 4.0
    yield from shot("gui-preferences.png")
    for win in list(bpy.context.window_manager.windows):
        if win.screen.is_temporary:
            with bpy.context.temp_override(window=win, screen=win.screen):
                bpy.ops.wm.window_close()
    yield 1.0

    # Pause during the cancel job, then the file checks (3 jobs and a cancelled one)
    yield from cancel_measure("pause", jobs["cancel"],
                              lambda: farmhand_op("pause"))
    yield 1.0
    after = file_state("after")
    same = {k: before[k] == after[k] for k in before}
    event("file checks", same=same, before={k: before[k] for k in before if k != "datablocks"},
          after={k: after[k] for k in after if k != "datablocks"})
    OUT["file_same"] = same

    # Esc (a real key press: G.is_break cancels the render job)
    yield from retry(lambda: farmhand_op("resume"))
    yield from cancel_measure("esc", jobs["cancel"], lambda: xdotool("key", "Escape"))

    # F12: the artist's render starts, the farm render is given back
    yield from retry(lambda: farmhand_op("resume"))
    f12 = {}

    def press_f12():
        f12["t"] = time.monotonic()
        xdotool("key", "F12")

    yield from cancel_measure("f12", jobs["cancel"], press_f12)
    yield from wait_for(lambda: ARTIST_RENDER and ARTIST_RENDER[-1] >= f12["t"], 30,
                        "the artist's render")
    event("artist render started", after_s=round(ARTIST_RENDER[-1] - f12["t"], 3))
    yield from wait_for(lambda: not bpy.app.is_job_running("RENDER"), 120,
                        "the artist's render to end")
    event("artist render ended")

    # untick Share my GPU (the operator behind the button)
    yield from cancel_measure("untick", jobs["cancel"], lambda: farmhand_op("toggle_sharing"))
    yield from wait_for(lambda: worker() is None or worker().state == "stopped", 60,
                        "sharing to stop")

    # share again, then quit Blender while the job renders
    yield from retry(lambda: farmhand_op("toggle_sharing"))
    yield from wait_for(lambda: rendering_job(jobs["cancel"]), 240, "the cancel job again")
    # the panel, large: the 3D view becomes a Properties editor on the Render tab, searched
    # for "Farmhand" (other panels fold away); after the file checks, so no check sees it
    area = next(a for a in main_window().screen.areas if a.type == "VIEW_3D")
    area.type = "PROPERTIES"
    yield 1.0  # the new editor's tabs exist once it has been drawn
    area.spaces.active.context = "RENDER"
    area.spaces.active.search_filter = "Farmhand"
    yield 4.0
    yield from shot("gui-panel.png", area_crop_of(area))
    event("quit: request", job=jobs["cancel"])
    OUT["done"] = True
    print("RESULT " + json.dumps(OUT), flush=True)
    quit_blender()


def scenario_idle():
    """Only When Idle (3 s), Stop After This Job, Keep Sharing After Restart."""
    yield 1.0
    focus_blender()
    start_key_probe()
    prefs = install_addon()
    addon = prefs.addons["farmhand"].preferences
    prefs.view.use_save_prompt = False
    yield 5.0
    from farmhand import sharing, ui

    jobs = SPEC["jobs"]
    yield from retry(lambda: farmhand_op("toggle_sharing"))
    event("sharing on")
    yield 1.0
    event("while the artist works", worker_state=worker_state(),
          pause_reason=worker().pause_reason)
    # the artist goes away: after 3 s without input the job starts; their input gives it back
    yield from wait_for(lambda: rendering_job(jobs["idle"]), 120, "the job after idling")
    yield 3.0
    render = worker().render
    event("input: request", job=jobs["idle"])
    asked = time.monotonic()
    xdotool("mousemove_relative", "--", "15", "10")
    yield from wait_for(lambda: render.state != "running", 30, "the render to end")
    event("input: released", job=jobs["idle"], render_state=render.state,
          cancel_s=round((render.ended_at or time.monotonic()) - asked, 3),
          seen_after_s=round(time.monotonic() - asked, 3), worker_state=worker_state(),
          pause_reason=worker().pause_reason)
    # idle again: the job comes back; Stop After This Job lets it finish, then stops
    yield from wait_for(lambda: rendering_job(jobs["idle"]), 120, "the job again")
    finishing = jobs["idle"]
    yield from retry(lambda: farmhand_op("stop", after_job=True))
    event("stop after this job: request", job=finishing)
    yield from wait_for(lambda: worker() is None or worker().state == "stopped", 120,
                        "sharing to stop after the job")
    event("stopped after the job", jobs_done=sharing.session()["lifetime"].jobs_done)
    # the panel's reward counts the last job, whose /complete the stop waited for
    earnings = sharing.session()["earnings"]
    yield from wait_for(lambda: (earnings.numbers or {}).get("jobs_completed") == 1, 30,
                        "the stopped worker's reward in the panel")
    event("reward after the stop", numbers=earnings.numbers, error=earnings.error)
    # Keep Sharing After Restart: what register() does at the next start, twice
    addon.share_gpu = True
    addon.keep_sharing = True
    addon.only_when_idle = False
    ui._after_register()
    yield 2.0
    event("notice", seconds_left=round(sharing.resume_seconds_left(), 1),
          words=sharing.words().headline)
    win = main_window()
    yield from shot("gui-resume-notice.png", (win.width, 28, 0, win.height - 28))
    yield from retry(lambda: farmhand_op("cancel_resume"))
    yield sharing.RESUME_DELAY_S + 2.0
    event("notice cancelled", sharing=sharing.worker() is not None, share_gpu=addon.share_gpu)
    left = create_job(SPEC["last_cid"])  # a new job for the resumed worker to render
    addon.share_gpu = True
    ui._after_register()
    yield sharing.RESUME_DELAY_S + 2.0
    event("resumed after the notice", sharing=sharing.worker() is not None)
    yield from wait_for(lambda: rendering_job(left), 120, "the new job")
    event("quit: request", job=left)
    OUT["done"] = True
    print("RESULT " + json.dumps(OUT), flush=True)
    quit_blender()


def scenario_loop():
    """Issue 16's segfault: cancel the farm render (Pause, Esc, untick, F12 in turn) ->
    the job is released -> sharing resumes -> the next append, audit and render start,
    SPEC["loops"] times, holding each render a different time (0.2-2.5 s: the cancel
    meets the render job at another point each round)."""
    yield 1.0
    focus_blender()
    start_key_probe()
    prefs = install_addon()
    prefs.view.render_display_type = "NONE"
    prefs.view.use_save_prompt = False
    yield 3.0
    yield from reference_render(0)  # the artist's own Render Result exists
    bpy.app.handlers.render_init.append(on_render_init)
    job = SPEC["jobs"]["cancel"]
    yield from retry(lambda: farmhand_op("toggle_sharing"))
    event("sharing on")

    def toggle():
        return farmhand_op("toggle_sharing")

    def f12():
        xdotool("key", "F12")

    def esc_resume():
        """Esc, then Resume at once, while the job is still being handed back: the worker
        must start its engine again (it stopped it with the release) and claim again."""
        w = worker()
        xdotool("key", "Escape")
        yield from wait_for(lambda: w.handed or w.user_pause, 5, "the Esc seen")
        yield from retry(lambda: farmhand_op("resume"))

    acts = {"pause": lambda: farmhand_op("pause"), "untick": toggle, "f12": f12,
            "esc": lambda: xdotool("key", "Escape"), "esc_resume": esc_resume}
    order = SPEC.get("loop_actions", ["pause", "esc", "untick", "f12", "esc_resume"])
    for i in range(SPEC["loops"]):
        label = order[i % len(order)]
        hold = 0.2 + (i * 0.7) % 2.3
        yield from wait_for(lambda: rendering_job(job), 240, f"round {i}: the job rendering")
        yield hold
        w = worker()
        render = w.render
        asked, asked_wall = time.monotonic(), time.time()
        if label == "esc_resume":
            yield from esc_resume()
        else:
            yield from retry(acts[label])
        yield from wait_for(lambda: render.state != "running", 15, f"round {i}: render end")
        ended = render.ended_at or time.monotonic()
        yield from wait_for(lambda: worker() is None or worker().job is None, 15,
                            f"round {i}: the job handed back")
        event("loop", round=i, action=label, hold_s=round(hold, 2),
              render_state=render.state, cancel_s=round(ended - asked, 3),
              asked_wall=round(asked_wall, 3))
        if label == "f12":
            yield from wait_for(lambda: not bpy.app.is_job_running("RENDER"), 120,
                                "the artist's render to end")
        elif label == "untick":
            yield from wait_for(lambda: worker() is None or worker().state == "stopped", 60,
                                "sharing to stop")
            yield from retry(toggle)
        elif label != "esc_resume":  # (resumed already)
            yield from retry(lambda: farmhand_op("resume"))
    # the append after the last cancel, then sharing off: only the artist's scenes are left
    yield from wait_for(lambda: rendering_job(job), 240, "the job rendering after the loop")
    yield from retry(toggle)
    yield from wait_for(lambda: worker() is None or worker().state == "stopped", 60,
                        "sharing to stop")
    event("loop done", rounds=SPEC["loops"], scenes=sorted(s.name for s in bpy.data.scenes))
    OUT["done"] = True
    print("RESULT " + json.dumps(OUT), flush=True)
    quit_blender()


_SCENARIOS = {"main": scenario, "idle": scenario_idle, "loop": scenario_loop}
_steps = _SCENARIOS[SPEC.get("scenario", "main")]()


QUIT_REFUSED_S = 10.0  # then the session ends the process: Blender's write guard is stuck


def quit_blender():
    """Quit Blender now or, while Blender refuses operators ("in this state"), from the next
    timer turns (a refused quit left Blender running until the test's timeout). Refused for
    QUIT_REFUSED_S: the guard is stuck for good (seen in a 30-round loop at round 26, 4 min
    and counting), so the process ends with exit status 3 (the RESULT line is out already)."""
    since = time.monotonic()

    def attempt():
        try:
            if time.monotonic() - since >= 1.0:  # stuck: quit where writes are allowed
                from farmhand import write_gate

                write_gate.run(bpy.ops.wm.quit_blender)
            else:
                bpy.ops.wm.quit_blender()
        except (RuntimeError, ImportError) as exc:
            if time.monotonic() - since > QUIT_REFUSED_S:
                print(f"quit refused for {QUIT_REFUSED_S:g} s ({exc}): ending the process",
                      flush=True)
                os._exit(3)
            print(f"quit refused ({exc}); trying again", flush=True)
            return 0.5
        return None

    if attempt() is not None:
        bpy.app.timers.register(attempt, first_interval=0.1, persistent=True)


def drive():
    try:
        return next(_steps)
    except StopIteration:
        return None
    except Exception:
        faulthandler.dump_traceback(sys.stderr, all_threads=True)  # what every thread ran
        OUT["errors"].append(traceback.format_exc())
        print("RESULT " + json.dumps(OUT), flush=True)
        quit_blender()
        return None


bpy.utils.register_class(TEST_OT_key_probe)
if TRACE:
    trace_region_draws()
bpy.app.timers.register(beat, first_interval=0.05, persistent=True)
bpy.app.timers.register(drive, first_interval=1.0, persistent=True)
