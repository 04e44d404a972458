"""*Render on the farm*: submit the open scene as a farm job, follow it, fetch its frames.

Steps (docs/addon.md "Render on the farm"):

1. ``pack_copy`` (main thread, bpy): every external image/sound/font/volume is packed, a copy of
   the session is saved to a temporary .blend with ``save_as_mainfile(copy=True)`` (the
   artist's file path, and the file on disk, are untouched), then what was packed only for the
   copy is unpacked again (``unpack(method="REMOVE")``: the datablocks point at their original
   files as before).
2. ``Submission.run`` (a background thread; no bpy): upload the copy through farmhand_core
   (``ipfs.Client.upload``: the CID kubo answers must equal the locally computed one), sign in
   with the worker key (same Ed25519 identity, ``BackendClient.get_headers``), create the job
   (the scene's frame range and step, its file format, chunk size, reward), poll it every
   ``poll_s`` seconds, and when it completes download every frame with verified transfers
   (``ipfs.Client.download``: each block checked against its CID) into a staging directory
   whose directory CID must equal the job's ``result_cid`` before the frames are moved into the
   scene's output folder.

``Submission.state`` is one of ``packing uploading submitting rendering downloading done
failed cancelled``; ``progress`` 0..1 and ``message`` describe it for the panel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from .log import log

FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "OPEN_EXR": "OPEN_EXR"}
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "OPEN_EXR": ".exr"}  # as render.frame_filename
FRAME_NAME = re.compile(r"^frame_-?[0-9]{3,7}\.(png|jpg|exr)$")
PACKABLE = ("images", "sounds", "fonts", "volumes")


class SubmitError(Exception):
    """A step of *Render on the farm* failed; the message says which and what to do."""


@dataclass
class PackReport:
    """What ``pack_copy`` did: ``path`` of the copy, ``packed_for_copy`` (datablock names
    packed only for the copy), ``missing`` (external files that do not exist)."""
    path: str
    packed_for_copy: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _external(bpy):
    """(collection name, datablock) of every datablock using an external file."""
    for name in PACKABLE:
        for block in getattr(bpy.data, name, []):
            if getattr(block, "packed_file", None) is not None or block.library is not None:
                continue
            path = getattr(block, "filepath", "")
            if not path or getattr(block, "source", "FILE") in ("GENERATED", "VIEWER", "MOVIE"):
                continue
            if name == "fonts" and path == "<builtin>":
                continue
            yield name, block


def pack_copy(dest_dir: str) -> PackReport:
    """Save a self-contained copy of the open file into ``dest_dir`` (main thread only).
    Raises SubmitError naming external files that are missing (the farm could not render
    them)."""
    import bpy

    missing = [f"{block.name} ({block.filepath})" for _n, block in _external(bpy)
               if not os.path.isfile(bpy.path.abspath(block.filepath))]
    if missing:
        raise SubmitError("these external files are missing, so the farm could not render "
                          "them: " + ", ".join(missing) + "; fix the paths or remove them")
    to_pack = list(_external(bpy))
    report = PackReport(os.path.join(dest_dir, "farm-job.blend"))
    dirty = bpy.data.is_dirty
    try:
        for _name, block in to_pack:
            block.pack()
            report.packed_for_copy.append(block.name)
        bpy.ops.wm.save_as_mainfile(filepath=report.path, copy=True, compress=False,
                                    relative_remap=False)
    finally:
        for _name, block in to_pack:
            if block.packed_file is not None:
                block.unpack(method="REMOVE")
    log.info("farm: packed copy %s (%d bytes, %d file(s) packed for it, session dirty %s)",
             report.path, os.path.getsize(report.path), len(report.packed_for_copy), dirty)
    return report


def scene_job(scene) -> dict:
    """The job fields of ``scene``: frames (start..end by step), output format."""
    frames = list(range(scene.frame_start, scene.frame_end + 1, max(1, scene.frame_step)))
    fmt = FORMATS.get(scene.render.image_settings.file_format, "PNG")
    return {"frames": frames, "output_format": fmt}


def output_dir(scene) -> str:
    """The folder of the scene's output path (``//`` paths need a saved file)."""
    import bpy

    raw = scene.render.filepath or "//"
    if raw.startswith("//") and not bpy.data.filepath:
        raise SubmitError("the output path is relative (//...) but the file was never saved; "
                          "set an absolute output folder in Output Properties")
    path = bpy.path.abspath(raw)
    return path if path.endswith(os.sep) or os.path.isdir(path) else os.path.dirname(path)


class Submission:
    """One *Render on the farm* run. Thread-safe reads of ``state``/``progress``/
    ``message``/``error``/``job``/``written``; ``cancel()`` stops following (the job keeps
    running on the farm)."""

    def __init__(self, core, settings, blend_path: str, job_fields: dict, out_dir: str,
                 chunk_size: int = 0, reward: str = "0", poll_s: float = 1.0,
                 timeout_s: float = 3600.0, cleanup_dir: str | None = None):
        self.core = core
        self.settings = settings
        self.blend_path = blend_path
        self.job_fields = job_fields
        self.out_dir = out_dir
        self.chunk_size = chunk_size
        self.reward = reward
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.cleanup_dir = cleanup_dir
        self.state = "uploading"
        self.progress = 0.0
        self.message = "uploading the scene"
        self.error = ""
        self.asset_cid = ""
        self.job: dict | None = None
        self.written: list[str] = []
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    # -- HTTP ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, body=None, timeout: float = 30.0) -> dict:
        url = self.settings.backend_url.rstrip("/") + path
        headers = {"Content-Type": "application/json", **self._client.get_headers()}
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as reply:
                return json.loads(reply.read(4 << 20))
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read(65536)).get("error", {})
                text = f"{err.get('code')}: {err.get('message')}"
            except (ValueError, AttributeError):
                text = str(exc)
            raise SubmitError(f"the coordinator answered {exc.code} to {method} {path} "
                              f"({text})") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SubmitError(f"cannot reach the coordinator at {url}: {exc}") from None

    # -- steps --------------------------------------------------------------------------

    def start(self) -> "Submission":
        """Run in a daemon thread; returns self."""
        self.thread = threading.Thread(target=self.run, name="farmhand-submit", daemon=True)
        self.thread.start()
        return self

    def cancel(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """All steps; never raises (``state`` ends ``done``, ``failed`` or ``cancelled``)."""
        try:
            self._run()
        except SubmitError as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 -- shown in the panel, logged with the trace
            log.exception("farm: submission failed")
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            if self.cleanup_dir:
                shutil.rmtree(self.cleanup_dir, ignore_errors=True)

    def _fail(self, message: str) -> None:
        self.state, self.error, self.message = "failed", message, message
        log.error("farm: %s", message)

    def _run(self) -> None:
        core = self.core
        identity = core.Identity.load_or_create(self.settings.key_file)
        self._client = core.BackendClient(self.settings.backend_url, identity)
        ipfs = core.ipfs.Client(self.settings.ipfs_rpc_urls, self.settings.gateway_urls)
        size = os.path.getsize(self.blend_path)
        started = time.monotonic()
        try:
            self.asset_cid = ipfs.upload(self.blend_path)
        except core.ipfs.IpfsError as exc:
            raise SubmitError(f"uploading the scene failed: {exc}") from None
        log.info("farm: uploaded %d bytes as %s in %.2f s", size, self.asset_cid,
                 time.monotonic() - started)
        self.state, self.message = "submitting", "creating the job"
        body = {"asset_cid": self.asset_cid, "reward": self.reward, "max_attempts": 3,
                **self.job_fields}
        if self.chunk_size:
            body["chunk_size"] = self.chunk_size
        self.job = self._request("POST", "/api/v1/jobs", body)
        job_id = self.job["id"]
        log.info("farm: job %s created (%d frames, %s, chunk %d)", job_id,
                 len(body["frames"]), body["output_format"], self.chunk_size)
        self.state = "rendering"
        deadline = time.monotonic() + self.timeout_s
        while True:
            if self._stop.is_set():
                self.state, self.message = "cancelled", f"stopped following job {job_id}"
                return
            job = self.job = self._request("GET", f"/api/v1/jobs/{job_id}")
            total = job.get("frames_total") or len(job["frames"]) or 1
            done = job.get("frames_done", total if job["status"] == "completed" else 0)
            self.progress = done / total
            self.message = f"job {job_id}: {job['status']}, {done}/{total} frames"
            if job["status"] == "completed":
                break
            if job["status"] in ("failed", "cancelled"):
                raise SubmitError(f"job {job_id} {job['status']}: {job.get('error') or ''}")
            if time.monotonic() > deadline:
                raise SubmitError(f"job {job_id} not done after {self.timeout_s:.0f} s")
            self._stop.wait(self.poll_s)
        self.state, self.message = "downloading", f"job {job_id}: downloading the frames"
        self.written = self._download(ipfs, job["result_cid"], len(job["frames"]))
        self.state, self.progress = "done", 1.0
        self.message = f"job {job_id}: {len(self.written)} frame(s) in {self.out_dir}"
        log.info("farm: %s", self.message)

    def _listing(self, cid: str) -> list[tuple[str, str]]:
        """(name, cid) of a directory's entries from kubo's ``ls`` (untrusted: every name is
        checked here and every file, and the directory CID, verified afterwards)."""
        url = f"{self.settings.ipfs_rpc_urls[0].rstrip('/')}/api/v0/ls?arg={cid}"
        req = urllib.request.Request(url, data=b"", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=60) as reply:
                objects = json.loads(reply.read(16 << 20))["Objects"]
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            raise SubmitError(f"cannot list the result {cid}: {exc}") from None
        out = []
        for link in objects[0].get("Links", []):
            name, link_cid = link.get("Name", ""), link.get("Hash", "")
            if not FRAME_NAME.match(name):
                raise SubmitError(f"the result {cid} holds {name!r}, not a frame file")
            out.append((name, link_cid))
        return out

    def _download(self, ipfs, cid: str, frame_count: int) -> list[str]:
        core = self.core
        os.makedirs(self.out_dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".farmhand-", dir=self.out_dir)
        try:
            if frame_count <= 1:
                frames = self.job_fields["frames"] or [1]
                ext = EXTENSIONS[self.job_fields["output_format"]]
                entries = [(f"frame_{frames[0]:04d}{ext}", cid)]
            else:
                entries = self._listing(cid)
            for n, (name, link) in enumerate(entries):
                ipfs.download(link, staging, filename=name)
                self.progress = (n + 1) / len(entries)
            if frame_count > 1 and core.ipfs.cid_of(staging) != cid:
                raise SubmitError(f"the downloaded frames do not add up to the result {cid}; "
                                  "nothing was written")
            written = []
            for name, _link in entries:
                target = os.path.join(self.out_dir, name)
                os.replace(os.path.join(staging, name), target)
                written.append(target)
            return written
        finally:
            shutil.rmtree(staging, ignore_errors=True)
