"""``/api/v1/workers/me``: what the coordinator credits to the calling worker
(docs/protocol.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from .services import Services, services, worker_address
from .worker_stats import worker_stats

router = APIRouter(prefix="/api/v1/workers")


@router.get("/me")
async def me(address: str = Depends(worker_address),
             svc: Services = Depends(services)) -> dict:
    return await svc.call(worker_stats, svc.store.db, address)
