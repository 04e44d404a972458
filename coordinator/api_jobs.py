"""``/api/v1/jobs*``: create, list, long-poll, assign, heartbeat, complete, fail, release."""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from .blendinfo import read_header
from .blendscene import read_resolution
from .creators import Caller, caller, looks_like_jwt, may_see, redact, redact_event, signed_in
from .errors import ApiError
from .models import (CREATOR_MAX_PRIORITY, AssignRequest, CancelRequest, CompleteRequest,
                     CreateJobRequest, FailRequest, HeartbeatRequest, PriorityRequest,
                     ReleaseRequest, check_blender, check_creator, check_device)
from .services import Services, services, worker_address
from .timefmt import iso

router = APIRouter(prefix="/api/v1/jobs")
Status = Literal["pending", "assigned", "completed", "failed", "cancelled"]
SCENE_READ_SECONDS = 60.0   # reading a .blend's scene resolution at submission, at most
JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="job id")]


def _require_admin(request: Request, svc: Services) -> Caller:
    """Who may create jobs: the operator (admin token; no header in --dev) or, for a Bearer
    value shaped like a JWT, a signed-in creator (docs/protocol.md "Creators"; 401
    token_invalid/expired)."""
    configured = svc.settings.admin_token
    header = request.headers.get("authorization")
    if header is None and svc.settings.dev:
        return Caller(None, True)
    if header and looks_like_jwt(header):
        return Caller(svc.auth.verify_token(header), False)
    if not configured and not svc.settings.dev:
        raise ApiError(403, "job_creation_disabled",
                       "job creation needs an admin token or a creator's sign-in: start the "
                       "coordinator with --admin-token (or FARMHAND_ADMIN_TOKEN), or --dev")
    if not header or not header.startswith("Bearer "):
        raise ApiError(401, "token_missing", "send 'Authorization: Bearer <admin token>'")
    given = header[len("Bearer "):].strip().encode()
    if not configured or not hmac.compare_digest(given, configured.encode()):
        raise ApiError(401, "admin_token_invalid", "the admin token is wrong")
    return Caller(None, True)


def _check_priority(who: Caller, priority: int) -> None:
    """A creator may ask for 0..CREATOR_MAX_PRIORITY, the operator for anything up to 100
    (docs/protocol.md "Priorities"); 403 priority_not_allowed otherwise."""
    if priority > CREATOR_MAX_PRIORITY and not who.operator:
        raise ApiError(403, "priority_not_allowed",
                       f"priority {priority} is above {CREATOR_MAX_PRIORITY}, the most a "
                       f"creator may set; choose 0-{CREATOR_MAX_PRIORITY} (a higher priority "
                       "puts a job ahead of other creators' and only the operator can give it)")


@router.post("", status_code=201)
async def create_job(body: CreateJobRequest, request: Request,
                     svc: Services = Depends(services)) -> dict:
    who = _require_admin(request, svc)
    # A creator's job is theirs, whatever the body says; the operator names any creator.
    creator = who.address or body.creator
    _check_priority(who, body.priority)
    header, resolution = {}, body.resolution
    if not svc.settings.trusted:
        header = await read_header(svc.farm.kubo, body.asset_cid)
        if resolution is None:   # the scene's own (docs/protocol.md "Result checks")
            resolution = await read_resolution(svc.farm.kubo, body.asset_cid,
                                               svc.settings.max_upload_bytes,
                                               SCENE_READ_SECONDS)
    return await svc.call(svc.store.create, body.asset_cid, body.frames, body.output_format,
                          body.reward, body.max_attempts, body.chunk_size, creator,
                          resolution, header.get("version"), header.get("compression"),
                          body.priority)


def _query(check, value):
    """Run a models.check_* on a query parameter; 422 validation_error naming it."""
    try:
        return check(value)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"malformed request: {exc}",
                       details=[{"field": check.__name__[6:], "reason": str(exc)}]) from None


@router.get("")
async def list_jobs(status: Optional[Status] = None, limit: int = Query(100, ge=1, le=1000),
                    creator: Optional[str] = None,
                    svc: Services = Depends(services), who: Caller = Depends(caller)) -> dict:
    if creator is not None:
        _query(check_creator, creator)
    jobs = await svc.call(svc.store.list, status, limit, creator)
    return {"jobs": [redact(job, await svc.call(may_see, svc.store.db, who, job["id"]))
                     for job in jobs]}


@router.get("/available")
async def available(request: Request, status: Literal["pending"] = "pending",
                    wait: float = Query(0.0, ge=0.0), limit: int = Query(10, ge=1, le=100),
                    blender: Optional[str] = None, device: Optional[str] = None,
                    svc: Services = Depends(services),
                    worker: str = Depends(worker_address)) -> dict:
    blender = _query(check_blender, blender or request.headers.get("x-farmhand-blender"))
    device = _query(check_device, device or request.headers.get("x-farmhand-device"))
    deadline = time.monotonic() + min(wait, svc.settings.max_wait_seconds)
    while True:
        changed = svc.notifier.current()
        jobs = await svc.call(svc.store.available, limit, worker, blender, device)
        remaining = deadline - time.monotonic()
        if jobs or remaining <= 0 or svc.stopping:
            return {"jobs": jobs}
        if svc.store.offers_held():  # a hold's end notifies nobody: look again soon
            remaining = min(remaining, 0.5)
        await svc.notifier.wait(changed, remaining)


@router.get("/{job_id}")
async def get_job(job_id: JobId, svc: Services = Depends(services),
                  who: Caller = Depends(caller)) -> dict:
    job = await svc.call(svc.store.get, job_id)
    return redact(job, await svc.call(may_see, svc.store.db, who, job_id))


@router.post("/{job_id}/assign")
async def assign(job_id: JobId, body: AssignRequest, svc: Services = Depends(services),
                 worker: str = Depends(worker_address)) -> dict:
    if body.worker_address != worker:
        raise ApiError(403, "address_mismatch",
                       f"worker_address {body.worker_address} is not the token's address "
                       f"{worker}; a worker can only assign jobs to itself")
    result = await svc.call(svc.store.assign, job_id, worker)
    if result.claim_latency is not None:
        svc.metrics.claim_latency.observe(result.claim_latency)
    reply = {"success": True, "lease_expires_at": iso(result.lease_expires_at),
             "lease_seconds": svc.settings.lease_seconds, "job": result.job}
    if result.already_held:
        reply["already_held"] = True
    return reply


@router.post("/{job_id}/heartbeat")
async def heartbeat(job_id: JobId, body: Optional[HeartbeatRequest] = None,
                    svc: Services = Depends(services),
                    worker: str = Depends(worker_address)) -> dict:
    body = body or HeartbeatRequest()
    lease = await svc.call(svc.store.heartbeat, job_id, worker, body.progress, body.message)
    return {"success": True, "lease_expires_at": iso(lease),
            "lease_seconds": svc.settings.lease_seconds}


@router.post("/{job_id}/complete")
async def complete(job_id: JobId, body: CompleteRequest, svc: Services = Depends(services),
                   worker: str = Depends(worker_address)) -> dict:
    job, newly = await svc.farm.complete(job_id, worker, body.result_cid, body.sha256,
                                         body.render_seconds, body.frames,
                                         body.device, body.blender)
    if newly:
        svc.metrics.render_seconds.observe(body.render_seconds)
    return {"success": True, "job": job}


@router.post("/{job_id}/fail")
async def fail(job_id: JobId, body: FailRequest, svc: Services = Depends(services),
               worker: str = Depends(worker_address)) -> dict:
    return await svc.call(svc.store.fail, job_id, worker, body.error, body.retryable,
                          body.log_tail, body.code)


@router.post("/{job_id}/release")
async def release(job_id: JobId, body: Optional[ReleaseRequest] = None,
                  svc: Services = Depends(services),
                  worker: str = Depends(worker_address)) -> JSONResponse:
    await svc.call(svc.store.release, job_id, worker, body.reason if body else None)
    return JSONResponse({"success": True})


@router.post("/{job_id}/cancel")
async def cancel(job_id: JobId, body: Optional[CancelRequest] = None,
                 svc: Services = Depends(services), who: Caller = Depends(signed_in)) -> dict:
    await svc.call(svc.store.get, job_id)   # 404 job_not_found first
    if not who.owns((await svc.call(svc.store.get, job_id)).get("creator")):
        raise ApiError(403, "not_owner", f"job {job_id} belongs to another creator; only they "
                       "or the operator can cancel it")
    job = await svc.call(svc.store.cancel, job_id, body.reason if body else None)
    return {"success": True, "job": job}


@router.post("/{job_id}/priority")
async def set_priority(job_id: JobId, body: PriorityRequest, svc: Services = Depends(services),
                       who: Caller = Depends(signed_in)) -> dict:
    job = await svc.call(svc.store.get, job_id)   # 404 job_not_found first
    if job.get("kind") != "job":
        raise ApiError(404, "job_not_found", f"{job_id} is a task of job {job['job_id']}, not "
                       f"a job; set the priority of job {job['job_id']}")
    if not who.owns(job["creator"]):
        raise ApiError(403, "not_owner", f"job {job_id} belongs to another creator; only they "
                       "or the operator can change its priority")
    _check_priority(who, body.priority)
    job = await svc.call(svc.store.set_priority, job_id, body.priority, who.name)
    return {"success": True, "job": job}


@router.get("/{job_id}/tasks")
async def job_tasks(job_id: JobId, svc: Services = Depends(services),
                    who: Caller = Depends(caller)) -> dict:
    tasks = await svc.call(svc.store.tasks, job_id)
    allowed = await svc.call(may_see, svc.store.db, who, job_id)
    return {"tasks": [redact(task, allowed) for task in tasks]}


@router.get("/{job_id}/events")
async def job_events(job_id: JobId, svc: Services = Depends(services),
                     who: Caller = Depends(caller)) -> dict:
    events = await svc.call(svc.store.events, job_id)
    allowed = await svc.call(may_see, svc.store.db, who, job_id)
    return {"events": [redact_event(event, allowed) for event in events]}
