"""A scripted worker as its own process, for tests that kill -9 workers (and the
coordinator): polls, claims, adds its frame to kubo over the RPC API as the engine does, and
completes, forever; every network error (the coordinator may be down) is retried.

    python scripted_worker_proc.py COORDINATOR_URL KUBO_API_URL KEY_HEX_FILE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from farm_helpers import frame_png  # noqa: E402


def main(url: str, kubo_api: str, key_file: str) -> None:
    key = SigningKey(bytes.fromhex(Path(key_file).read_text().strip()))
    address = "0x" + key.verify_key.encode().hex()
    http = httpx.Client(base_url=url, timeout=10)
    token = None
    while True:
        try:
            if token is None:
                challenge = http.post("/api/v1/auth/challenge",
                                      json={"address": address}).json()["challenge"]
                signature = key.sign(f"farmhand-auth-v1:{challenge}".encode()).signature.hex()
                token = http.post("/api/v1/auth/authenticate", json={
                    "address": address, "challenge": challenge,
                    "signature": signature}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            resp = http.get("/api/v1/jobs/available", headers=headers,
                            params={"wait": 1, "blender": "3.4", "device": "CPU"})
            if resp.status_code == 401:
                token = None
                continue
            for offer in resp.json()["jobs"]:
                claim = http.post(f"/api/v1/jobs/{offer['id']}/assign", headers=headers,
                                  json={"worker_address": address})
                if claim.status_code != 200:
                    continue
                (frame,) = offer["frames"]
                added = httpx.post(f"{kubo_api}/api/v0/add", params={"pin": "true"}, files={
                    "file": (f"frame_{frame:04d}.png", frame_png(frame))}, timeout=30)
                cid = added.json()["Hash"]
                http.post(f"/api/v1/jobs/{offer['id']}/complete", headers=headers, json={
                    "result_cid": cid, "sha256": "0" * 64, "render_seconds": 0.01,
                    "frames": [frame]})
                break
        except (httpx.HTTPError, ValueError, KeyError):
            time.sleep(0.2)


if __name__ == "__main__":
    main(*sys.argv[1:4])
