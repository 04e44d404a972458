"""Malformed requests: 400/422 with the reason in the protocol's error body; never a crash."""

from __future__ import annotations

import httpx
import pytest

from coord_helpers import ASSET_CID, create_job, error_code


@pytest.mark.parametrize("body, field", [
    ({"asset_cid": "QmNotACid"}, "asset_cid"),
    ({"asset_cid": "bafy" + "a" * 55}, "asset_cid"),
    ({"asset_cid": ASSET_CID, "frames": [1, 1]}, "frames"),
    ({"asset_cid": ASSET_CID, "frames": [2_000_000]}, "frames"),
    ({"asset_cid": ASSET_CID, "frames": ["1"]}, "frames.0"),
    ({"asset_cid": ASSET_CID, "output_format": "TIFF"}, "output_format"),
    ({"asset_cid": ASSET_CID, "reward": 1.5}, "reward"),
    ({"asset_cid": ASSET_CID, "reward": "-1"}, "reward"),
    ({"asset_cid": ASSET_CID, "max_attempts": 0}, "max_attempts"),
    ({}, "asset_cid"),
])
def test_malformed_job_is_422_naming_the_field(coordinator, body, field):
    resp = httpx.post(coordinator.url + "/api/v1/jobs", json=body)
    assert resp.status_code == 422
    assert error_code(resp) == "validation_error"
    assert field in [d["field"] for d in resp.json()["error"]["details"]]
    assert field.split(".")[0] in resp.json()["error"]["message"]


def test_body_that_is_not_json_is_400_invalid_json(coordinator):
    resp = httpx.post(coordinator.url + "/api/v1/jobs", content=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert error_code(resp) == "invalid_json"


def test_body_over_one_mib_is_413(coordinator):
    resp = httpx.post(coordinator.url + "/api/v1/jobs", content=b"x" * ((1 << 20) + 1),
                      headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert error_code(resp) == "body_too_large"


@pytest.mark.parametrize("body, field", [
    ({"result_cid": "nope", "sha256": "0" * 64, "render_seconds": 1}, "result_cid"),
    ({"result_cid": ASSET_CID, "sha256": "xyz", "render_seconds": 1}, "sha256"),
    ({"result_cid": ASSET_CID, "sha256": "0" * 64, "render_seconds": -1}, "render_seconds"),
    ({"result_cid": ASSET_CID, "sha256": "0" * 64}, "render_seconds"),
])
def test_malformed_complete_is_422_and_leaves_the_lease(coordinator, make_worker, body, field):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    resp = worker.post(f"/api/v1/jobs/{job['id']}/complete", body)
    assert resp.status_code == 422
    assert field in [d["field"] for d in resp.json()["error"]["details"]]
    assert worker.heartbeat(job["id"]).status_code == 200


def test_nan_progress_and_non_bool_retryable_are_422(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    resp = worker.http.post(f"/api/v1/jobs/{job['id']}/heartbeat", content=b'{"progress": NaN}',
                            headers={**worker.headers, "Content-Type": "application/json"})
    assert resp.status_code == 422
    resp = worker.post(f"/api/v1/jobs/{job['id']}/heartbeat", {"progress": 1.5})
    assert resp.status_code == 422
    resp = worker.post(f"/api/v1/jobs/{job['id']}/fail", {"error": "x", "retryable": "no"})
    assert resp.status_code == 422
    assert worker.heartbeat(job["id"]).status_code == 200


def test_oversized_log_tail_keeps_the_last_64_kib(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    tail = "a" * 70000 + "THE END"
    assert worker.post(f"/api/v1/jobs/{job['id']}/fail",
                       {"error": "boom", "log_tail": tail}).status_code == 200
    kept = httpx.get(f"{coordinator.url}/api/v1/jobs/{job['id']}").json()["log_tail"]
    assert len(kept) == 65536 and kept.endswith("THE END")


def test_unknown_paths_and_ids_use_the_error_body(coordinator):
    resp = httpx.get(coordinator.url + "/api/v1/nothing-here")
    assert resp.status_code == 404 and error_code(resp) == "not_found"
    resp = httpx.get(coordinator.url + "/api/v1/jobs/12345")
    assert resp.status_code == 404 and error_code(resp) == "job_not_found"
    resp = httpx.get(coordinator.url + "/api/v1/jobs/abc")
    assert resp.status_code == 422 and error_code(resp) == "validation_error"
    resp = httpx.get(coordinator.url + "/api/v1/jobs/99999999999999999999999")
    assert resp.status_code == 422
    resp = httpx.delete(coordinator.url + "/api/v1/jobs")
    assert resp.status_code == 405 and error_code(resp) == "method_not_allowed"


def test_job_list_filters_by_status(coordinator, make_worker):
    first, second = create_job(coordinator.url), create_job(coordinator.url)
    make_worker(coordinator.url).assign(second["id"])
    resp = httpx.get(coordinator.url + "/api/v1/jobs", params={"status": "pending"})
    assert [j["id"] for j in resp.json()["jobs"]] == [first["id"]]
    resp = httpx.get(coordinator.url + "/api/v1/jobs")
    assert [j["id"] for j in resp.json()["jobs"]] == [second["id"], first["id"]]
    assert httpx.get(coordinator.url + "/api/v1/jobs",
                     params={"status": "lost"}).status_code == 422
