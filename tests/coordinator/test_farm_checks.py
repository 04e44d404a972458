"""Result checks before a task counts (docs/protocol.md "Result checks") and matching at
submission ("Matching"): real kubo, real frames, coordinator with checks on."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from coord_helpers import error_code
from farm_helpers import ScriptedWorker, blend_header_file, frame_png
from test_farm_directory import submit


@pytest.fixture
def farm(coordinator_factory, kubo):
    return coordinator_factory("--ipfs-api", kubo.api_url, "--verify-share", "0",
                               trusted=False)


def _complete_with(worker, kubo, tmp_path, task_id: int, data: bytes, name="frame_0001.png"):
    path = tmp_path / name
    path.write_bytes(data)
    return worker.post(f"/api/v1/jobs/{task_id}/complete", {
        "result_cid": kubo.add(path), "sha256": "0" * 64, "render_seconds": 1.0})


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(frame_png(1))).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("data, reason", [
    (frame_png(1, "black"), "blank"),
    (frame_png(1, size=(64, 48)), "64x48, the job's frames are 32x24"),
    (_jpeg(), "is JPEG, the job asked for PNG"),
    (b"\x89PNG\r\n\x1a\n but then garbage", "does not decode"),
])
def test_bad_frame_is_rejected_requeued_and_counted_against_the_worker(
        farm, kubo, tmp_path, data, reason):
    job = submit(farm, kubo, tmp_path, [1], 0, resolution=[32, 24])
    cheat = ScriptedWorker(farm.url, kubo).login()
    assert cheat.assign(job["id"]).status_code == 200
    resp = _complete_with(cheat, kubo, tmp_path, job["id"], data)
    assert (resp.status_code, error_code(resp)) == (409, "result_rejected"), resp.text
    assert reason in resp.json()["error"]["message"]
    assert resp.json()["error"]["status"] == "pending"
    after = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}", timeout=30).json()
    assert (after["status"], after["attempts"]) == ("pending", 1)
    assert reason in after["error"]
    record = httpx.get(f"{farm.url}/api/v1/workers/{cheat.address}", timeout=30).json()
    assert (record["rejected"], record["completed"]) == (1, 0)
    events = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/events", timeout=30).json()["events"]
    assert events[-1]["type"] == "rejected" and events[-1]["worker_address"] == cheat.address
    # an honest worker then completes it
    honest = ScriptedWorker(farm.url, kubo).login()
    assert honest.step().status_code == 200
    done = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}", timeout=30).json()
    assert done["status"] == "completed"


def test_directory_result_must_hold_exactly_the_task_frames(farm, kubo, tmp_path):
    job = submit(farm, kubo, tmp_path, [1, 2], 0)
    worker = ScriptedWorker(farm.url, kubo).login()
    assert worker.assign(job["id"]).status_code == 200
    wrong = worker.upload([1, 3])
    resp = worker.post(f"/api/v1/jobs/{job['id']}/complete", {
        "result_cid": wrong, "sha256": "0" * 64, "render_seconds": 1.0})
    assert (resp.status_code, error_code(resp)) == (409, "result_rejected")
    assert "not the task's frames" in resp.json()["error"]["message"]


def test_a_result_kubo_cannot_give_is_rejected(coordinator_factory, kubo, tmp_path):
    farm = coordinator_factory("--ipfs-api", kubo.api_url, trusted=False)
    job = submit(farm, kubo, tmp_path, [1], 0)
    worker = ScriptedWorker(farm.url, kubo).login()
    assert worker.assign(job["id"]).status_code == 200
    missing = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"  # not in kubo
    resp = worker.post(f"/api/v1/jobs/{job['id']}/complete", {
        "result_cid": missing, "sha256": "0" * 64, "render_seconds": 1.0})
    assert (resp.status_code, error_code(resp)) == (409, "result_rejected")
    assert "could not be read from IPFS" in resp.json()["error"]["message"]


def test_submission_refuses_what_is_not_a_blend(farm, kubo, tmp_path):
    text = tmp_path / "notes.blend"
    text.write_bytes(b"this is not a blend file" * 20)
    resp = httpx.post(farm.url + "/api/v1/jobs", timeout=30,
                      json={"asset_cid": kubo.add(text), "frames": [1]})
    assert (resp.status_code, error_code(resp)) == (422, "asset_not_blend")
    assert "BLENDER" in resp.json()["error"]["message"]


def test_submission_of_an_asset_kubo_cannot_give_is_refused(coordinator_factory, kubo):
    farm = coordinator_factory("--ipfs-api", kubo.api_url, trusted=False)
    # a well-formed CID of content nobody added; kubo is offline, so it cannot be fetched
    resp = httpx.post(farm.url + "/api/v1/jobs", timeout=60, json={
        "asset_cid": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"})
    assert (resp.status_code, error_code(resp)) == (422, "asset_unavailable")


def test_a_45_file_is_never_offered_to_a_34_worker(farm, kubo, tmp_path):
    asset = kubo.add(blend_header_file(tmp_path / "new.blend", 405))
    resp = httpx.post(farm.url + "/api/v1/jobs", timeout=30,
                      json={"asset_cid": asset, "frames": [1, 2, 3, 4], "chunk_size": 1})
    job = resp.json()
    assert job["blender_version"] == 405
    old = ScriptedWorker(farm.url, kubo, blender="3.4.1").login()
    new = ScriptedWorker(farm.url, kubo, blender="4.5.0", device="OPTIX").login()
    assert old.offers() == []
    refused = old.assign(job["id"])
    assert (refused.status_code, error_code(refused)) == (409, "not_eligible")
    assert "needs Blender 4.5" in refused.json()["error"]["message"]
    for _ in range(4):
        assert old.step() is None
        assert new.step().status_code == 200
    done = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}", timeout=30).json()
    assert done["status"] == "completed"
    events = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}/events", timeout=30).json()["events"]
    assigned = [e for e in events if e["type"] == "assigned"]
    assert len(assigned) == 4
    assert {e["worker_address"] for e in assigned} == {new.address}
    assert all("Blender 4.5.0, device OPTIX" in e["detail"] for e in assigned)
    record = httpx.get(f"{farm.url}/api/v1/workers/{old.address}", timeout=30).json()
    assert (record["blender_version"], record["device"]) == ("3.4.1", "CPU")


def test_bad_blender_or_device_on_poll_is_422(farm, kubo):
    worker = ScriptedWorker(farm.url, kubo).login()
    for params in ({"blender": "four"}, {"device": "ABACUS"}):
        resp = worker.get("/api/v1/jobs/available", **params)
        assert (resp.status_code, error_code(resp)) == (422, "validation_error")
    by_header = worker.http.get("/api/v1/jobs/available", headers={
        **worker.headers, "X-Farmhand-Blender": "4.2", "X-Farmhand-Device": "cuda"})
    assert by_header.status_code == 200
    record = httpx.get(f"{farm.url}/api/v1/workers/{worker.address}", timeout=30).json()
    assert (record["blender_version"], record["device"]) == ("4.2", "CUDA")


def _with_text_chunk(png: bytes, text: str) -> bytes:
    """The same pixels, other bytes: a PNG tEXt chunk as Blender's metadata would add."""
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("RenderTime", text)
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def test_psnr_tells_noise_from_another_image():
    from coordinator.checks import MIN_PSNR_DB, psnr

    honest = frame_png(3)
    restamped = _with_text_chunk(honest, "00:01.25")
    assert restamped != honest and psnr(honest, restamped) == float("inf")
    img = Image.open(io.BytesIO(honest)).convert("RGB")
    img.putpixel((0, 0), tuple((v + 9) % 256 for v in img.getpixel((0, 0))))
    nudged = io.BytesIO()
    img.save(nudged, "PNG")
    assert MIN_PSNR_DB <= psnr(honest, nudged.getvalue()) < float("inf")
    assert psnr(honest, frame_png(3, "other")) < MIN_PSNR_DB
    assert psnr(honest, frame_png(3, size=(64, 48))) == 0.0
    assert psnr(honest, b"not an image") == 0.0
