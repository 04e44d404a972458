"""The FastAPI application: routers, error handlers, body-size limit, lease sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from . import __version__, api_auth, api_creators, api_farm, api_jobs, api_site, \
    api_workers, openapi
from .auth import Authenticator
from .config import ConfigError, Settings, load_jwt_secret
from .creators import CrossSiteGuard
from .db import Database
from .errors import install_handlers
from .farm import Farm
from .kubo import Kubo
from .services import Services
from .store import JobStore

log = logging.getLogger("coordinator")
MAX_BODY_BYTES = 1 << 20


class BodyLimit:
    """ASGI middleware: read request bodies up front and refuse those over ``limit`` bytes
    with 413 ``body_too_large`` (whether or not Content-Length was sent). Paths in
    ``streamed`` (the .blend upload) pass through untouched: their route streams the body
    and enforces its own limit."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES,
                 streamed: frozenset[str] = frozenset({api_creators.UPLOAD_PATH})):
        self.app = app
        self.limit = limit
        self.streamed = streamed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD") or \
                scope["path"] in self.streamed:
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        payload = (b'{"error":{"code":"body_too_large","message":"request bodies are limited '
                   b'to 1 MiB"}}')
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


async def _sweep(svc: Services) -> None:
    """Every sweep_interval_seconds, return expired leases to pending, then settle
    verifications and assemble jobs left ready (e.g. by a restart)."""
    while True:
        await asyncio.sleep(svc.settings.sweep_interval_seconds)
        try:
            await svc.call(svc.store.expire_leases)
            await svc.farm.follow_up()
        except Exception:  # noqa: BLE001 -- the sweeper must outlive a bad moment
            log.exception("lease sweep failed; retrying")


async def _watch_shutdown(svc: Services) -> None:
    """When the server is asked to stop, wake long-polls (they answer with what is pending)
    and end event streams, so shutdown does not wait for them to time out."""
    while not svc.should_exit():
        await asyncio.sleep(0.2)
    svc.stopping = True
    svc.notifier.notify()


def _require_core() -> None:
    """The farm reads .blend headers with farmhand_core; say how to get it when missing."""
    try:
        import farmhand_core  # noqa: F401, PLC0415
    except ImportError as exc:
        raise ConfigError(f"farmhand_core is not importable ({exc}): put build/release/python "
                          "on PYTHONPATH (scripts/setup builds it), or run with --trusted "
                          "(no .blend header reads, result checks or spot verification)") \
            from None


def create_app(settings: Settings) -> FastAPI:
    """Open (or create) the database and build the app. Raises ConfigError on bad settings."""
    db = Database(settings.db_path)
    store = JobStore(db, settings.lease_seconds,
                     verify_share=0.0 if settings.trusted else settings.verify_share,
                     creator_task_cap=settings.creator_task_cap,
                     verify_wait_seconds=settings.verify_wait_seconds)
    auth = Authenticator(db, load_jwt_secret(settings), settings.token_ttl_seconds,
                         settings.challenge_ttl_seconds)
    if not settings.trusted:
        _require_core()
    svc = Services(settings=settings, store=store, auth=auth)
    store.extend_held_leases()
    svc.farm = Farm(store, Kubo(settings.ipfs_api, settings.kubo_timeout_seconds), svc.call,
                    settings.trusted)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        tasks = [asyncio.create_task(_sweep(svc)), asyncio.create_task(_watch_shutdown(svc))]
        log.info("coordinator %s on %s (lease %.0f s, token ttl %d s, dev=%s, %s)", __version__,
                 settings.db_path, settings.lease_seconds, settings.token_ttl_seconds,
                 settings.dev, "trusted: no checks" if settings.trusted else
                 f"checks on, verify share {settings.verify_share:g}, kubo {settings.ipfs_api}")
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            db.close()

    app = FastAPI(title="Farmhand coordinator", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.services = svc
    install_handlers(app)
    openapi.install(app)
    app.include_router(api_site.router)
    app.include_router(api_auth.router)
    app.include_router(api_jobs.router)
    app.include_router(api_workers.router)
    app.include_router(api_creators.router)
    app.include_router(api_farm.router)
    app.add_middleware(BodyLimit)
    app.add_middleware(CrossSiteGuard)
    return app
