"""A headless worker (every cell of the Blender matrix: Debian Blender 3.4, bpy 4.2, 4.5,
5.0.1 and 5.2) against real kubo and the real coordinator: jobs (1 and 3 frames) complete
with kubo-identical result CIDs; hostile and broken files fail with reasons while the loop
goes on; signals; crash recovery."""

from __future__ import annotations

import hashlib
import signal
import time

import pytest
from PIL import Image

import blender_cells
import demo_farm
from e2e_helpers import WORKERS, worker_log

pytestmark = pytest.mark.e2e


def _sha256(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _stop_idle(worker) -> float:
    """SIGTERM an idle worker; returns seconds until it exited (asserts exit code 0)."""
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, worker_log(worker)
    return time.monotonic() - started


@pytest.mark.parametrize("blender", WORKERS)
def test_single_frame_job_completes_with_a_kubo_identical_file_cid(
        blender, coordinator, kubo, worker_factory, job_files, tmp_path):
    job = demo_farm.submit_job(coordinator, kubo, job_files["files"] / "plain.blend")
    # A CUDA worker on a machine without CUDA: Cycles falls back to the CPU
    worker = worker_factory(blender, "--max-jobs", "1", "--device", "CUDA")
    job = demo_farm.wait_for_job(coordinator, job["id"], timeout=180, worker=worker)
    assert worker.wait(timeout=60) == 0, worker_log(worker)
    assert job["status"] == "completed", worker_log(worker)

    png = demo_farm.fetch_result(kubo, job["result_cid"], tmp_path / "single.png")
    assert kubo.only_hash(png) == job["result_cid"]
    assert job["sha256"] == _sha256([png])
    assert Image.open(png).size == (32, 24)
    # /complete said what really rendered it (protocol.md): the CPU it fell back to, not
    # the CUDA it polled with, and this cell's Blender
    series = blender_cells.CELLS[blender].series
    completed = [e for e in demo_farm.job_events(coordinator, job["id"])
                 if e["type"] == "completed"]
    assert completed and completed[0]["detail"].endswith(
        f" on CPU with Blender {series[0]}.{series[1]}"), completed


@pytest.mark.parametrize("blender", WORKERS)
def test_three_frame_job_completes_with_a_kubo_identical_directory_cid(
        blender, coordinator, kubo, worker_factory, job_files, tmp_path):
    job = demo_farm.submit_job(coordinator, kubo, job_files["files"] / "plain.blend",
                               frames=[1, 2, 3])
    worker = worker_factory(blender, "--max-jobs", "1")
    job = demo_farm.wait_for_job(coordinator, job["id"], timeout=180, worker=worker)
    assert worker.wait(timeout=60) == 0, worker_log(worker)
    assert job["status"] == "completed", worker_log(worker)

    frames_dir = demo_farm.fetch_result(kubo, job["result_cid"], tmp_path / "three")
    names = sorted(p.name for p in frames_dir.iterdir())
    assert names == ["frame_0001.png", "frame_0002.png", "frame_0003.png"]
    assert kubo.only_hash(frames_dir) == job["result_cid"]
    assert job["sha256"] == _sha256(sorted(frames_dir.iterdir()))
    assert [Image.open(frames_dir / n).size for n in names] == [(32, 24)] * 3
    assert job["result_frames"] == [1, 2, 3]


def _newer_header(src, dst):
    data = bytearray(src.read_bytes())
    assert data[:9] == b"BLENDER-v", "expected a plain 64-bit little-endian header"
    data[9:12] = b"999"
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("blender", WORKERS)
def test_hostile_and_broken_files_fail_with_reasons_and_the_loop_goes_on(
        blender, coordinator, kubo, worker_factory, job_files, tmp_path):
    files = job_files["files"]
    whole = (files / "plain.blend").read_bytes()
    truncated = tmp_path / "truncated.blend"
    truncated.write_bytes(whole[:len(whole) // 2])
    corrupt = tmp_path / "corrupt.blend"
    corrupt.write_bytes(b"NOT A BLEND FILE" + bytes(range(256)) * 64)
    newer = _newer_header(files / "plain.blend", tmp_path / "newer.blend")
    order = {
        "corrupt": corrupt, "newer": newer, "truncated": truncated,
        "abspath": files / "abspath.blend", "autorun": files / "autorun.blend",
        "driver": files / "driver.blend", "fileoutput": files / "fileoutput.blend",
        "nocamera": files / "nocamera.blend", "missing": files / "missing.blend",
        "plain": files / "plain.blend",
    }
    # max_attempts 3: a job that can never succeed must end failed after one attempt
    jobs = {name: demo_farm.submit_job(coordinator, kubo, path, frames=[1], max_attempts=3)
            for name, path in order.items()}
    worker = worker_factory(blender)
    done = {name: demo_farm.wait_for_job(coordinator, job["id"], timeout=180, worker=worker)
            for name, job in jobs.items()}
    log = worker_log(worker)
    states = {name: job["status"] for name, job in done.items()}
    assert states == {"corrupt": "failed", "newer": "failed", "truncated": "failed",
                      "abspath": "failed", "autorun": "completed", "driver": "completed",
                      "fileoutput": "completed", "nocamera": "failed", "missing": "failed",
                      "plain": "completed"}, log
    assert "999" in done["newer"]["error"] or "9.99" in done["newer"]["error"], done["newer"]
    # refused by the engine's block parser (or, before it, by Blender)
    assert ("block structure does not parse" in done["truncated"]["error"]
            or "could not open the job file" in done["truncated"]["error"])
    assert "(image 'Texture', outside the job directory)" in done["abspath"]["error"]
    assert done["corrupt"]["error"], done["corrupt"]
    codes = {name: (job["error_code"], job["attempts"], job["error"].split(":")[0])
             for name, job in done.items() if job["status"] == "failed"}
    assert codes == {"corrupt": ("corrupt", 1, "refused"), "newer": ("too_new", 1, "refused"),
                     "truncated": ("corrupt", 1, "refused"),
                     "abspath": ("missing_files", 1, "refused"),
                     "nocamera": ("no_camera", 1, "failed"),
                     "missing": ("missing_files", 1, "refused")}, log
    assert done["missing"]["error"] == (
        "refused: 1 external file is not packed: //wood.png (image 'Wood') — File > External "
        "Data > Pack Resources (and Pack Linked Libraries), then submit again")
    assert "has no active camera" in done["nocamera"]["error"]
    # nothing local leaves the machine: no report holds the worker's dirs or user name
    home = str(worker.home)
    for name, job in done.items():
        for text in (job["error"] or "", job["log_tail"] or ""):
            assert home not in text, (name, text)
            assert text == text.rstrip(), (name, text)
    assert not list(job_files["markers"].iterdir()), "Python from a job file ran"
    assert not list(job_files["outside"].iterdir()), "a File Output node wrote outside"
    # idle worker: SIGTERM -> exit 0 promptly (about 0.5-1 s quiet, 2-3.5 s at load 20 now
    # that the bpy 4.2/4.5 modules run Blender's full exit routine; a hang would take 30 s)
    assert _stop_idle(worker) < 10.0


@pytest.fixture(scope="module")
def slow_scene(tmp_path_factory):
    """A scene that takes a few seconds per frame on 2 CPU cores."""
    out = tmp_path_factory.mktemp("slow") / "slow.blend"
    return demo_farm.generate_scene(out, "--size", "160x120", "--samples", "128")


def _wait_log(worker, text, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in worker_log(worker):
            return
        assert worker.poll() is None, worker_log(worker)
        time.sleep(0.1)
    raise TimeoutError(f"{text!r} not in the worker log:\n{worker_log(worker)}")


@pytest.mark.parametrize("blender", WORKERS)
def test_sigterm_while_rendering_finishes_the_frame_and_hands_the_job_back(
        blender, coordinator, kubo, worker_factory, slow_scene):
    job = demo_farm.submit_job(coordinator, kubo, slow_scene, frames=[1, 2, 3])
    worker = worker_factory(blender)
    _wait_log(worker, "frame 1 rendered")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0, worker_log(worker)
    after = demo_farm.get_job(coordinator, job["id"])
    assert (after["status"], after["attempts"]) == ("pending", 0), worker_log(worker)
    types = [e["type"] for e in demo_farm.job_events(coordinator, job["id"])]
    assert types[-1] == "released", types
    assert "handed back (release) after 2 frame(s)" in worker_log(worker)


def test_worker_killed_mid_render_reports_failed_on_restart_then_completes(
        coordinator, kubo, worker_factory, slow_scene, tmp_path):
    blender = blender_cells.oldest_available().name
    job = demo_farm.submit_job(coordinator, kubo, slow_scene, frames=[1, 2])
    home = tmp_path / "crashy"
    worker = worker_factory(blender, home=home)
    _wait_log(worker, f"job {job['id']}: rendering")
    time.sleep(1.0)
    worker.kill()  # SIGKILL: no handler, no release
    worker.wait()
    assert demo_farm.get_job(coordinator, job["id"])["status"] == "assigned"

    restarted = worker_factory(blender, "--max-jobs", "1", home=home)
    demo_farm.wait_for_job(coordinator, job["id"], states=("pending",), timeout=120,
                           worker=restarted)
    # The coordinator no longer offers the job to the worker whose Blender crashed on it
    # (docs/protocol.md "Poison tasks"): another worker completes it.
    other = worker_factory(blender, "--max-jobs", "1")
    final = demo_farm.wait_for_job(coordinator, job["id"], states=("completed",), timeout=240,
                                   worker=other)
    events = demo_farm.job_events(coordinator, job["id"])
    failed = [e for e in events if e["type"] == "failed"]
    assert failed and "crash" in failed[0]["detail"].lower(), events
    assert final["attempts"] == 1 and final["worker_address"] != failed[0]["worker_address"]
    assert [e["type"] for e in events].index("failed") < [e["type"] for e in events].index(
        "completed")
