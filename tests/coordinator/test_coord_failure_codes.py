"""/fail's optional failure ``code`` (docs/protocol.md "Failure codes"): stored on the job as
``error_code``, shown on the page, refused when malformed, cleared by a later completion;
a worker that sends none (older workers) still works; an old database gains the column."""

from __future__ import annotations

import sqlite3

import httpx

from coord_helpers import create_job, error_code, get_job


def test_fail_code_is_stored_returned_and_shown(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    resp = worker.post(f"/api/v1/jobs/{job['id']}/fail",
                       {"error": "refused: 1 external file is not packed: //wood.png "
                                 "(image 'Wood')", "retryable": False,
                        "code": "missing_files"})
    assert resp.status_code == 200 and resp.json()["status"] == "failed"
    state = get_job(coordinator.url, job["id"])
    assert state["error_code"] == "missing_files"
    assert state["error"].startswith("refused: 1 external file is not packed")
    page = httpx.get(coordinator.url + "/").text
    assert "[missing_files] refused: 1 external file" in page
    events = httpx.get(f"{coordinator.url}/api/v1/jobs/{job['id']}/events").json()["events"]
    assert "not retryable, missing_files: refused:" in events[-1]["detail"]


def test_fail_without_code_leaves_it_null(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    assert worker.fail(job["id"]).status_code == 200
    assert get_job(coordinator.url, job["id"])["error_code"] is None


def test_malformed_code_is_refused_with_422(coordinator, make_worker):
    job = create_job(coordinator.url)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    for bad in ("Missing Files", "x" * 41, "1st", "no-camera", 7):
        resp = worker.post(f"/api/v1/jobs/{job['id']}/fail",
                           {"error": "e", "retryable": True, "code": bad})
        assert resp.status_code == 422 and error_code(resp) == "validation_error", bad
    assert get_job(coordinator.url, job["id"])["status"] == "assigned"


def test_a_later_completion_clears_the_code(coordinator, make_worker):
    job = create_job(coordinator.url, max_attempts=3)
    worker = make_worker(coordinator.url)
    worker.assign(job["id"])
    worker.post(f"/api/v1/jobs/{job['id']}/fail",
                {"error": "failed: out of memory", "retryable": True, "code": "out_of_memory"})
    worker.assign(job["id"])
    cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    resp = worker.post(f"/api/v1/jobs/{job['id']}/complete",
                       {"result_cid": cid, "sha256": "0" * 64, "render_seconds": 1.0})
    assert resp.status_code == 200, resp.text
    state = get_job(coordinator.url, job["id"])
    assert (state["status"], state["error_code"], state["error"]) == ("completed", None, None)


def test_a_database_made_before_codes_gains_the_column(tmp_path):
    from coordinator.db import SCHEMA, SCHEMA_VERSION, Database

    old_schema = "\n".join(line for line in SCHEMA.splitlines() if "error_code" not in line)
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(old_schema)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    conn.commit()
    assert "error_code" not in [r[1] for r in conn.execute("PRAGMA table_info(tasks)")]
    conn.close()
    Database(path).close()
    Database(path).close()  # idempotent
    conn = sqlite3.connect(path)
    assert "error_code" in [r[1] for r in conn.execute("PRAGMA table_info(tasks)")]
