"""Helpers for the engine tests: jobs posted to the real coordinator, .blend-like files
added to the real kubo node, and an engine config pointing at both (fixture ``farm`` in
tests/engine/conftest.py)."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import httpx


def blend_bytes(header: bytes = b"BLENDER-v304", size: int = 4096) -> bytes:
    """A structurally valid .blend (docs/engine.md, "`.blend` validation"): ``header``, one
    raw DATA block of ``size`` random bytes, a one-struct SDNA, ENDB. Enough for the engine's
    checks; no Blender runs in these tests. Little-endian, 8-byte pointers."""
    large = len(header) == 17

    def block(code: bytes, data: bytes) -> bytes:
        if large:  # code, SDNAnr, old, len, nr
            return code + struct.pack("<iQqq", 0, 0x1000, len(data), 1) + data
        return code + struct.pack("<iQii", len(data), 0x1000, 0, 1) + data

    sdna = (b"SDNANAME" + struct.pack("<i", 2) + b"*next\0*prev\0"
            + b"TYPE" + struct.pack("<i", 1) + b"Link\0\0\0\0"
            + b"TLEN" + struct.pack("<h", 16) + b"\0\0"
            + b"STRC" + struct.pack("<i", 1) + struct.pack("<6h", 0, 2, 0, 0, 0, 1))
    return (header + block(b"DATA", os.urandom(size)) + block(b"DNA1", sdna)
            + block(b"ENDB", b""))


class Farm:
    """The coordinator + kubo pair a test talks to."""

    def __init__(self, coordinator, kubo, tmp_path: Path):
        self.coordinator = coordinator
        self.kubo = kubo
        self.tmp = tmp_path
        self.http = httpx.Client(base_url=coordinator.url, timeout=10)

    def add_blend(self, data: bytes, name: str = "scene.blend") -> str:
        path = self.tmp / f"{time.monotonic_ns()}-{name}"
        path.write_bytes(data)
        return self.kubo.add(path)

    def post_job(self, asset_cid: str, frames: list[int] | None = None,
                 max_attempts: int = 3) -> str:
        reply = self.http.post("/api/v1/jobs", json={
            "asset_cid": asset_cid, "frames": frames or [], "output_format": "PNG",
            "reward": "1.50", "max_attempts": max_attempts})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    def job(self, job_id: str) -> dict:
        reply = self.http.get(f"/api/v1/jobs/{job_id}")
        assert reply.status_code == 200, reply.text
        return reply.json()

    def wait_job(self, job_id: str, pred, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if pred(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} never reached the expected state: {job}")
            time.sleep(0.1)

    def config(self, work_dir: Path, **overrides) -> dict:
        config = {
            "backend_url": self.coordinator.url,
            "key_file": str(self.tmp / "worker.key"),
            "ipfs_rpc_urls": [self.kubo.api_url],
            "gateway_urls": [self.kubo.gateway_url],
            "work_dir": str(work_dir),
            "blender_version": 304,
            "poll_wait_s": 1,
            "heartbeat_interval_s": 0.5,
            "auth_retry_s": 0.2,
            "network_retry_s": 0.2,
            "source_timeout_s": 5,
        }
        config.update(overrides)
        return config
