"""Auth: challenge -> Ed25519 signature -> JWT, and every rejection (docs/protocol.md)."""

from __future__ import annotations

import time

import httpx
import jwt
from nacl.signing import SigningKey

from coord_helpers import Worker, error_code


def _authenticate(worker: Worker, challenge: str, signature: str, address: str | None = None):
    return worker.http.post("/api/v1/auth/authenticate", json={
        "address": address or worker.address, "challenge": challenge, "signature": signature})


def test_signed_challenge_yields_token_whose_sub_and_exp_match(coordinator_factory, make_worker):
    coord = coordinator_factory("--token-ttl-seconds", "120")
    worker = make_worker(coord.url, login=False)
    resp = worker.http.post("/api/v1/auth/challenge", json={"address": worker.address})
    assert resp.status_code == 200
    body = resp.json()
    assert len(body["challenge"]) == 64 and int(body["challenge"], 16) >= 0
    assert body["message"] == "farmhand-auth-v1:" + body["challenge"]
    assert body["expires_at"].endswith("Z")

    before = int(time.time())
    resp = _authenticate(worker, body["challenge"], worker.sign(body["challenge"]))
    assert resp.status_code == 200, resp.text
    reply = resp.json()
    assert reply["expires_in"] == 120
    assert reply["token_type"] == "Bearer"
    assert reply["address"] == worker.address
    assert reply["access_token"] == reply["token"]  # the seed's name and the older one
    claims = jwt.decode(reply["access_token"], options={"verify_signature": False})
    assert claims["sub"] == worker.address
    assert before + 120 <= claims["exp"] <= int(time.time()) + 121
    assert claims["exp"] - claims["iat"] in (120, 121)

    worker.token = reply["token"]
    assert worker.get("/api/v1/jobs/available").json() == {"jobs": []}


def test_challenges_are_distinct_256_bit_values(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    seen = {worker.challenge() for _ in range(20)}
    assert len(seen) == 20


def test_wrong_signature_is_401_invalid_signature(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    challenge = worker.challenge()
    forged = SigningKey.generate().sign(f"farmhand-auth-v1:{challenge}".encode()).signature
    resp = _authenticate(worker, challenge, forged.hex())
    assert resp.status_code == 401
    assert error_code(resp) == "invalid_signature"


def test_signature_over_bare_challenge_without_prefix_is_rejected(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    challenge = worker.challenge()
    resp = _authenticate(worker, challenge, worker.key.sign(challenge.encode()).signature.hex())
    assert resp.status_code == 401
    assert error_code(resp) == "invalid_signature"


def test_failed_signature_does_not_consume_the_challenge(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    challenge = worker.challenge()
    assert _authenticate(worker, challenge, "00" * 64).status_code == 401
    assert _authenticate(worker, challenge, worker.sign(challenge)).status_code == 200


def test_replayed_challenge_is_401_challenge_used(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    challenge = worker.challenge()
    signature = worker.sign(challenge)
    assert _authenticate(worker, challenge, signature).status_code == 200
    resp = _authenticate(worker, challenge, signature)
    assert resp.status_code == 401
    assert error_code(resp) == "challenge_used"


def test_unknown_challenge_is_401_challenge_not_found(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    challenge = "ab" * 32
    resp = _authenticate(worker, challenge, worker.sign(challenge))
    assert resp.status_code == 401
    assert error_code(resp) == "challenge_not_found"


def test_someone_elses_challenge_is_401_address_mismatch(coordinator, make_worker):
    victim = make_worker(coordinator.url, login=False)
    attacker = make_worker(coordinator.url, login=False)
    challenge = victim.challenge()
    resp = _authenticate(attacker, challenge, attacker.sign(challenge))
    assert resp.status_code == 401
    assert error_code(resp) == "challenge_address_mismatch"


def test_expired_challenge_is_401_challenge_expired(coordinator, make_worker):
    """Challenges last 5 minutes; age one in the real database file instead of waiting."""
    import sqlite3

    worker = make_worker(coordinator.url, login=False)
    challenge = worker.challenge()
    with sqlite3.connect(coordinator.db_path) as db:
        db.execute("UPDATE challenges SET expires_at = ? WHERE challenge = ?",
                   (time.time() - 1, challenge))
    resp = _authenticate(worker, challenge, worker.sign(challenge))
    assert resp.status_code == 401
    assert error_code(resp) == "challenge_expired"


def test_address_that_is_not_an_ed25519_point_fails_verification(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    bogus = "0x" + "ff" * 32          # well-formed hex, not a valid curve point
    resp = worker.http.post("/api/v1/auth/challenge", json={"address": bogus})
    challenge = resp.json()["challenge"]
    resp = _authenticate(worker, challenge, worker.sign(challenge), address=bogus)
    assert resp.status_code == 401
    assert error_code(resp) == "invalid_signature"


def test_malformed_address_and_hex_are_422_with_the_field(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    for address in ("0x1234", "ab" * 33, "0x" + "zz" * 32, 42):
        resp = worker.http.post("/api/v1/auth/challenge", json={"address": address})
        assert resp.status_code == 422, address
        assert error_code(resp) == "validation_error"
        assert resp.json()["error"]["details"][0]["field"] == "address"
    challenge = worker.challenge()
    resp = _authenticate(worker, challenge, "not-hex")
    assert resp.status_code == 422
    assert [d["field"] for d in resp.json()["error"]["details"]] == ["signature"]


def test_worker_endpoints_without_token_are_401_token_missing(coordinator):
    resp = httpx.get(coordinator.url + "/api/v1/jobs/available")
    assert resp.status_code == 401
    assert error_code(resp) == "token_missing"


def test_token_signed_with_another_secret_is_401_token_invalid(coordinator, make_worker):
    worker = make_worker(coordinator.url, login=False)
    worker.token = jwt.encode({"sub": worker.address, "exp": int(time.time()) + 60},
                              "not-the-coordinators-secret-0123456789", algorithm="HS256")
    resp = worker.get("/api/v1/jobs/available")
    assert resp.status_code == 401
    assert error_code(resp) == "token_invalid"
    worker.token = "garbage"
    assert error_code(worker.get("/api/v1/jobs/available")) == "token_invalid"


def test_token_expires_after_ttl_with_401_token_expired(coordinator_factory, make_worker):
    coord = coordinator_factory("--token-ttl-seconds", "3")   # a token lives 3-4 s
    worker = make_worker(coord.url)
    assert worker.get("/api/v1/jobs/available").status_code == 200
    time.sleep(4.2)
    resp = worker.get("/api/v1/jobs/available")
    assert resp.status_code == 401
    assert error_code(resp) == "token_expired"
    worker.login()
    assert worker.get("/api/v1/jobs/available").status_code == 200


def test_dev_secret_is_generated_beside_db_with_mode_0600(coordinator):
    secret = coordinator.db_path.with_name(coordinator.db_path.name + ".jwt-secret")
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) == 64
    assert secret.read_text().strip() not in coordinator.log_path.read_text()
