"""What the route handlers share: settings, store, authenticator, metrics, notifier, and
``call()`` which runs a blocking store operation off the event loop and wakes waiters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, TypeVar

import anyio.to_thread
from fastapi import Request

from .auth import Authenticator
from .config import Settings
from .metrics import Metrics
from .notifier import Notifier
from .farm import Farm
from .store import JobStore

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    store: JobStore
    auth: Authenticator
    farm: Farm | None = None
    metrics: Metrics = field(default_factory=Metrics)
    notifier: Notifier = field(default_factory=Notifier)
    # Set by the server runner: True once shutdown was requested (SIGTERM/SIGINT).
    should_exit: Callable[[], bool] = lambda: False
    # True once shutdown is seen: long-polls answer at once, event streams end.
    stopping: bool = False

    async def call(self, fn: Callable[..., T], *args) -> T:
        """Run ``fn(*args)`` in a worker thread; if it changed any job (even when it then
        raised a refusal), notify long-polls and event streams."""
        before = self.store.changes
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            if self.store.changes != before:
                self.notifier.notify()


def services(request: Request) -> Services:
    """FastAPI dependency: the app's Services."""
    return request.app.state.services


async def worker_address(request: Request) -> str:
    """FastAPI dependency: the authenticated worker's address (401 otherwise)."""
    svc: Services = request.app.state.services
    return svc.auth.verify_token(request.headers.get("authorization"))
