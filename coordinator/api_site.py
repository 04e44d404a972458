"""Health, Prometheus metrics, the HTML page and the SSE event stream."""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, StreamingResponse

from . import __version__
from .creators import Caller, caller, may_see, redact, redact_event
from .page import render_page
from .services import Services, services

router = APIRouter()
KEEPALIVE_SECONDS = 15.0


@router.get("/api/v1/health")
async def health() -> dict:
    return {"status": "ok", "version": __version__}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(svc: Services = Depends(services)) -> PlainTextResponse:
    counts = await svc.call(svc.store.counts)
    seen = await svc.call(svc.store.workers_seen)
    tasks = await svc.call(svc.store.task_counts)
    body = svc.metrics.render(counts, seen, svc.store.lease_expiries, tasks)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/", response_class=HTMLResponse)
async def page(svc: Services = Depends(services),
               who: Caller = Depends(caller)) -> HTMLResponse:
    jobs = [redact(job, await svc.call(may_see, svc.store.db, who, job["id"]))
            for job in await svc.call(svc.store.list, None, 500)]
    counts = await svc.call(svc.store.counts)
    gateway = svc.settings.gateway_url.rstrip("/")
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; img-src {gateway}; "
           "base-uri 'none'; form-action 'none'")
    workers = await svc.call(svc.store.workers, 500)
    return HTMLResponse(render_page(jobs, counts, gateway, workers),
                        headers={"Content-Security-Policy": csp,
                                 "X-Content-Type-Options": "nosniff"})


_EVENT_ID_RE = re.compile(r"[0-9]{1,19}")
_SQLITE_MAX_INT = 2 ** 63 - 1


def _last_event_id(request: Request) -> int | None:
    """``Last-Event-ID`` as an event id, or None (new events only) when it is absent or not
    1 to 19 ASCII digits up to SQLite's largest integer. str.isdigit() alone let through
    "\u00b2" (int() then raised: a 500) and 10^22 (SQLite OverflowError: the stream died)."""
    raw = request.headers.get("last-event-id", "").strip()
    if not _EVENT_ID_RE.fullmatch(raw) or int(raw) > _SQLITE_MAX_INT:
        return None
    return int(raw)


@router.get("/api/v1/events/stream")
async def event_stream(request: Request, svc: Services = Depends(services),
                       who: Caller = Depends(caller)) -> StreamingResponse:
    start = _last_event_id(request)
    allowed: dict[int, bool] = {}   # job id -> may_see, for redact_event
    if start is None:
        start = await svc.call(svc.store.last_event_id)

    async def messages():
        last = start
        yield ": connected\n\n"
        while not svc.stopping and not await request.is_disconnected():
            changed = svc.notifier.current()
            events = await svc.call(svc.store.events_after, last)
            for event in events:
                last = event["id"]
                job_id = event["job_id"]
                if job_id not in allowed or not allowed[job_id]:
                    allowed[job_id] = await svc.call(may_see, svc.store.db, who, job_id)
                event = redact_event(event, allowed[job_id])
                yield f"id: {last}\nevent: job\ndata: {json.dumps(event)}\n\n"
            if not events and not await svc.notifier.wait(changed, KEEPALIVE_SECONDS):
                yield ": keepalive\n\n"

    return StreamingResponse(messages(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
