"""A STUB for what the reference coordinator cannot produce: a *seed-literal* backend.

It implements exactly the five endpoints of the seed's design document
(/work/shared/reference/seed-worker-architecture.md, "API Endpoints Used by Worker") with the
replies shown there and nothing more (docs/protocol.md "Seed-literal backends"):

    POST /api/v1/auth/challenge      {address}                        -> {challenge}
    POST /api/v1/auth/authenticate   {address, signature, challenge}  -> {access_token}
    GET  /api/v1/jobs/available?status=pending                        -> [{id, asset_cid, reward}]
    POST /api/v1/jobs/{id}/assign    {worker_address}                 -> {success: true}
    POST /api/v1/jobs/{id}/complete  {result_cid}                     -> {success: true}

No expires_in, no lease fields, no heartbeat/fail/release/health endpoints (FastAPI answers
them 404 {"detail": "Not Found"}), rewards as JSON numbers, no frames. The token is a JWT
(HS256) with `sub` and `exp` (the seed shows "eyJhbG..."). Signatures are verified as the
reference coordinator does (Ed25519 over "farmhand-auth-v1:" + challenge).

For the tests only, outside the API: POST /_stub/jobs {asset_cid, reward} creates a job,
GET /_stub/jobs lists every job with its state, worker, result CID and how often it was
assigned and completed.

    python tests/e2e/seed_backend.py --port N [--token-ttl S]
"""

from __future__ import annotations

import argparse
import secrets
import threading
import time

import jwt
import uvicorn
from fastapi import FastAPI, Header, HTTPException
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import BaseModel

SECRET = secrets.token_bytes(32)


class ChallengeBody(BaseModel):
    address: str


class AuthBody(BaseModel):
    address: str
    signature: str
    challenge: str


class AssignBody(BaseModel):
    worker_address: str


class CompleteBody(BaseModel):
    result_cid: str


class JobBody(BaseModel):
    asset_cid: str
    reward: float = 1.0


def create_app(token_ttl: int) -> FastAPI:
    app = FastAPI()
    lock = threading.Lock()
    challenges: dict[str, str] = {}
    jobs: dict[int, dict] = {}

    def subject(authorization: str | None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401, "not authenticated")
        try:
            claims = jwt.decode(authorization[7:], SECRET, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            raise HTTPException(401, f"bad token: {exc}") from exc
        return claims["sub"]

    @app.post("/api/v1/auth/challenge")
    def challenge(body: ChallengeBody) -> dict:
        value = secrets.token_hex(32)
        with lock:
            challenges[value] = body.address.lower()
        return {"challenge": value}

    @app.post("/api/v1/auth/authenticate")
    def authenticate(body: AuthBody) -> dict:
        with lock:
            owner = challenges.pop(body.challenge, None)
        if owner != body.address.lower():
            raise HTTPException(401, "unknown challenge")
        try:
            VerifyKey(bytes.fromhex(body.address[2:])).verify(
                f"farmhand-auth-v1:{body.challenge}".encode(), bytes.fromhex(body.signature))
        except (BadSignatureError, ValueError) as exc:
            raise HTTPException(401, "bad signature") from exc
        token = jwt.encode({"sub": owner, "exp": int(time.time()) + token_ttl}, SECRET,
                           algorithm="HS256")
        return {"access_token": token}

    @app.get("/api/v1/jobs/available")
    def available(status: str = "pending", authorization: str | None = Header(None)) -> list:
        subject(authorization)
        with lock:
            return [{"id": j["id"], "asset_cid": j["asset_cid"], "reward": j["reward"]}
                    for j in jobs.values() if j["status"] == status]

    @app.post("/api/v1/jobs/{job_id}/assign")
    def assign(job_id: int, body: AssignBody, authorization: str | None = Header(None)) -> dict:
        worker = subject(authorization)
        with lock:
            job = jobs.get(job_id)
            if job is None:
                raise HTTPException(404, "job not found")
            if job["status"] != "pending":
                raise HTTPException(409, "job already assigned")
            job.update(status="assigned", worker=worker)
            job["assigned"] += 1
        return {"success": True}

    @app.post("/api/v1/jobs/{job_id}/complete")
    def complete(job_id: int, body: CompleteBody,
                 authorization: str | None = Header(None)) -> dict:
        worker = subject(authorization)
        with lock:
            job = jobs.get(job_id)
            if job is None:
                raise HTTPException(404, "job not found")
            if job["worker"] != worker:
                raise HTTPException(409, "not your job")
            job.update(status="completed", result_cid=body.result_cid)
            job["completed"] += 1
        return {"success": True}

    @app.post("/_stub/jobs")
    def create_job(body: JobBody) -> dict:
        with lock:
            job_id = len(jobs) + 1
            jobs[job_id] = {"id": job_id, "asset_cid": body.asset_cid, "reward": body.reward,
                            "status": "pending", "worker": None, "result_cid": None,
                            "assigned": 0, "completed": 0}
            return dict(jobs[job_id])

    @app.get("/_stub/jobs")
    def list_jobs() -> list:
        with lock:
            return [dict(j) for j in jobs.values()]

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-ttl", type=int, default=3600)
    args = parser.parse_args()
    uvicorn.run(create_app(args.token_ttl), host="127.0.0.1", port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
