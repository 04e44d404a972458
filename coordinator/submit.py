"""Client side of the CLI: add a file through kubo's RPC API (``POST /api/v0/add``,
docs.ipfs.tech "kubo RPC API v0"), then create the job on the coordinator."""

from __future__ import annotations

import json
from pathlib import Path

import httpx


class SubmitError(Exception):
    """A step of submit/jobs failed; the message says which and why."""


def _error_text(resp: httpx.Response) -> str:
    try:
        err = resp.json().get("error", {})
        return f"{err.get('code')}: {err.get('message')}"
    except (ValueError, AttributeError):
        return resp.text[:500]


def ipfs_add(path: Path, ipfs_api: str, timeout: float = 600.0) -> str:
    """Add ``path`` (a file) to kubo with its default importer (CIDv0, pinned); the CID."""
    if not path.is_file():
        raise SubmitError(f"{path} is not a file")
    url = ipfs_api.rstrip("/") + "/api/v0/add"
    try:
        with path.open("rb") as f:
            resp = httpx.post(url, params={"pin": "true", "quieter": "true"},
                              files={"file": (path.name, f, "application/octet-stream")},
                              timeout=timeout)
    except httpx.HTTPError as exc:
        raise SubmitError(f"cannot reach kubo at {ipfs_api}: {exc}") from None
    if resp.status_code != 200:
        raise SubmitError(f"kubo refused the add ({resp.status_code}): {resp.text[:500]}")
    lines = [ln for ln in resp.text.splitlines() if ln.strip()]
    try:
        return json.loads(lines[-1])["Hash"]
    except (IndexError, ValueError, KeyError):
        raise SubmitError(f"unexpected reply from kubo add: {resp.text[:500]}") from None


def submit(scene: Path, *, frames: list[int], output_format: str, reward: str,
           max_attempts: int, url: str, ipfs_api: str, admin_token: str | None,
           chunk_size: int = 0, creator: str = "operator", priority: int = 0) -> dict:
    """Add ``scene`` to IPFS and create its job (``priority`` 0..100, docs/protocol.md
    "Priorities"); returns the job object."""
    cid = ipfs_add(scene, ipfs_api)
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    body = {"asset_cid": cid, "frames": frames, "output_format": output_format,
            "reward": reward, "max_attempts": max_attempts, "chunk_size": chunk_size,
            "creator": creator, "priority": priority}
    try:
        resp = httpx.post(url.rstrip("/") + "/api/v1/jobs", json=body, headers=headers,
                          timeout=30)
    except httpx.HTTPError as exc:
        raise SubmitError(f"cannot reach the coordinator at {url}: {exc}") from None
    if resp.status_code != 201:
        raise SubmitError(f"coordinator refused the job ({resp.status_code}) "
                          f"{_error_text(resp)}")
    return resp.json()


def list_jobs(url: str, status: str | None) -> list[dict]:
    """GET /api/v1/jobs (newest first)."""
    params = {"status": status} if status else {}
    try:
        resp = httpx.get(url.rstrip("/") + "/api/v1/jobs", params=params, timeout=30)
    except httpx.HTTPError as exc:
        raise SubmitError(f"cannot reach the coordinator at {url}: {exc}") from None
    if resp.status_code != 200:
        raise SubmitError(f"listing failed ({resp.status_code}) {_error_text(resp)}")
    return resp.json()["jobs"]
