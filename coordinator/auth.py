"""Worker authentication: single-use challenges, Ed25519 signature checks, JWTs.

Signed message: UTF-8 of ``"farmhand-auth-v1:" + challenge`` (docs/protocol.md). Signatures
are verified with PyNaCl (libsodium, RFC 8032 Ed25519). Tokens: JWT HS256 (RFC 7519) with
``sub`` = worker address, ``iat``, ``exp``.
"""

from __future__ import annotations

import logging
import math
import secrets

import jwt
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey

from .db import Database
from .errors import ApiError
from .timefmt import now

log = logging.getLogger("coordinator")
MESSAGE_PREFIX = "farmhand-auth-v1:"
CHALLENGE_BYTES = 32   # 256 bits of randomness


def signed_message(challenge: str) -> bytes:
    """The bytes a worker signs for ``challenge``."""
    return (MESSAGE_PREFIX + challenge).encode("utf-8")


class Authenticator:
    """Challenges in the database, tokens signed with ``secret``.

    ``token_ttl``/``challenge_ttl``: seconds."""

    def __init__(self, db: Database, secret: bytes, token_ttl: int, challenge_ttl: float):
        self.db = db
        self._secret = secret
        self.token_ttl = token_ttl
        self.challenge_ttl = challenge_ttl

    def issue_challenge(self, address: str) -> tuple[str, float]:
        """A fresh challenge bound to ``address``; returns (challenge, expires_at)."""
        challenge = secrets.token_hex(CHALLENGE_BYTES)
        ts = now()
        expires = ts + self.challenge_ttl
        with self.db.transaction() as conn:
            # Old challenges are useless after expiry; keep the table small.
            conn.execute("DELETE FROM challenges WHERE expires_at < ?", (ts - 3600,))
            conn.execute("INSERT INTO challenges (challenge, address, expires_at) VALUES (?,?,?)",
                         (challenge, address, expires))
        return challenge, expires

    def authenticate(self, address: str, challenge: str, signature: str) -> tuple[str, float]:
        """Check the challenge and signature; returns (token, expires_at). ApiError 401 with
        challenge_not_found / challenge_address_mismatch / challenge_used / challenge_expired /
        invalid_signature."""
        ts = now()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM challenges WHERE challenge = ?",
                               (challenge,)).fetchone()
            if row is None:
                raise ApiError(401, "challenge_not_found",
                               "this challenge was never issued; request a new one from "
                               "/api/v1/auth/challenge")
            if row["address"] != address:
                raise ApiError(401, "challenge_address_mismatch",
                               "this challenge was issued to a different address; request "
                               "one for your own address")
            if row["used_at"] is not None:
                raise ApiError(401, "challenge_used",
                               "this challenge was already used; request a new one")
            if row["expires_at"] <= ts:
                raise ApiError(401, "challenge_expired",
                               "this challenge expired (challenges last "
                               f"{self.challenge_ttl:.0f} s); request a new one")
            try:
                VerifyKey(bytes.fromhex(address[2:])).verify(signed_message(challenge),
                                                             bytes.fromhex(signature))
            except (BadSignatureError, CryptoError, ValueError):
                raise ApiError(401, "invalid_signature",
                               "the signature does not verify: sign the UTF-8 bytes of "
                               f"'{MESSAGE_PREFIX}' + challenge with the Ed25519 key whose "
                               "public half is the address") from None
            conn.execute("UPDATE challenges SET used_at = ? WHERE challenge = ?",
                         (ts, challenge))
            conn.execute("INSERT INTO workers (address, first_seen, last_seen) VALUES (?,?,?) "
                         "ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen",
                         (address, ts, ts))
        # exp rounded up to a whole second so the token lives at least token_ttl seconds.
        exp = math.ceil(ts) + self.token_ttl
        token = jwt.encode({"sub": address, "iat": int(ts), "exp": exp}, self._secret,
                           algorithm="HS256")
        log.info("worker %s authenticated, token valid %d s", address, self.token_ttl)
        return token, float(exp)

    def verify_token(self, authorization: str | None) -> str:
        """``Authorization`` header -> worker address. ApiError 401 token_missing /
        token_expired / token_invalid."""
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "token_missing",
                           "send 'Authorization: Bearer <token>' from /api/v1/auth/authenticate")
        token = authorization[len("Bearer "):].strip()
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"],
                                options={"require": ["sub", "exp"]})
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "token_expired",
                           "the token expired; authenticate again") from None
        except jwt.PyJWTError as exc:
            raise ApiError(401, "token_invalid",
                           f"the token is not valid ({exc}); authenticate again") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith("0x") or len(sub) != 66:
            raise ApiError(401, "token_invalid", "the token has no worker address; "
                           "authenticate again")
        return sub
