"""/openapi.json matches what the API does: a hand-written check over every documented
operation (good and bad requests: no token, a bad token, a valid token, bodies that are not
JSON, too large, empty, well-formed; path ids that exist, do not, or are malformed; a foreign
Origin) and over every method a path does not take (405 with a true Allow header). Every reply's
status must be documented for its operation and every error reply must match the ``Error``
schema. Validators of the request models must appear in the schema, and a value breaking a
documented pattern must really be refused."""

from __future__ import annotations

import hashlib
import inspect

import httpx
import jsonschema
import pytest

from coordinator import models
from coord_helpers import ASSET_CID, RESULT_CID, Worker

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Well-formed bodies per operation (the rest get {} and fail validation, also documented).
GOOD = {
    ("post", "/api/v1/auth/challenge"): lambda w: {"address": w.address},
    ("post", "/api/v1/jobs"): lambda w: {"asset_cid": ASSET_CID, "frames": [1]},
    ("post", "/api/v1/jobs/{job_id}/assign"): lambda w: {"worker_address": w.address},
    ("post", "/api/v1/jobs/{job_id}/heartbeat"): lambda w: {"progress": 0.5},
    ("post", "/api/v1/jobs/{job_id}/complete"): lambda w: {
        "result_cid": RESULT_CID, "sha256": hashlib.sha256(b"x").hexdigest(),
        "render_seconds": 1.0},
    ("post", "/api/v1/jobs/{job_id}/fail"): lambda w: {"error": "boom"},
    ("post", "/api/v1/jobs/{job_id}/release"): lambda w: {},
    ("post", "/api/v1/jobs/{job_id}/cancel"): lambda w: {},
    ("post", "/api/v1/jobs/{job_id}/priority"): lambda w: {"priority": 5},
}


@pytest.fixture
def api(coordinator):
    doc = httpx.get(coordinator.url + "/openapi.json").json()
    return coordinator, doc


def _paths(template: str, worker: Worker, job_id: int) -> list[str]:
    """Concrete paths for a template: an existing id, a missing one, malformed ones."""
    values = {"{job_id}": [str(job_id), "999999", "0", "abc"],
              "{task_id}": [str(job_id), "999999", "abc"],
              "{address}": [worker.address, "0x" + "00" * 32, "nope"],
              "{name}": ["index.html", "nope"]}
    out = [template]
    for key, options in values.items():
        if key in template:
            out = [p.replace(key, v) for p in out for v in options]
    return out


def _check(resp: httpx.Response, documented: dict, schema: dict, where: str) -> None:
    code = str(resp.status_code)
    assert code in documented, (f"{where}: status {code} is not documented "
                                f"({sorted(documented)}): {resp.text[:300]}")
    if resp.status_code >= 400:
        jsonschema.validate(resp.json(), schema)


def test_every_operation_answers_only_documented_statuses(api, make_worker):
    coord, doc = api
    schema = doc["components"]["schemas"]["Error"]
    worker = make_worker(coord.url)
    job = httpx.post(coord.url + "/api/v1/jobs", json={"asset_cid": ASSET_CID,
                                                        "frames": [1]}).json()
    seen: dict[str, set[str]] = {}
    for template, ops in doc["paths"].items():
        for method, op in ops.items():
            if "text/event-stream" in str(op) or template == "/api/v1/events/stream":
                continue  # a stream: checked by the event tests
            documented = op["responses"]
            good = GOOD.get((method, template), lambda w: {})(worker)
            for n, path in enumerate(_paths(template, worker, job["id"])):
                url = coord.url + path
                tries = [
                    ("no token", {}, None),
                    ("bad token", {"Authorization": "Bearer nonsense"}, None),
                    ("worker token", worker.headers, None),
                ]
                for label, headers, _ in tries:
                    where = f"{method.upper()} {path} ({label})"
                    if method == "get":
                        resp = httpx.get(url, headers=headers, timeout=30)
                        _check(resp, documented, schema, where)
                        seen.setdefault(f"{method} {template}", set()).add(str(resp.status_code))
                        continue
                    bodies = [
                            ("good body", {"json": good}),
                            ("empty object", {"json": {}}),
                            ("not JSON", {"content": b"{", "headers": {
                                "Content-Type": "application/json"}}),
                            ("too large", {"content": b" " * (1 << 20 | 1), "headers": {
                                "Content-Type": "application/json"}}),
                            ("foreign origin", {"json": good, "headers": {
                                "Origin": "http://evil.example"}})]
                    if n or label != "no token":
                        bodies = [b for b in bodies if b[0] != "too large"]
                    for body_label, kwargs in bodies:
                        extra = kwargs.pop("headers", {})
                        resp = httpx.post(url, headers={**headers, **extra}, timeout=30,
                                          **kwargs)
                        _check(resp, documented, schema, f"{where} {body_label}")
                        seen.setdefault(f"{method} {template}", set()).add(
                            str(resp.status_code))
    # The battery reached the interesting replies, not only validation errors.
    assert "200" in seen["post /api/v1/jobs/{job_id}/assign"]
    assert "409" in seen["post /api/v1/jobs/{job_id}/complete"] or \
        "200" in seen["post /api/v1/jobs/{job_id}/complete"]
    assert {"400", "413", "403", "422"} <= seen["post /api/v1/auth/authenticate"]
    assert "401" in seen["get /api/v1/workers/me"]


def test_undocumented_methods_are_405_with_a_true_allow(api, make_worker):
    coord, doc = api
    worker = make_worker(coord.url)
    for template, ops in doc["paths"].items():
        documented = {m.upper() for m in ops}
        path = _paths(template, worker, 1)[0]
        for method in METHODS:
            if method in documented:
                continue
            resp = httpx.request(method, coord.url + path, timeout=30)
            where = f"{method} {path}"
            assert resp.status_code == 405, f"{where}: {resp.status_code} {resp.text[:200]}"
            assert resp.json()["error"]["code"] == "method_not_allowed", where
            allow = {m.strip() for m in resp.headers["allow"].split(",")}
            assert allow == documented, f"{where}: Allow {allow} != {documented}"
            if template == "/api/v1/events/stream":
                continue  # an endless stream
            for named in allow:   # every method Allow names is really taken
                assert httpx.request(named, coord.url + path, timeout=30).status_code != 405


def _rejecting_validators() -> list[tuple[type, str]]:
    """(model, field) of every field_validator that can refuse a value (the ones that only
    truncate or clean text never raise)."""
    out = []
    for _name, model in inspect.getmembers(models, inspect.isclass):
        if not issubclass(model, models.BaseModel) or model is models.BaseModel:
            continue
        for dec in model.__pydantic_decorators__.field_validators.values():
            source = inspect.getsource(dec.func)
            if "raise" not in source and "_check" not in source and "check_" not in source:
                continue
            out.extend((model, f) for f in dec.info.fields)
    return out


def test_every_refusing_validator_is_in_the_schema(api):
    _coord, doc = api
    schemas = doc["components"]["schemas"]
    keywords = {"pattern", "maxLength", "minLength", "maxItems", "uniqueItems", "minimum",
                "maximum", "enum", "description"}
    checked = 0
    for model, field in _rejecting_validators():
        if model.__name__ not in schemas:
            continue  # not a request body of any route
        prop = schemas[model.__name__]["properties"][field]
        flat = dict(prop)
        for option in prop.get("anyOf", []):
            flat.update(option)
        assert keywords & set(flat), f"{model.__name__}.{field}: validator not in the schema"
        checked += 1
    assert checked >= 8


def test_documented_patterns_are_enforced(api):
    coord, doc = api
    schemas = doc["components"]["schemas"]
    assert schemas["ChallengeRequest"]["properties"]["address"]["pattern"]
    resp = httpx.post(coord.url + "/api/v1/auth/challenge", json={"address": "0x12"})
    assert resp.status_code == 422
    resp = httpx.post(coord.url + "/api/v1/jobs", json={"asset_cid": ASSET_CID,
                                                        "reward": "1.5.5"})
    assert resp.status_code == 422
    assert schemas["CreateJobRequest"]["properties"]["frames"]["maxItems"] == models.MAX_FRAMES


def test_openapi_document_is_served_and_describes_uploads(coordinator):
    resp = httpx.get(coordinator.url + "/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.")
    upload = doc["paths"]["/api/v1/uploads"]["post"]
    assert "application/octet-stream" in upload["requestBody"]["content"]
    assert {"201", "401", "403", "413", "422", "500", "502"} <= set(upload["responses"])
