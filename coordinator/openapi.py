"""``GET /openapi.json``: the OpenAPI 3.1 document of what the API really does.

FastAPI's generated document lists only 200 and 422 and knows nothing of the checks done in
``field_validator``s. This module completes it (tests/coordinator/test_coord_openapi.py keeps it
true by sending every operation good and bad requests and comparing the replies' status codes,
bodies and headers with the document):

- every reply status an operation can give, each with the protocol's error body (``Error``):
  500 everywhere; 400/413 where a JSON body is read; 403 ``cross_site_request`` on every
  state-changing method; 422 where a parameter or body is validated; 404 on ``/jobs/{id}``
  paths; 401 where a token is read; and the per-operation codes of docs/protocol.md (``EXTRA``);
- the validators' rules as JSON Schema keywords (``FIELD_RULES``: patterns, lengths, item limits);
- 405 replies carry ``Allow`` with the path's methods (``allowed_methods``, used by
  coordinator/errors.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi

from .models import MAX_FRAME, MAX_FRAMES

ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "pattern": "^[a-z0-9_]+$"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {
                "type": "object", "properties": {"field": {"type": "string"},
                                                 "reason": {"type": "string"}}}}},
        "additionalProperties": True}},
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_HEX = "^[0-9a-fA-F]{%d}$"
_CID = {"type": "string", "minLength": 2, "maxLength": 256, "pattern": "^[A-Za-z0-9]+$",
        "description": "CIDv0 (Qm..., 46 characters) or CIDv1 (base32 'b', base58btc 'z', "
                       "base16 'f'; dag-pb or raw; docs/protocol.md 'Conventions')"}
_FRAMES = {"maxItems": MAX_FRAMES, "uniqueItems": True,
           "items": {"type": "integer", "minimum": -MAX_FRAME, "maximum": MAX_FRAME}}
# Rules of models.py's field_validators, by property name, merged into every request schema.
FIELD_RULES = {
    "address": {"pattern": "^0x[0-9a-fA-F]{64}$"},
    "worker_address": {"pattern": "^0x[0-9a-fA-F]{64}$"},
    "challenge": {"pattern": _HEX % 64},
    "signature": {"pattern": _HEX % 128},
    "asset_cid": _CID,
    "result_cid": _CID,
    "sha256": {"pattern": _HEX % 64},
    "reward": {"pattern": r"^[0-9]{1,12}(\.[0-9]{1,8})?$"},
    "frames": _FRAMES,
    "render_seconds": {"description": "finite, >= 0 (seconds)"},
    "creator": {"pattern": "^[A-Za-z0-9_.@-]{1,66}$"},
    "resolution": {"minItems": 2, "maxItems": 2,
                   "items": {"type": "integer", "minimum": 1, "maximum": 65536}},
    "message": {"description": "truncated to 1000 characters"},
    "reason": {"description": "truncated to 1000 characters"},
    "error": {"description": "truncated to 4000 characters"},
    "log_tail": {"description": "the last 65536 characters are kept"},
}
# Operation-specific replies (docs/protocol.md "Endpoints"), on top of the generic ones.
EXTRA: dict[tuple[str, str], dict[int, str]] = {
    ("post", "/api/v1/auth/authenticate"): {401: "challenge_not_found / challenge_expired / "
                                                 "challenge_used / challenge_address_mismatch / "
                                                 "invalid_signature"},
    ("post", "/api/v1/jobs"): {401: "token_missing / token_invalid / admin_token_invalid",
                               403: "job_creation_disabled / priority_not_allowed",
                               422: "validation_error / asset_not_blend / asset_unavailable"},
    ("get", "/api/v1/jobs/available"): {401: "token_missing / token_invalid / token_expired",
                                        403: "worker_blocked"},
    ("post", "/api/v1/jobs/{job_id}/assign"): {403: "address_mismatch / worker_blocked",
                                               409: "already_assigned / not_pending / "
                                                    "not_eligible"},
    ("post", "/api/v1/jobs/{job_id}/heartbeat"): {409: "lease_lost / not_assignee / "
                                                       "job_cancelled"},
    ("post", "/api/v1/jobs/{job_id}/complete"): {409: "already_completed / lease_lost / "
                                                      "not_assignee / result_rejected / "
                                                      "job_cancelled"},
    ("post", "/api/v1/jobs/{job_id}/fail"): {409: "lease_lost / not_assignee"},
    ("post", "/api/v1/jobs/{job_id}/release"): {409: "lease_lost / not_assignee"},
    ("post", "/api/v1/jobs/{job_id}/cancel"): {401: "token_missing / token_invalid",
                                               403: "not_owner",
                                               409: "not_cancellable"},
    ("post", "/api/v1/jobs/{job_id}/priority"): {401: "token_missing / token_invalid",
                                                 403: "not_owner / priority_not_allowed",
                                                 409: "job_ended"},
    ("get", "/api/v1/workers/me"): {401: "token_missing / token_invalid / token_expired"},
    ("get", "/api/v1/workers/{address}"): {404: "worker_not_found"},
    ("get", "/api/v1/tasks/{task_id}"): {404: "task_not_found"},
}
# Operations that read a token (401 when it is missing/invalid/expired).
_TOKEN_OPS = {("post", p) for p in ("/api/v1/jobs/{job_id}/assign",
                                     "/api/v1/jobs/{job_id}/heartbeat",
                                     "/api/v1/jobs/{job_id}/complete",
                                     "/api/v1/jobs/{job_id}/fail",
                                     "/api/v1/jobs/{job_id}/release")}
# Public reads that take an optional token (private details for the job's creator).
_TOKEN_OPS |= {("get", p) for p in ("/", "/api/v1/jobs", "/api/v1/jobs/{job_id}",
                                     "/api/v1/jobs/{job_id}/tasks",
                                     "/api/v1/jobs/{job_id}/events", "/api/v1/tasks/{task_id}",
                                     "/api/v1/events/stream", "/api/v1/jobs/{job_id}/archive",
                                     "/api/v1/me")}
_TOKEN_OPS |= {("post", "/api/v1/jobs/{job_id}/cancel"), ("post", "/api/v1/uploads"),
               ("post", "/api/v1/jobs/{job_id}/priority")}
_STATUS_TEXT = {400: "invalid_json: the body is not JSON", 401: "token_missing / token_invalid "
                "/ token_expired", 403: "cross_site_request: Origin/Referer of another site",
                404: "job_not_found / not_found", 413: "body_too_large (1 MiB)",
                422: "validation_error (with details)", 500: "internal_error"}


def _merge_rules(schemas: dict) -> None:
    for schema in schemas.values():
        for name, prop in schema.get("properties", {}).items():
            rule = FIELD_RULES.get(name)
            if not rule:
                continue
            target = prop
            # Optional[...] fields are anyOf [X, null]: the rule applies to X.
            for option in prop.get("anyOf", []):
                if option.get("type") not in (None, "null"):
                    target = option
            target.update({k: v for k, v in rule.items() if k != "description"})
            if "description" in rule:
                prop["description"] = rule["description"]


def _complete_operation(method: str, path: str, op: dict) -> None:
    responses = op.setdefault("responses", {})
    codes = {500}
    has_body = "requestBody" in op and "application/json" in op["requestBody"].get("content", {})
    if has_body:
        codes |= {400, 413}
    if method != "get":
        codes.add(403)
    if has_body or op.get("parameters"):
        codes.add(422)
    if "{job_id}" in path:
        codes.add(404)
    if (method, path) in _TOKEN_OPS:
        codes.add(401)
    extra = EXTRA.get((method, path), {})
    for code in sorted(codes | set(extra)):
        key = str(code)
        text = extra.get(code) or _STATUS_TEXT.get(code, "error")
        if key in responses and responses[key].get("description") not in (None, "",
                                                                           "Validation Error"):
            text = responses[key]["description"]
        responses[key] = {"description": text, "content": _ERROR}


@lru_cache(maxsize=None)
def _document(app_id: int, app: FastAPI) -> dict:
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes,
                      description="Farmhand coordinator API (docs/protocol.md is normative).")
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA
    _merge_rules(schemas)
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            _complete_operation(method, path, op)
    return doc


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` (served at /openapi.json) return the completed document."""
    app.openapi = lambda: _document(id(app), app)  # type: ignore[method-assign]


def _template_re(path: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def allowed_methods(request: Request) -> str:
    """The ``Allow`` value for a 405 on ``request.url.path``: every method the API documents
    for a path template matching it, or GET for the pages that are not in the document
    (``/web/...``). FastAPI routes do not answer HEAD, so it is never named."""
    doc = request.app.openapi()
    methods: set[str] = set()
    for template, ops in doc.get("paths", {}).items():
        if _template_re(template).match(request.url.path):
            methods |= {m.upper() for m in ops}
    if not methods:
        methods = {"GET"}
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return ", ".join(m for m in order if m in methods)
