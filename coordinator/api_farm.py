"""``/api/v1/tasks/{id}`` and ``/api/v1/workers*``: tasks and worker records
(docs/protocol.md "Jobs and tasks", "Worker records")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from .creators import Caller, caller, may_see, redact
from .errors import ApiError
from .models import check_address
from .services import Services, services

router = APIRouter(prefix="/api/v1")
TaskId = Annotated[int, Path(ge=1, le=2**63 - 1, description="task id")]


@router.get("/tasks/{task_id}")
async def get_task(task_id: TaskId, svc: Services = Depends(services),
                   who: Caller = Depends(caller)) -> dict:
    task = await svc.call(svc.store.task, task_id)
    return redact(task, await svc.call(may_see, svc.store.db, who, task_id))


@router.get("/workers")
async def list_workers(limit: int = Query(1000, ge=1, le=10000),
                       svc: Services = Depends(services)) -> dict:
    return {"workers": await svc.call(svc.store.workers, limit)}


# A route of a fixed path under /workers (e.g. /workers/me) must be registered before this one.
@router.get("/workers/{address}")
async def get_worker(address: str, svc: Services = Depends(services)) -> dict:
    try:
        address = check_address(address)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"malformed request: address: {exc}",
                       details=[{"field": "address", "reason": str(exc)}]) from None
    return await svc.call(svc.store.worker, address)
