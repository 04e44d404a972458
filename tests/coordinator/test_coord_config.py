"""Production (non --dev) settings: a JWT secret must be configured safely, and job creation
needs the admin token."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from coord_helpers import ASSET_CID, error_code
from localfarm.paths import free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOB = {"asset_cid": ASSET_CID, "frames": [1]}


def _serve(tmp_path, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("FARMHAND_ADMIN_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "coordinator", "serve", "--db",
                             str(tmp_path / "prod.sqlite"), "--port", str(port), "--trusted",
                             *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            httpx.get(url + "/api/v1/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError("coordinator did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=15)


def test_without_dev_or_secret_file_refuses_to_start(tmp_path):
    proc, _ = _serve(tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "--jwt-secret-file" in out


def test_group_readable_secret_file_is_refused(tmp_path):
    secret = tmp_path / "jwt.secret"
    secret.write_text("s" * 40)
    secret.chmod(0o644)
    proc, _ = _serve(tmp_path, "--jwt-secret-file", str(secret))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "chmod 600" in out


def test_job_creation_needs_the_admin_token(tmp_path):
    secret = tmp_path / "jwt.secret"
    secret.write_text(os.urandom(32).hex())
    secret.chmod(0o600)
    proc, url = _serve(tmp_path, "--jwt-secret-file", str(secret),
                       "--admin-token", "let-me-in-0123456789")
    try:
        _wait_ready(proc, url)
        resp = httpx.post(url + "/api/v1/jobs", json=JOB)
        assert resp.status_code == 401 and error_code(resp) == "token_missing"
        resp = httpx.post(url + "/api/v1/jobs", json=JOB,
                          headers={"Authorization": "Bearer wrong"})
        assert resp.status_code == 401 and error_code(resp) == "admin_token_invalid"
        resp = httpx.post(url + "/api/v1/jobs", json=JOB,
                          headers={"Authorization": "Bearer let-me-in-0123456789"})
        assert resp.status_code == 201
    finally:
        _stop(proc)
    assert "let-me-in" not in proc.stdout.read()


def test_without_admin_token_job_creation_is_403_disabled(tmp_path):
    secret = tmp_path / "jwt.secret"
    secret.write_text(os.urandom(32).hex())
    secret.chmod(0o600)
    proc, url = _serve(tmp_path, "--jwt-secret-file", str(secret))
    try:
        _wait_ready(proc, url)
        resp = httpx.post(url + "/api/v1/jobs", json=JOB)
        assert resp.status_code == 403 and error_code(resp) == "job_creation_disabled"
    finally:
        _stop(proc)
