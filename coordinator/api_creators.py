"""The creators' side of the API: who am I, streamed .blend uploads, frame archives, and the
web front end's static files (``coordinator/web/``). docs/protocol.md "Creators"."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from typing import Annotated, Optional

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from . import __version__
from .creators import Caller, caller, may_see, signed_in
from .errors import ApiError
from .services import Services, services
from .uploads import archive_stream, store_blend
from .worker_stats import newest_worker_blender

log = logging.getLogger("coordinator")
router = APIRouter()
WEB_DIR = Path(__file__).resolve().parent / "web"
# Files of the front end, by URL name -> media type. Only these are served (no directory
# walking: a path is never built from the request).
WEB_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "identity.js": "text/javascript; charset=utf-8",
    "frames.js": "text/javascript; charset=utf-8",
    "views.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
UPLOAD_PATH = "/api/v1/uploads"
JobId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="job id")]


def web_headers(gateway: str) -> dict[str, str]:
    """Security headers of the front end: a CSP with no inline script (scripts only from this
    origin), images from this origin and the gateway, no framing."""
    gateway = gateway.rstrip("/")
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; "
           f"img-src 'self' {gateway}; connect-src 'self'; base-uri 'none'; "
           "form-action 'none'; frame-ancestors 'none'")
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "Cache-Control": "no-cache"}


@router.get("/api/v1/site")
async def site(svc: Services = Depends(services)) -> dict:
    """What the front end needs to know about this coordinator."""
    return {"version": __version__, "gateway_url": svc.settings.gateway_url.rstrip("/"),
            "max_upload_bytes": svc.settings.max_upload_bytes, "dev": svc.settings.dev}


@router.get("/api/v1/me", responses={401: {"description": "token_invalid / token_expired"}})
async def me(who: Caller = Depends(caller)) -> dict:
    """Who the request's token says the caller is."""
    return {"address": who.address, "operator": who.operator,
            "signed_in": who.address is not None or who.operator}


@router.post(UPLOAD_PATH, status_code=201, responses={
    401: {"description": "token_missing / token_invalid / token_expired"},
    413: {"description": "upload_too_large"},
    422: {"description": "not_a_blend / blend_corrupt / empty_upload / too_new"},
    502: {"description": "ipfs_unavailable"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload(request: Request, svc: Services = Depends(services),
                 who: Caller = Depends(signed_in)) -> dict:
    """Stream a .blend (the raw request body) into the coordinator's IPFS node."""
    declared = request.headers.get("content-length")
    try:
        size = int(declared) if declared is not None else None
    except ValueError:
        raise ApiError(400, "bad_content_length", "Content-Length is not a number") from None
    newest = await svc.call(newest_worker_blender, svc.store.db,
                            time.time() - svc.settings.worker_recent_seconds)
    result = await store_blend(request.stream(), size, svc.settings.max_upload_bytes,
                               svc.settings.ipfs_api, newest=newest)
    log.info("upload %s by %s", result.cid, who.name)
    return result.json()


@router.get("/api/v1/jobs/{job_id}/archive", response_class=StreamingResponse, responses={
    200: {"content": {"application/x-tar": {}}, "description": "the result as a tar"},
    403: {"description": "not_owner"}, 404: {"description": "job_not_found"},
    409: {"description": "no_result"}, 502: {"description": "ipfs_unavailable"}})
async def archive(job_id: JobId, cid: Optional[str] = Query(None, max_length=256),
                  svc: Services = Depends(services), who: Caller = Depends(caller)):
    """All frames of a completed job as one tar, streamed from the IPFS node. Allowed to the
    job's creator and the operator, and to whoever names the job's result CID in ``cid``
    (knowing it is what the gateway needs too: the capability a creator shares)."""
    job = await svc.call(svc.store.get, job_id)
    shared = cid is not None and cid == job.get("result_cid")
    if not shared and not await svc.call(may_see, svc.store.db, who, job_id):
        raise ApiError(403, "not_owner", f"job {job_id} belongs to another creator; only "
                       "they (or the operator, or whoever has its result CID) can download "
                       "its frames")
    cid = job.get("result_cid")
    if not cid:
        raise ApiError(409, "no_result", f"job {job_id} has no result yet (it is "
                       f"{job['status']})", status=job["status"])
    body = await archive_stream(cid, svc.settings.ipfs_api)
    return StreamingResponse(body, media_type="application/x-tar", headers={
        "Content-Disposition": f'attachment; filename="farmhand-job-{job_id}-{cid}.tar"',
        "X-Result-Cid": cid})


@router.get("/web", include_in_schema=False)
async def web_root() -> RedirectResponse:
    return RedirectResponse("/web/", status_code=308)


@router.get("/web/{name}", include_in_schema=False)
async def web_file(name: str, svc: Services = Depends(services)) -> FileResponse:
    name = name or "index.html"
    media = WEB_FILES.get(name)
    if media is None:
        raise ApiError(404, "not_found", "no such file in the web front end")
    return FileResponse(WEB_DIR / name, media_type=media,
                        headers=web_headers(svc.settings.gateway_url))


@router.get("/web/", include_in_schema=False)
async def web_index(svc: Services = Depends(services)) -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type=WEB_FILES["index.html"],
                        headers=web_headers(svc.settings.gateway_url))
