"""The failure kinds a worker's own limits produce, through the real headless worker against
kubo and the coordinator (issue 15: a scene for each failure kind; the scenes are made here
from tests/addon/make_job_files.py's sample scene):

- ``too_large`` (refused, retryable): ``--max-job-bytes 1000000`` and the sample scene with a
  200x200 grid added (several MB): the engine refuses it while downloading, naming the limit;
- ``too_slow`` (failed, retryable): ``--frame-budget 4`` and the sample scene at a million
  Cycles samples (hours a frame): the frame is stopped past its budget and the job fails
  "too slow for this worker", naming the budget; in Debian's 3.4 (no break flag) the worker
  process then ends with exit 6 (addon/farmhand/headless.py), as systemd would restart it.

Both are retryable (another worker may accept or be faster), so each job is submitted with
``max_attempts`` 1 and ends ``failed`` after its one attempt with ``retryable, <code>: `` in its
event. The coordinator's stored texts hold none of the worker's paths or user name.

Cell: Debian's 3.4 only: both limits are the engine's (C++) and the frame watch's (Python),
the same code in every cell, and the frame stop itself runs in every cell in
tests/e2e/test_frame_abort.py (measured: 113 s at load 14.7 in Blender 3.4).
"""

from __future__ import annotations

import os
import subprocess

import pytest

import demo_farm
from blender_runner import core_path
from e2e_helpers import stop_worker
from matrix import cell_params
from test_public_scenes import _stored_texts

pytestmark = pytest.mark.e2e

CELLS = cell_params(names=("blender34",))
USER = "fhlimits3k"
MAX_JOB_BYTES = 1_000_000
FRAME_BUDGET_S = 4

DENSE = ("import bpy; g = bpy.ops.mesh.primitive_grid_add(x_subdivisions=200, "
         "y_subdivisions=200, size=3); bpy.ops.wm.save_as_mainfile(filepath={out!r}, "
         "compress=False)")
ENDLESS = ("import bpy; s = bpy.context.scene; s.cycles.use_adaptive_sampling = False; "
           "s.cycles.samples = 1000000; s.render.resolution_x = 320; "
           "s.render.resolution_y = 240; bpy.ops.wm.save_as_mainfile(filepath={out!r})")


def _made(job_files, tmp, name: str, expr: str):
    out = tmp / name
    subprocess.run([demo_farm.DEBIAN_BLENDER, "-b", "--factory-startup",
                    str(job_files["files"] / "plain.blend"), "--python-expr",
                    expr.format(out=str(out))], check=True, capture_output=True, timeout=180)
    return out


def _failed_once(coord, job, worker, code: str, word: str) -> str:
    """Wait for ``job`` to end; assert one attempt, ``code``, retryable, ``word``; returns the
    error text."""
    done = demo_farm.wait_for_job(coord, job["id"], worker=worker, timeout=600)
    events = [e["detail"] for e in demo_farm.job_events(coord, job["id"])
              if e["type"] == "failed"]
    assert (done["status"], done["error_code"], done["attempts"]) == ("failed", code, 1), done
    assert events and events[0].startswith(f"retryable, {code}: "), events
    assert done["error"].startswith(f"{word}: ") and done["error"] == done["error"].rstrip()
    return done["error"]


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("kind", CELLS)
def test_a_workers_limits_fail_the_job_retryable_naming_the_limit(
        kind, kubo, coordinator_factory, job_files, tmp_path):
    dense = _made(job_files, tmp_path, "dense.blend", DENSE)
    endless = _made(job_files, tmp_path, "endless.blend", ENDLESS)
    assert dense.stat().st_size > MAX_JOB_BYTES > endless.stat().st_size
    coord = coordinator_factory()
    home = tmp_path / USER
    env = {"HOME": str(home), "USER": USER, "LOGNAME": USER}
    worker = demo_farm.start_worker(
        coord, kubo, home, kind, core_path=core_path(kind), env=env,
        extra_args=("--max-job-bytes", str(MAX_JOB_BYTES),
                    "--frame-budget", str(FRAME_BUDGET_S)))
    worker.home = home
    try:
        large = demo_farm.submit_job(coord, kubo, dense, frames=[1], max_attempts=1)
        error = _failed_once(coord, large, worker, "too_large", "refused")
        assert "larger than this worker accepts (--max-job-bytes)" in error, error
        assert f"over the configured maximum of {MAX_JOB_BYTES} bytes" in error, error
        slow = demo_farm.submit_job(coord, kubo, endless, frames=[1], max_attempts=1)
        error = _failed_once(coord, slow, worker, "too_slow", "failed")
        assert f"budget of {FRAME_BUDGET_S} s (--frame-budget)" in error, error
    finally:
        stop_worker(worker, timeout=60)
    secrets = {str(home), os.path.realpath(home), str(tmp_path), os.path.realpath(tmp_path),
               USER}
    leaks = [(t, c, s, text[:300]) for t, c, text in _stored_texts(coord.db_path)
             for s in secrets if s in text]
    assert not leaks, leaks
