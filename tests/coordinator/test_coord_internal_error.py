"""Faults the real database cannot be made to produce on demand: an unexpected exception in a
handler, and a failing lease sweep. Both use stubs (named stub_...) in an in-process app."""

from __future__ import annotations

import time
import warnings

from coord_helpers import error_code
from coordinator.app import create_app
from coordinator.config import Settings

with warnings.catch_warnings():
    # starlette's notice about its httpx-based test client; the client still works as-is.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _app(tmp_path):
    return create_app(Settings(db_path=tmp_path / "inproc.sqlite", dev=True,
                               sweep_interval_seconds=0.1))


def test_unexpected_exception_is_500_internal_error_and_server_keeps_serving(tmp_path):
    app = _app(tmp_path)

    def stub_get_raises(job_id):
        raise RuntimeError("stub fault")

    app.state.services.store.get = stub_get_raises
    with TestClient(app, raise_server_exceptions=False) as client:
        resp = client.get("/api/v1/jobs/1")
        assert resp.status_code == 500
        assert error_code(resp) == "internal_error"
        assert "RuntimeError" in resp.json()["error"]["message"]
        assert client.get("/api/v1/health").status_code == 200


def test_lease_sweeper_survives_a_failing_sweep(tmp_path):
    app = _app(tmp_path)
    store = app.state.services.store
    real = store.expire_leases
    calls = []

    def stub_expire_fails_once():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("stub sweep fault")
        return real()

    store.expire_leases = stub_expire_fails_once
    with TestClient(app):
        deadline = time.monotonic() + 10          # 0.1 s sweeps: ~0.3 s when idle
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(calls) >= 3                        # it swept again after the failure
