"""Who is asking: a creator (signed in with their own Ed25519 key, the same challenge scheme as
workers), the operator (the admin token), or nobody. And the cross-site request check.

A creator's token is the JWT from ``/api/v1/auth/authenticate``: its ``sub`` (the key's
address) is the creator. docs/protocol.md "Creators".
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from .errors import ApiError
from .services import Services


@dataclass(frozen=True)
class Caller:
    """The identity behind a request. ``address``: the creator's address (``0x`` + 64 hex) or
    None; ``operator``: True for the admin token (and, in ``--dev`` mode, for a request
    without any Authorization header, as job creation has always allowed there)."""
    address: str | None
    operator: bool

    def owns(self, creator: str | None) -> bool:
        """May this caller act on (cancel, see the private details of) a job of ``creator``?
        The operator may act on every job; a creator only on their own."""
        return self.operator or (self.address is not None and self.address == creator)

    @property
    def name(self) -> str:
        """For logs: the address, "operator" or "anonymous"."""
        return self.address or ("operator" if self.operator else "anonymous")


ANONYMOUS = Caller(None, False)
_JWT_RE = re.compile(r"Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def looks_like_jwt(header: str) -> bool:
    """Is the Authorization value ``Bearer`` + three base64url parts (a JWT, RFC 7519), as
    opposed to an operator's admin token?"""
    return _JWT_RE.fullmatch(header.strip()) is not None


def identify(request: Request, svc: Services) -> Caller:
    """The request's Caller. A Bearer value equal to the admin token is the operator; any
    other Bearer value must be a valid token (401 token_invalid/token_expired otherwise). No
    header: the operator in ``--dev`` mode, anonymous otherwise."""
    header = request.headers.get("authorization")
    if header is None:
        return Caller(None, True) if svc.settings.dev else ANONYMOUS
    configured = svc.settings.admin_token
    if header.startswith("Bearer ") and configured and hmac.compare_digest(
            header[len("Bearer "):].strip().encode(), configured.encode()):
        return Caller(None, True)
    return Caller(svc.auth.verify_token(header), False)


async def caller(request: Request) -> Caller:
    """FastAPI dependency: the request's Caller (may be anonymous)."""
    return identify(request, request.app.state.services)


async def signed_in(request: Request) -> Caller:
    """FastAPI dependency: a creator or the operator; 401 token_missing for anonymous."""
    who = identify(request, request.app.state.services)
    if who is ANONYMOUS:
        raise ApiError(401, "token_missing",
                       "sign in first: send 'Authorization: Bearer <token>' from "
                       "/api/v1/auth/authenticate (or the operator's admin token)")
    return who


# Fields only a job's creator and the operator see (docs/protocol.md "Creators").
PRIVATE_FIELDS = ("asset_cid", "result_cid", "sha256", "result_frames", "log_tail")


def may_see(db, who: Caller, item_id: int) -> bool:
    """May ``who`` see the private details of the job with id ``item_id`` (or of the job
    holding task ``item_id``)? The operator, the job's creator, and a worker that held a lease
    on one of its tasks (it had the scene and made the result) may. Blocking (call it
    through Services.call)."""
    if who.operator:
        return True
    if who.address is None:
        return False
    with db.reader() as conn:
        row = conn.execute(
            "SELECT j.id, j.creator FROM jobs j WHERE j.id = ? UNION ALL "
            "SELECT j.id, j.creator FROM tasks t JOIN jobs j ON j.id = t.job_id "
            "WHERE t.id = ? LIMIT 1", (item_id, item_id)).fetchone()
        if row is None:
            return False
        if row[1] == who.address:
            return True
        return conn.execute("SELECT 1 FROM leases l JOIN tasks t ON t.id = l.job_id "
                            "WHERE t.job_id = ? AND l.worker_address = ? LIMIT 1",
                            (row[0], who.address)).fetchone() is not None


def redact(item: dict, allowed: bool) -> dict:
    """A job or task object as a caller may see it: unchanged when ``allowed`` (see
    may_see), else with PRIVATE_FIELDS blanked (None) and ``private: true``."""
    if allowed:
        return item
    out = dict(item)
    for name in PRIVATE_FIELDS:
        if name in out:
            out[name] = None
    out["private"] = True
    return out


def redact_event(event: dict, allowed: bool) -> dict:
    """An event as a caller may see it: its ``detail`` (which names CIDs) is blanked unless
    ``allowed``."""
    return event if allowed else {**event, "detail": ""}


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CrossSiteGuard:
    """ASGI middleware: refuse a state-changing request (any method but GET/HEAD/OPTIONS)
    whose ``Origin`` (or, without one, ``Referer``) names another site than the request's own
    ``Host``, with 403 ``cross_site_request``. Requests without either header (workers, the
    command line, the add-on) pass: browsers always send ``Origin`` on cross-site POSTs
    (Fetch standard, "append a request Origin header"). Tokens travel in the Authorization
    header, never in cookies, so this is defence in depth: a forged form cannot carry one."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                       if k in (b"origin", b"referer", b"host")}
            source = headers.get("origin") or headers.get("referer")
            if source is not None and not _same_site(source, headers.get("host", "")):
                body = (b'{"error":{"code":"cross_site_request","message":"this request came '
                        b'from another site (its Origin is not this coordinator); use the '
                        b'coordinator\'s own page"}}')
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _same_site(source: str, host: str) -> bool:
    """Does the Origin/Referer URL ``source`` name ``host`` (host[:port])?"""
    if source == "null":
        return False
    try:
        parts = urlsplit(source)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()
