"""Health, Prometheus metrics and the HTML page (escaping, gateway links, thumbnails)."""

from __future__ import annotations

import re
import sqlite3

import httpx

from coord_helpers import RESULT_CID, create_job


def test_health_reports_ok_and_version(coordinator):
    resp = httpx.get(coordinator.url + "/api/v1/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "version": "0.1.0"}


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from:\n{text}"
    return float(match.group(1))


def test_metrics_count_jobs_workers_and_histograms(coordinator, make_worker):
    jobs = [create_job(coordinator.url) for _ in range(3)]
    first, second = make_worker(coordinator.url), make_worker(coordinator.url)
    first.assign(jobs[0]["id"])
    first.complete(jobs[0]["id"])
    second.assign(jobs[1]["id"])
    resp = httpx.get(coordinator.url + "/metrics")
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = resp.text
    assert _metric(text, 'farmhand_jobs{status="pending"}') == 1
    assert _metric(text, 'farmhand_jobs{status="assigned"}') == 1
    assert _metric(text, 'farmhand_jobs{status="completed"}') == 1
    assert _metric(text, 'farmhand_jobs{status="failed"}') == 0
    assert _metric(text, "farmhand_workers_seen") == 2
    assert _metric(text, "farmhand_claim_latency_seconds_count") == 2
    assert _metric(text, 'farmhand_render_seconds_bucket{le="2.5"}') == 1
    assert _metric(text, 'farmhand_render_seconds_bucket{le="1"}') == 0
    assert _metric(text, "farmhand_render_seconds_sum") == 2.5
    assert "# TYPE farmhand_claim_latency_seconds histogram" in text


def test_page_lists_jobs_with_gateway_link_and_thumbnail(coordinator_factory, make_worker):
    coord = coordinator_factory("--gateway-url", "http://127.0.0.1:9999")
    job = create_job(coord.url)
    worker = make_worker(coord.url)
    worker.assign(job["id"])
    worker.complete(job["id"])
    resp = httpx.get(coord.url + "/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "img-src http://127.0.0.1:9999" in resp.headers["content-security-policy"]
    link = f"http://127.0.0.1:9999/ipfs/{RESULT_CID}"
    assert f'<a href="{link}"' in resp.text
    assert f'<img src="{link}"' in resp.text
    assert worker.address in resp.text


def test_page_escapes_untrusted_job_data(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    worker.post(f"/api/v1/jobs/{job['id']}/fail",
                {"error": "<script>alert(1)</script>", "retryable": True})
    # Even data written to the file behind the API's back is escaped.
    with sqlite3.connect(coordinator.db_path) as db:
        db.execute("UPDATE jobs SET reward = ? WHERE id = ?", ('"><img src=x onerror=1>',
                                                              job["id"]))
    text = httpx.get(coordinator.url + "/").text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text
    assert "&quot;&gt;&lt;img src=x onerror=1&gt;" in text
