"""Streamed uploads into kubo, and frame archives streamed back out of it.

An upload flows request body -> BlendSniffer (coordinator/blendcheck.py) -> kubo's
``POST /api/v0/add`` (multipart/form-data written by hand around the streamed bytes; kubo RPC
API v0) without ever being held whole in memory: at most one request chunk plus kubo's reply
is buffered. The size limit is checked against Content-Length up front and against the bytes
actually received as they arrive. A file the sniffer refuses after kubo already stored it is
unpinned again (``/api/v0/pin/rm``).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import AsyncIterator

import httpx

from .blendcheck import SNIFF_BYTES, BlendRefused, BlendSniffer, version_name
from .errors import ApiError

log = logging.getLogger("coordinator")
KUBO_TIMEOUT = httpx.Timeout(30.0, read=600.0)


@dataclass
class Upload:
    """A stored upload: ``cid`` (kubo's CIDv0, pinned), ``size`` (bytes), ``version`` (int,
    304 = 3.4), ``compression`` ("none"/"gzip"/"zstd"), ``seconds`` (wall time)."""
    cid: str
    size: int
    version: int
    compression: str
    seconds: float

    def json(self) -> dict:
        return {"cid": self.cid, "size": self.size, "blender_version": version_name(self.version),
                "version": self.version, "compression": self.compression}


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "upload_too_large",
                    f"uploads are limited to {limit} bytes ({limit / 2**20:.0f} MiB) on this "
                    "coordinator; render a smaller scene or ask the operator "
                    "(--max-upload-bytes)")


def too_new(version: int, newest: tuple[int, str] | None) -> ApiError | None:
    """The 422 ``too_new`` refusal for a file saved by Blender ``version`` (header numbering,
    304 = 3.4) when ``newest`` (:func:`coordinator.worker_stats.newest_worker_blender`) is
    older; None when some worker can open it or no worker's version is known."""
    if newest is None or version <= newest[0]:
        return None
    return ApiError(422, "too_new",
                    f"this file was saved by Blender {version_name(version)}, newer than every "
                    f"worker on this farm (the newest runs Blender {newest[1]}): no worker "
                    f"could open it. Save it from Blender {version_name(newest[0])} or older "
                    "(or wait until newer workers join), then upload it again")


async def store_blend(body: AsyncIterator[bytes], declared: int | None, limit: int,
                      ipfs_api: str, filename: str = "scene.blend",
                      newest: tuple[int, str] | None = None) -> Upload:
    """Stream a .blend from ``body`` into kubo. ``declared``: Content-Length (None if the
    body is chunked); ``limit``: bytes; ``newest``: the newest worker's Blender (see
    :func:`too_new`). Raises ApiError 413 upload_too_large, 422 not_a_blend / blend_corrupt /
    empty_upload / too_new, 502 ipfs_unavailable."""
    if declared is not None and declared > limit:
        raise _too_large(limit)
    started = time.monotonic()
    sniffer = BlendSniffer()
    received = 0
    head = b""
    iterator = body.__aiter__()
    # Look at the first bytes before opening kubo: a JPEG is refused without touching IPFS.
    async for chunk in iterator:
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    if not head:
        raise ApiError(422, "empty_upload", "the upload is empty: drop a .blend file")
    try:
        sniffer.feed(head)
    except BlendRefused as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    if sniffer.version is not None and (error := too_new(sniffer.version, newest)):
        raise error  # decided from the header, before kubo is contacted

    refused: list[BlendRefused] = []
    boundary = "farmhand" + secrets.token_hex(12)

    async def multipart() -> AsyncIterator[bytes]:
        nonlocal received
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
               ).encode()
        yield head
        async for chunk in iterator:
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            try:
                sniffer.feed(chunk)
            except BlendRefused as exc:
                refused.append(exc)
                raise
            yield chunk
        try:
            sniffer.finish()
        except BlendRefused as exc:
            refused.append(exc)   # kubo gets the whole file; it is unpinned below
        yield f"\r\n--{boundary}--\r\n".encode()

    url = ipfs_api.rstrip("/") + "/api/v0/add"
    try:
        async with httpx.AsyncClient(timeout=KUBO_TIMEOUT) as client:
            try:
                reply = await client.post(
                    url, params={"pin": "true", "quieter": "true"}, content=multipart(),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
            except BlendRefused:
                raise ApiError(422, refused[0].code, str(refused[0])) from None
            if reply.status_code != 200:
                raise ApiError(502, "ipfs_unavailable",
                               f"the IPFS node refused the upload ({reply.status_code}: "
                               f"{reply.text[:200]}); try again later")
            cid = _cid_from_add(reply.text)
            if refused:
                await client.post(ipfs_api.rstrip("/") + "/api/v0/pin/rm",
                                  params={"arg": cid})
                raise ApiError(422, refused[0].code, str(refused[0]))
    except httpx.HTTPError as exc:
        if refused:
            raise ApiError(422, refused[0].code, str(refused[0])) from None
        raise ApiError(502, "ipfs_unavailable",
                       f"cannot reach the coordinator's IPFS node ({type(exc).__name__}); "
                       "try again later") from None
    if error := too_new(sniffer.version, newest):  # header known only after the head
        await _unpin(ipfs_api, cid)
        raise error
    upload = Upload(cid, received, sniffer.version, sniffer.compression,
                    time.monotonic() - started)
    log.info("upload %s: %d bytes, Blender %s, %s, %d blocks, %.2f s (%.1f MiB/s)", cid,
             received, version_name(sniffer.version), sniffer.compression, sniffer.blocks,
             upload.seconds, received / 2**20 / max(upload.seconds, 1e-6))
    return upload


async def _unpin(ipfs_api: str, cid: str) -> None:
    async with httpx.AsyncClient(timeout=KUBO_TIMEOUT) as client:
        await client.post(ipfs_api.rstrip("/") + "/api/v0/pin/rm", params={"arg": cid})


def _cid_from_add(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    try:
        return json.loads(lines[-1])["Hash"]
    except (IndexError, ValueError, KeyError, TypeError):
        raise ApiError(502, "ipfs_unavailable",
                       f"unexpected reply from the IPFS node: {text[:200]!r}") from None


async def archive_stream(cid: str, ipfs_api: str) -> AsyncIterator[bytes]:
    """Kubo's tar of ``cid`` (``/api/v0/get?archive=true``), streamed chunk by chunk. The
    first chunk is fetched before the reply starts, so an unreachable node or missing CID is
    an ApiError (502 ipfs_unavailable) rather than a cut-off download."""
    client = httpx.AsyncClient(timeout=KUBO_TIMEOUT)
    request = client.build_request("POST", ipfs_api.rstrip("/") + "/api/v0/get",
                                   params={"arg": cid, "archive": "true"})
    try:
        reply = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        raise ApiError(502, "ipfs_unavailable",
                       f"cannot reach the coordinator's IPFS node ({type(exc).__name__})") \
            from None
    if reply.status_code != 200:
        text = (await reply.aread())[:200]
        await reply.aclose()
        await client.aclose()
        raise ApiError(502, "ipfs_unavailable",
                       f"the IPFS node cannot give {cid} ({reply.status_code}: {text!r})")
    chunks = reply.aiter_raw()

    async def rest() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await reply.aclose()
            await client.aclose()

    return rest()
