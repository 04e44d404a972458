"""Streamed .blend uploads (POST /api/v1/uploads) into real kubo, the creator identity
(/api/v1/me) and the cross-site request guard. Scenes are saved by real Blender (Debian's
3.4, plain and zstd) and the bpy module (5.0, the large header); broken ones are cut from
them."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from coord_helpers import Worker

BLENDER = shutil.which("blender")
SAVE = ("import bpy, sys; bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-2], "
        "compress=sys.argv[-1] == 'z')")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> dict[str, Path]:
    """{'3.4': plain file from Blender 3.4, '3.4z': zstd, '5.0': bpy 5.0.1 (plain)}."""
    out = tmp_path_factory.mktemp("scenes")
    made = {}
    if BLENDER:
        for name, flag in (("3.4", "p"), ("3.4z", "z")):
            path = out / f"{name}.blend"
            subprocess.run([BLENDER, "-b", "--factory-startup", "--python-expr", SAVE, "--",
                            str(path), flag], check=True, capture_output=True, timeout=120)
            made[name] = path
    path = out / "5.0.blend"
    subprocess.run([sys.executable, "-c", SAVE, str(path), "p"], check=True,
                   capture_output=True, timeout=120)
    made["5.0"] = path
    return made


@pytest.fixture
def farm(coordinator_factory, kubo):
    return coordinator_factory("--ipfs-api", kubo.api_url, "--gateway-url", kubo.gateway_url)


def _pinned(kubo, cid: str) -> bool:
    return cid in kubo.cli("pin", "ls", "--type=recursive", "--quiet")


def _upload(url: str, data, headers=None) -> httpx.Response:
    return httpx.post(url + "/api/v1/uploads", content=data, timeout=120,
                      headers={"Content-Type": "application/octet-stream", **(headers or {})})


@pytest.mark.skipif(not BLENDER, reason="Debian's blender is not installed")
@pytest.mark.parametrize("name,version,compression", [("3.4", 304, "none"),
                                                      ("3.4z", 304, "zstd")])
def test_upload_stores_blender_34_scene_with_kubos_cid(farm, kubo, scenes, name, version,
                                                       compression):
    data = scenes[name].read_bytes()
    resp = _upload(farm.url, data)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body == {"cid": kubo.only_hash(scenes[name]), "size": len(data),
                    "blender_version": "3.4", "version": version, "compression": compression}
    assert _pinned(kubo, body["cid"])


def test_upload_reads_blender_5_large_header(farm, kubo, scenes):
    resp = _upload(farm.url, scenes["5.0"].read_bytes())
    assert resp.status_code == 201, resp.text
    assert resp.json()["version"] == 500
    assert resp.json()["blender_version"] == "5.0"
    assert resp.json()["cid"] == kubo.only_hash(scenes["5.0"])


def test_upload_chunked_body_without_content_length(farm, kubo, scenes):
    data = scenes["5.0"].read_bytes()

    def chunks():
        for i in range(0, len(data), 7000):
            yield data[i:i + 7000]

    resp = _upload(farm.url, chunks())
    assert resp.status_code == 201, resp.text
    assert resp.json()["cid"] == kubo.only_hash(scenes["5.0"])


def test_not_a_blend_is_refused_before_ipfs(farm, tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 5000
    resp = _upload(farm.url, png)
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "not_a_blend"
    assert "\\x89PNG" in err["message"] and "BLENDER" in err["message"]


def test_empty_upload_is_refused(farm):
    resp = _upload(farm.url, b"")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "empty_upload"


def test_truncated_blend_is_refused_and_unpinned(farm, kubo, scenes, tmp_path):
    data = scenes["5.0"].read_bytes()
    cut = data[: len(data) * 2 // 3]
    path = tmp_path / "cut.blend"
    path.write_bytes(cut)
    resp = _upload(farm.url, cut)
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "blend_corrupt"
    assert "ENDB" in err["message"] and "truncated" in err["message"]
    assert not _pinned(kubo, kubo.only_hash(path))


@pytest.mark.skipif(not BLENDER, reason="Debian's blender is not installed")
def test_corrupt_zstd_stream_is_refused(farm, scenes):
    data = bytearray(scenes["3.4z"].read_bytes())
    for i in range(200, min(len(data), 4000)):
        data[i] ^= 0x5A
    resp = _upload(farm.url, bytes(data))
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "blend_corrupt"


def test_block_with_negative_length_is_corrupt(farm):
    head = b"BLENDER-v304" + struct.pack("<4siQii", b"TEST", -5, 0, 0, 1)
    resp = _upload(farm.url, head + b"\x00" * 100)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "blend_corrupt"
    assert "negative" in resp.json()["error"]["message"]


def _synthetic_blend(block_bytes: int, chunk: int = 1 << 20):
    """A minimal valid .blend (3.4 header, one data block of ``block_bytes``, ENDB),
    generated chunk by chunk."""
    yield b"BLENDER-v304" + struct.pack("<4siQii", b"DATA", block_bytes, 1, 0, 1)
    left = block_bytes
    while left:
        n = min(chunk, left)
        yield b"\x07" * n
        left -= n
    yield struct.pack("<4siQii", b"ENDB", 0, 0, 0, 0)


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_large_upload_is_streamed_not_held_in_memory(farm, kubo):
    size = 192 << 20
    before = _peak_rss_kib(farm.proc.pid)
    resp = _upload(farm.url, _synthetic_blend(size))
    assert resp.status_code == 201, resp.text
    assert resp.json()["size"] == size + 12 + 48
    grown = _peak_rss_kib(farm.proc.pid) - before
    assert grown < 48 * 1024, f"coordinator peak RSS grew {grown} KiB for a {size}-byte upload"
    kubo.cli("pin", "rm", resp.json()["cid"])


def test_size_limit_with_and_without_content_length(coordinator_factory, kubo):
    coord = coordinator_factory("--ipfs-api", kubo.api_url, "--max-upload-bytes", "4096")
    body = b"".join(_synthetic_blend(8000))
    resp = _upload(coord.url, body)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "upload_too_large"
    assert "4096 bytes" in resp.json()["error"]["message"]
    resp = _upload(coord.url, _synthetic_blend(8000, chunk=1000))
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "upload_too_large"
    small = b"".join(_synthetic_blend(100))
    assert _upload(coord.url, small).status_code == 201


def test_kubo_down_is_502(coordinator_factory, scenes):
    coord = coordinator_factory("--ipfs-api", "http://127.0.0.1:9")
    resp = _upload(coord.url, scenes["5.0"].read_bytes())
    assert resp.status_code == 502
    assert resp.json()["error"]["code"] == "ipfs_unavailable"


def test_upload_needs_a_valid_token_when_one_is_sent(farm):
    resp = _upload(farm.url, b"BLENDER-v304", {"Authorization": "Bearer nonsense"})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "token_invalid"


def test_me_names_the_signed_in_creator(farm):
    creator = Worker(farm.url).login()
    assert creator.get("/api/v1/me").json() == {"address": creator.address, "operator": False,
                                                "signed_in": True}
    # --dev: no header at all is the operator (as job creation always allowed there).
    assert httpx.get(farm.url + "/api/v1/me").json() == {"address": None, "operator": True,
                                                         "signed_in": True}
    creator.close()


def test_cross_site_post_is_refused(farm):
    resp = _upload(farm.url, b"BLENDER-v304", {"Origin": "http://evil.example"})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "cross_site_request"
    resp = httpx.post(farm.url + "/api/v1/auth/challenge", json={"address": "0x" + "ab" * 32},
                      headers={"Origin": "null"})
    assert resp.status_code == 403
    host = farm.url.split("//")[1]
    resp = httpx.post(farm.url + "/api/v1/auth/challenge", json={"address": "0x" + "ab" * 32},
                      headers={"Origin": f"http://{host}"})
    assert resp.status_code == 200
    resp = httpx.post(farm.url + "/api/v1/auth/challenge", json={"address": "0x" + "ab" * 32},
                      headers={"Referer": "http://evil.example/page"})
    assert resp.status_code == 403


def _worker_polls(url: str, blender: str) -> None:
    """A real signed-in worker asks for offers saying its Blender version (what the
    coordinator learns worker versions from)."""
    worker = Worker(url).login()
    resp = worker.http.get("/api/v1/jobs/available", params={"blender": blender},
                           headers=worker.headers)
    assert resp.status_code == 200, resp.text


def test_upload_newer_than_every_worker_is_refused_before_kubo(farm, kubo, tmp_path):
    scene = tmp_path / "too-new.blend"  # bytes no other test uploads (kubo is shared)
    subprocess.run([sys.executable, "-c", "import bpy; bpy.context.scene.name = 'TooNew'; "
                    + SAVE, str(scene), "p"], check=True, capture_output=True, timeout=120)
    _worker_polls(farm.url, "3.4.1")
    resp = _upload(farm.url, scene.read_bytes())
    assert resp.status_code == 422, resp.text
    body = resp.json()["error"]
    assert body["code"] == "too_new"
    assert "saved by Blender 5.0" in body["message"]
    assert "the newest runs Blender 3.4.1" in body["message"]
    assert "Save it from Blender 3.4 or older" in body["message"]
    cid = kubo.only_hash(scene)
    assert not _pinned(kubo, cid)
    # a worker that can open it joins: the same bytes are taken
    _worker_polls(farm.url, "5.0.1")
    resp = _upload(farm.url, scene.read_bytes())
    assert resp.status_code == 201, resp.text
    assert resp.json()["cid"] == cid
    assert _pinned(kubo, cid)


def test_upload_ignores_workers_not_seen_recently(coordinator_factory, kubo, scenes):
    farm = coordinator_factory("--ipfs-api", kubo.api_url, "--gateway-url", kubo.gateway_url,
                               "--worker-recent-seconds", "5")
    _worker_polls(farm.url, "3.4.1")
    assert _upload(farm.url, scenes["5.0"].read_bytes()).json()["error"]["code"] == "too_new"
    time.sleep(5.5)  # the 3.4 worker is no longer "recent": no version known, all accepted
    resp = _upload(farm.url, scenes["5.0"].read_bytes())
    assert resp.status_code == 201, resp.text
