"""Real scenes through the real worker (issue 15): the public corpus (tests/addon/public_corpus.py,
corpus/README.md: scenes nobody on this project wrote) plus the scenes made for each failure
kind (make_job_files.py, make_audit_files.py, make_engine_files.py, and a corrupt, a
truncated and a too-new file)
go to a local farm -- kubo, the coordinator with its result checks on (not ``--trusted``) --
and one headless worker in the cell under test. Every job must end:

- completed, with a frame *identical* to Blender's own render of the same file in the same
  Blender: the decoded pixels equal (mode, size and every channel value; the PNG bytes may
  differ only because our metadata is scrubbed). Both sides render the same *render copy*
  (tests/addon/render_copies.py: the scene with only its size cut to ~96 px wide and at most 4
  samples, so the test stays quick on two CPU cores), Blender's side with
  ``bpy.ops.render.render(write_still=True)`` in a separate process of the same cell;
- or refused/failed after ONE attempt (of 3 allowed) with the expected code, ``not
  retryable`` in its event, the right word (``refused:``/``failed:``) and a message naming
  the fix. No scene with a missing file completes. The one retryable kind here,
  ``unsupported_engine`` (another worker's Blender has the engine), is submitted with one
  attempt allowed (this test's only worker would take it again) and must say ``retryable``.
- An add-on engine's scene must fail ``unknown_engine``: Blender itself would render it
  with EEVEE without a word (addon/farmhand/engine_id.py).

Two broken files never reach the worker, as the protocol says ("Matching"): the coordinator
refuses a file that is not a .blend at submission (422 ``asset_not_blend``, a message naming
the fix), and offers a file saved by a newer Blender (header 9.99) to no worker whose
Blender is older: it stays pending, never assigned. (The worker's own refusals of both, for a
coordinator that does not read headers, are tests/e2e/test_worker_jobs.py's.)

Then every text the coordinator stored (every column of every table of its SQLite file: jobs,
tasks, events, workers ...) is searched for the worker's home dir, work dir, the test's tmp
dir and the worker's user name (the worker runs with HOME and USER of its own, a user name no
text would hold by chance): none may appear.

EEVEE needs no GPU here: Debian's Blender 3.4 and the bpy modules fall back to Mesa's
surfaceless EGL (llvmpipe, software GL) when no display is set ("Managed to successfully
fallback to surfaceless EGL rendering!"), and their renders are deterministic. Mesa's shader
cache is kept in $FARMHAND_CACHE/mesa-shader-cache, shared by both sides and by later runs
(bpy 5.0's EEVEE compiles for ~1 min cold).

Cells: every cell of the matrix (Debian's 3.4, bpy 4.2, 4.5, 5.0, 5.2). bpy 4.2 and 4.5 leave
out OpenShot's three EEVEE titles and bpy 5.2 neon_curves (their EEVEE renders them for
minutes under llvmpipe: tests/matrix.py SLOW_EEVEE_SCENES); the render-engine scenes are made
in the cell under test (tests/addon/make_engine_files.py: the engine ids differ between
series).
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import blender_cells
import demo_farm
from blender_runner import REPO, blender_env, command, core_path, run_bpy_script
from matrix import SLOW_EEVEE_SCENES, cell_params
from public_corpus import MISSING, NO_CAMERA, SCENES

pytestmark = pytest.mark.e2e

CELLS = cell_params()
RENDER_COPIES = REPO / "tests" / "addon" / "render_copies.py"
MAKE_AUDIT_FILES = REPO / "tests" / "addon" / "make_audit_files.py"
MAKE_ENGINE_FILES = REPO / "tests" / "addon" / "make_engine_files.py"
MESA_CACHE = blender_cells.CACHE / "mesa-shader-cache"
USER = "fhartist7q"  # the worker's user name (and its home dir's name) in this test
TIMEOUT = 1500  # seconds for the whole corpus on a loaded 2-core machine

WORDS = {"refused_by_audit": "refused", "missing_files": "refused", "corrupt": "refused",
         "too_new": "refused", "no_camera": "failed", "unknown_engine": "failed",
         "unsupported_engine": "failed"}
RETRYABLE = {"unsupported_engine"}  # docs/protocol.md "Failure codes"; the rest: not retryable
AUDIT = ("refused_by_audit", "remove or disable what is named")
CORRUPT = ("corrupt", "re-save the file")
TOO_NEW = ("too_new", "")
NOT_BLEND = ("asset_not_blend", "")
ADDON_ENGINE = ("unknown_engine", "switch to Cycles, EEVEE or Workbench, save and submit again")
MISSING_ENGINE = ("unsupported_engine", "on this worker does not have")


@dataclass
class Case:
    """One job of the corpus: ``blend`` as found, the ``frame`` to render, ``expect`` (None:
    completes; else (code, fix phrase)); ``copy``/``reference`` are set for a scene that
    renders."""

    name: str
    blend: Path
    frame: int = 1
    expect: tuple[str, str] | None = None
    copy: Path | None = None
    reference: Path | None = None
    stage: str = "worker"  # or "submission" (422 expected), "never_offered" (stays pending)
    min_psnr_db: float | None = None  # None: pixels identical (public_corpus.PublicScene)
    max_attempts: int = 3  # 1 for a retryable failure: one worker here, it would retry it


def _generated(job_files: dict, audit_dir: Path, engine_dir: Path, tmp: Path) -> list[Case]:
    files = job_files["files"]
    whole = (files / "plain.blend").read_bytes()
    broken = tmp / "broken"
    broken.mkdir()
    (broken / "truncated.blend").write_bytes(whole[:len(whole) // 2])
    (broken / "corrupt.blend").write_bytes(b"NOT A BLEND FILE" + bytes(range(256)) * 64)
    newer = bytearray(whole)
    assert newer[:9] == b"BLENDER-v", "expected a plain 64-bit little-endian header"
    newer[9:12] = b"999"
    (broken / "newer.blend").write_bytes(bytes(newer))
    cases = [
        Case("made/plain", files / "plain.blend"),
        Case("made/nocamera", files / "nocamera.blend", expect=NO_CAMERA),
        Case("made/missing", files / "missing.blend", expect=MISSING),
        Case("made/abspath", files / "abspath.blend", expect=MISSING),
        Case("made/packed", audit_dir / "packed.blend"),
        Case("made/missing-udim", audit_dir / "missing.blend", expect=MISSING),
        Case("made/truncated", broken / "truncated.blend", expect=CORRUPT),
        Case("made/corrupt", broken / "corrupt.blend", expect=NOT_BLEND, stage="submission"),
        Case("made/newer", broken / "newer.blend", expect=TOO_NEW, stage="never_offered"),
        Case("made/workbench", engine_dir / "workbench.blend"),
        Case("made/addon-engine", engine_dir / "addon_engine.blend", expect=ADDON_ENGINE),
        Case("made/missing-builtin-engine", engine_dir / "missing_builtin.blend",
             expect=MISSING_ENGINE, max_attempts=1),
    ]
    for name in ("vse", "fluid", "meshcache", "ies", "pointcache", "escape_dir",
                 "freestyle_script"):
        cases.append(Case(f"made/{name}", audit_dir / f"{name}.blend", expect=AUDIT))
    return cases


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory):
    """make_audit_files.py's scenes, saved by the oldest Blender here (every cell opens
    them)."""
    tmp = tmp_path_factory.mktemp("public-audit-files")
    run_bpy_script(blender_cells.oldest_available().name, MAKE_AUDIT_FILES, [str(tmp)], tmp)
    assert (tmp / "packed.blend").is_file()
    return tmp


def _render_env(tmp: Path) -> dict:
    env = blender_env(tmp)
    env["MESA_SHADER_CACHE_DIR"] = str(MESA_CACHE)
    return env


def _run_copies(kind: str, mode: str, cases: list[Case], tmp: Path) -> subprocess.Popen:
    """Start render_copies.py ``mode`` over ``cases`` in cell ``kind``; stdout in a file."""
    spec = tmp / f"{mode}.json"
    spec.write_text(json.dumps([{"src": str(c.blend), "copy": str(c.copy), "frame": c.frame,
                                 "png": str(c.reference)} for c in cases]))
    log = open(tmp / f"{mode}.log", "wb")
    return subprocess.Popen(command(kind, RENDER_COPIES, [mode, str(spec)]),
                            env=_render_env(tmp), cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen, tmp: Path, mode: str, count: int, timeout: float) -> None:
    rc = proc.wait(timeout=timeout)
    out = (tmp / f"{mode}.log").read_text(errors="replace")
    assert rc == 0 and f"DONE {mode} {count}" in out, out[-4000:]


def _stored_texts(db: Path):
    """(table, column, text) for every text value in the coordinator's SQLite file."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE "
                                             "type='table'")]
        for table in tables:
            cur = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cur.description]
            for row in cur:
                for column, value in zip(columns, row):
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str):
                        yield table, column, value
    finally:
        conn.close()


def _psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two 8-bit images of one shape (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _pixels(path: Path) -> tuple[str, tuple[int, int], np.ndarray]:
    with Image.open(path) as image:
        return image.mode, image.size, np.asarray(image)


@pytest.mark.timeout(TIMEOUT + 600)
@pytest.mark.parametrize("kind", CELLS)
def test_every_scene_completes_identical_to_blender_or_fails_naming_the_fix(
        kind, kubo, coordinator_factory, job_files, audit_dir, tmp_path):
    started = time.monotonic()
    timings = {}
    cases = []
    skipped = []
    for scene in SCENES:
        why = scene.missing()
        if scene.name in SLOW_EEVEE_SCENES.get(kind, ()):
            why = f"{scene.name}: too slow in {kind}'s EEVEE under llvmpipe (tests/matrix.py)"
        if why:
            skipped.append(why)
            continue
        cases.append(Case(scene.name, scene.file, scene.frame, scene.expect,
                          min_psnr_db=scene.min_psnr_db))
    engine_dir = tmp_path / "engine-files"
    made = run_bpy_script(kind, MAKE_ENGINE_FILES, [str(engine_dir)], tmp_path)
    assert "DONE engine-files" in made.stdout, made.stdout[-3000:] + made.stderr[-3000:]
    cases += _generated(job_files, audit_dir, engine_dir, tmp_path)
    renders = [c for c in cases if c.expect is None]
    copies = tmp_path / "copies"
    copies.mkdir()
    for i, case in enumerate(renders):
        case.copy = copies / f"{i:02d}-{case.name.replace('/', '-')}.blend"
        case.reference = copies / f"{i:02d}-{case.name.replace('/', '-')}.blender.png"

    # the render copies, then Blender's own renders of them (beside the farm's work)
    _finish(_run_copies(kind, "derive", renders, tmp_path), tmp_path, "derive", len(renders),
            600)
    timings["derive"] = time.monotonic() - started
    reference = _run_copies(kind, "render", renders, tmp_path)
    try:
        coord = coordinator_factory("--gateway-url", kubo.gateway_url, "--ipfs-api",
                                    kubo.api_url, "--verify-share", "0", trusted=False)
        jobs, refusals = {}, {}
        for case in cases:
            try:
                jobs[case.name] = demo_farm.submit_job(coord, kubo, case.copy or case.blend,
                                                       frames=[case.frame],
                                                       max_attempts=case.max_attempts)
            except urllib.error.HTTPError as exc:
                refusals[case.name] = (exc.code, json.loads(exc.read())["error"])
        waited = {n: j for n, j in jobs.items()
                  if next(c for c in cases if c.name == n).stage == "worker"}
        home = tmp_path / USER
        env = {"HOME": str(home), "USER": USER, "LOGNAME": USER,
               "MESA_SHADER_CACHE_DIR": str(MESA_CACHE)}
        worker = demo_farm.start_worker(coord, kubo, home, kind, core_path=core_path(kind),
                                        env=env)
        worker.home = home
        try:
            deadline = time.monotonic() + TIMEOUT
            done = {name: demo_farm.wait_for_job(coord, job["id"], worker=worker,
                                                 timeout=max(1.0, deadline - time.monotonic()))
                    for name, job in waited.items()}
            # the worker polled many times since: the too-new file was never offered
            done.update({name: demo_farm.get_job(coord, job["id"])
                         for name, job in jobs.items() if name not in waited})
            timings["farm"] = time.monotonic() - started
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        log = (home / "worker.log").read_text(errors="replace")
        _finish(reference, tmp_path, "render", len(renders), TIMEOUT)
        timings["reference"] = time.monotonic() - started
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.wait()

    problems = []
    for case in cases:
        if case.stage == "submission":
            want = (422, case.expect[0])
            got = refusals.get(case.name, (None, {}))
            if (got[0], got[1].get("code")) != want or "not a .blend file" not in got[1].get(
                    "message", ""):
                problems.append(f"{case.name}: expected a 422 {case.expect[0]} at "
                                f"submission, got {got} (job {jobs.get(case.name)})")
            continue
        job = done[case.name]
        if case.stage == "never_offered":
            types = [e["type"] for e in demo_farm.job_events(coord, job["id"])]
            if (job["status"], job["attempts"], job["blender_version"]) != ("pending", 0, 999) \
                    or "assigned" in types:
                problems.append(f"{case.name}: a newer file was offered: {job} {types}")
            continue
        if case.expect is None:
            if job["status"] != "completed":
                problems.append(f"{case.name}: {job['status']} ({job['error_code']}: "
                                f"{job['error']})")
                continue
            png = demo_farm.fetch_result(kubo, job["result_cid"],
                                         tmp_path / f"{case.reference.stem}.farm.png")
            assert kubo.only_hash(png) == job["result_cid"]
            ours, theirs = _pixels(png), _pixels(case.reference)
            if ours[:2] != theirs[:2]:
                problems.append(f"{case.name}: the farm's frame {ours[:2]} differs from "
                                f"Blender's own render {theirs[:2]}")
            elif case.min_psnr_db is None and not np.array_equal(ours[2], theirs[2]):
                problems.append(f"{case.name}: the farm's frame's pixels differ from "
                                "Blender's own render")
            elif case.min_psnr_db is not None and \
                    _psnr_db(ours[2], theirs[2]) < case.min_psnr_db:
                problems.append(f"{case.name}: PSNR {_psnr_db(ours[2], theirs[2]):.1f} dB "
                                f"against Blender's own render, under {case.min_psnr_db} dB")
            continue
        code, fix = case.expect
        retry = "retryable" if code in RETRYABLE else "not retryable"
        events = demo_farm.job_events(coord, job["id"])
        failed = [e["detail"] for e in events if e["type"] == "failed"]
        got = (job["status"], job["error_code"], job["attempts"],
               (job["error"] or "").split(":")[0])
        if got != ("failed", code, 1, WORDS[code]):
            problems.append(f"{case.name}: expected failed/{code}/1 attempt/{WORDS[code]}, "
                            f"got {got}: {job['error']}")
        elif not (failed and failed[0].startswith(f"{retry}, {code}: ")):
            problems.append(f"{case.name}: not reported '{retry}': {failed}")
        elif fix not in job["error"]:
            problems.append(f"{case.name}: the message names no fix ({fix!r}): {job['error']}")
        elif job["error"] != job["error"].rstrip():
            problems.append(f"{case.name}: trailing whitespace in {job['error']!r}")

    # nothing local reached the coordinator, in any table
    secrets = {str(home), os.path.realpath(home), str(home / "work"), str(tmp_path),
               os.path.realpath(tmp_path), USER}
    leaks = [(table, column, secret, text[:300]) for table, column, text in
             _stored_texts(coord.db_path) for secret in secrets if secret in text]
    texts = sum(1 for _ in _stored_texts(coord.db_path))
    # Blender's warning for an image it cannot load (the job would render magenta)
    unloaded = re.findall(r".*(?:does not exist|Cannot read image|Unable to open).*", log)

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"\n{kind}: {len(cases)} jobs ({len(renders)} rendered and compared), "
          f"{len(skipped)} public scenes skipped, {texts} stored texts scanned; "
          + ", ".join(f"{k} done at {v:.0f} s" for k, v in timings.items())
          + f"; CPU of this session's children {children.ru_utime + children.ru_stime:.0f} s"
          + f"; load {os.getloadavg()[0]:.2f}")
    assert not problems, "\n".join(problems) + "\n--- worker log tail:\n" + log[-6000:]
    assert not leaks, leaks
    assert not unloaded, unloaded
