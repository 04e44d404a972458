"""Scripted workers for the farm tests (imported as `farm_helpers`): real Ed25519 identities
talking to the real coordinator, uploading real PNG frames (Pillow) to a real kubo exactly the
way the engine does (`ipfs add` of one file, or `-r` of a directory of frame_NNNN.png). They
stand in for Blender where a test is about scheduling, checks or verification, not rendering."""

from __future__ import annotations

import io
import struct
import tempfile
from pathlib import Path

import httpx
from PIL import Image, PngImagePlugin

from coord_helpers import Worker

WIDTH, HEIGHT = 32, 24


def frame_png(frame: int, variant: str = "honest", size=(WIDTH, HEIGHT)) -> bytes:
    """A deterministic PNG for ``frame``. Variants: "honest" (the true render: a gradient
    that moves with the frame), "restamped" (the same pixels with a metadata chunk, so another
    file), "noisy" (the honest pixels, every third one's red low bit flipped: what another
    device class renders, PSNR 58.9 dB), "other" (a different valid image), "black" (blank)."""
    img = Image.new("RGB", size)
    if variant != "black":
        shift = 97 if variant == "other" else 0
        noise = 1 if variant == "noisy" else 0
        img.putdata([((x * 7 + frame * 5 + shift) % 256 ^ noise * ((x + y) % 3 == 0),
                      (y * 9 + shift) % 256, (x + y + frame) % 256)
                     for y in range(size[1]) for x in range(size[0])])
    out = io.BytesIO()
    if variant == "restamped":      # honest pixels, other bytes (a render-time text chunk)
        info = PngImagePlugin.PngInfo()
        info.add_text("RenderTime", f"00:0{frame % 10}.42")
        img.save(out, "PNG", pnginfo=info)
    else:
        img.save(out, "PNG")
    return out.getvalue()


def write_frames(directory: Path, frames: list[int], variant: str = "honest") -> Path:
    """frame_NNNN.png files for ``frames`` in ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    for f in frames:
        (directory / f"frame_{f:04d}.png").write_bytes(frame_png(f, variant))
    return directory


def blend_header_file(path: Path, version: int) -> Path:
    """A minimal .blend: the 12-byte header "BLENDER-v<version>" and the ENDB block."""
    path.write_bytes(f"BLENDER-v{version:03d}".encode() + b"ENDB" + struct.pack("<iQii", 0, 0,
                                                                               0, 0))
    return path


class ScriptedWorker(Worker):
    """A worker that polls with its Blender version/device and answers tasks with frames of
    ``variant`` added to ``kubo``."""

    def __init__(self, base_url: str, kubo, blender: str = "3.4.1", device: str = "CPU",
                 variant: str = "honest", rendered_on: str | None = None):
        super().__init__(base_url)
        self.rendered_on = rendered_on   # device named in /complete (None: not sent)
        self.kubo = kubo
        self.blender = blender
        self.device = device
        self.variant = variant
        self.done: list[int] = []
        self.blocked = False

    def offers(self) -> list[dict]:
        """The poll's offers; [] once the coordinator blocked this worker (403)."""
        resp = self.get("/api/v1/jobs/available", blender=self.blender, device=self.device)
        if resp.status_code == 403 and resp.json()["error"]["code"] == "worker_blocked":
            self.blocked = True
            return []
        assert resp.status_code == 200, resp.text
        return resp.json()["jobs"]

    def upload(self, frames: list[int]) -> str:
        """Add this worker's frames to kubo as the engine does; the result CID."""
        with tempfile.TemporaryDirectory(prefix="farm-worker-") as tmp:
            out = write_frames(Path(tmp) / "out", frames, self.variant)
            if len(frames) == 1:
                return self.kubo.add(out / f"frame_{frames[0]:04d}.png")
            return self.kubo.add(out)

    def render(self, task: dict) -> httpx.Response:
        """Complete ``task`` (already assigned) with this worker's frames."""
        cid = self.upload(task["frames"])
        body = {"result_cid": cid, "sha256": "0" * 64, "render_seconds": 0.1,
                "frames": task["frames"]}
        if self.rendered_on:
            body["device"] = self.rendered_on
        return self.post(f"/api/v1/jobs/{task['id']}/complete", body)

    def step(self) -> httpx.Response | None:
        """Take the first offer it wins and complete it; None when nothing was taken."""
        for offer in self.offers():
            if self.assign(offer["id"]).status_code == 200:
                reply = self.render(offer)
                if reply.status_code == 200:
                    self.done.append(offer["id"])
                return reply
        return None
