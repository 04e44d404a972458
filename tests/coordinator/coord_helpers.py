"""Helpers for the coordinator tests (imported as `coord_helpers`): a worker with a real
Ed25519 key (PyNaCl) talking to a real coordinator (uvicorn on loopback, real SQLite file)
through httpx."""

from __future__ import annotations

import hashlib

import httpx
from nacl.signing import SigningKey

# Two well-formed CIDs (what `ipfs add` prints for a file / a raw-leaves file).
ASSET_CID = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
RESULT_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
OTHER_RESULT_CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
RESULT_SHA = hashlib.sha256(b"frame bytes").hexdigest()


class Worker:
    """A worker identity plus an authenticated httpx client to ``base_url``."""

    def __init__(self, base_url: str):
        self.key = SigningKey.generate()
        self.address = "0x" + self.key.verify_key.encode().hex()
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.token: str | None = None

    def sign(self, challenge: str) -> str:
        return self.key.sign(f"farmhand-auth-v1:{challenge}".encode()).signature.hex()

    def challenge(self) -> str:
        resp = self.http.post("/api/v1/auth/challenge", json={"address": self.address})
        assert resp.status_code == 200, resp.text
        return resp.json()["challenge"]

    def login(self) -> "Worker":
        challenge = self.challenge()
        resp = self.http.post("/api/v1/auth/authenticate", json={
            "address": self.address, "challenge": challenge, "signature": self.sign(challenge)})
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["token"]
        return self

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers)

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers)

    def assign(self, job_id: int) -> httpx.Response:
        return self.post(f"/api/v1/jobs/{job_id}/assign", {"worker_address": self.address})

    def heartbeat(self, job_id: int, progress: float = 0.5) -> httpx.Response:
        return self.post(f"/api/v1/jobs/{job_id}/heartbeat",
                         {"progress": progress, "message": "rendering"})

    def complete(self, job_id: int, cid: str = RESULT_CID) -> httpx.Response:
        return self.post(f"/api/v1/jobs/{job_id}/complete", {
            "result_cid": cid, "sha256": RESULT_SHA, "render_seconds": 2.5, "frames": [1]})

    def fail(self, job_id: int, retryable: bool = True) -> httpx.Response:
        return self.post(f"/api/v1/jobs/{job_id}/fail", {
            "error": "render crashed", "retryable": retryable, "log_tail": "line 1\nline 2"})

    def release(self, job_id: int) -> httpx.Response:
        return self.post(f"/api/v1/jobs/{job_id}/release", {"reason": "shutting down"})

    def close(self) -> None:
        self.http.close()


def create_job(base_url: str, **fields) -> dict:
    """POST /api/v1/jobs in dev mode (no admin token); returns the job object."""
    body = {"asset_cid": ASSET_CID, "frames": [1], "output_format": "PNG", "reward": "1.00",
            "max_attempts": 3, **fields}
    resp = httpx.post(base_url + "/api/v1/jobs", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()


def get_job(base_url: str, job_id: int) -> dict:
    resp = httpx.get(f"{base_url}/api/v1/jobs/{job_id}", timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def error_code(resp: httpx.Response) -> str:
    """The protocol's error code (asserts the error body shape)."""
    body = resp.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["code"]
