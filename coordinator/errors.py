"""The one error body of docs/protocol.md: ``{"error": {"code", "message", ...}}``.

Raise ``ApiError(http_status, code, message, **extra)`` anywhere; ``install_handlers(app)`` also
rewrites FastAPI's own 404/405/422 and unexpected exceptions into that shape.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("coordinator")


class ApiError(Exception):
    """An HTTP error reply. ``http_status``: HTTP status; ``code``: stable snake_case id;
    ``message``: what was wrong and what to do; ``extra``: more fields inside ``error``."""

    def __init__(self, http_status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.extra = extra


def error_response(http_status: int, code: str, message: str, **extra) -> JSONResponse:
    """A JSONResponse carrying the protocol's error body."""
    return JSONResponse(status_code=http_status,
                        content={"error": {"code": code, "message": message, **extra}})


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.http_status, exc.code, exc.message, **exc.extra)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", _NOT_JSON)
    details = [{"field": _field(e.get("loc", ())), "reason": str(e.get("msg", "invalid"))}
               for e in errors]
    summary = "; ".join(f"{d['field']}: {d['reason']}" for d in details)
    return error_response(422, "validation_error", f"malformed request: {summary}",
                          details=details)


_NOT_JSON = ("the request body is not valid JSON; send a JSON object with Content-Type: "
             "application/json")
# FastAPI's detail when the body could not be decoded at all by other means than a
# JSONDecodeError: bytes that are not UTF-8, nesting past Python's recursion limit, an integer
# of more than 4300 digits. The protocol calls all of these 400 invalid_json.
_BODY_PARSE_DETAIL = "There was an error parsing the body"


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400 and exc.detail == _BODY_PARSE_DETAIL:
        return error_response(400, "invalid_json", _NOT_JSON)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    message = str(exc.detail) if exc.detail else "request failed"
    if exc.status_code == 404:
        message = "no such endpoint; see docs/protocol.md for the API"
    if exc.status_code == 405:
        # RFC 9110 15.5.6: a 405 MUST carry Allow. Starlette names only the methods of the
        # first route whose path matched; the document knows them all.
        from .openapi import allowed_methods
        allow = allowed_methods(_request)
        reply = error_response(405, code, f"{_request.method} is not allowed here; this path "
                               f"accepts {allow} (see /openapi.json)")
        reply.headers["Allow"] = allow
        return reply
    return error_response(exc.status_code, code, message)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error",
                          f"the coordinator failed on this request ({type(exc).__name__}); "
                          "it keeps running, retry or report the coordinator log")


def install_handlers(app: FastAPI) -> None:
    """Route every error through the protocol's error body."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
