"""``/api/v1/auth/*``: challenge and authenticate (docs/protocol.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from .auth import signed_message
from .models import AuthenticateRequest, ChallengeRequest
from .services import Services, services
from .timefmt import iso

router = APIRouter(prefix="/api/v1/auth")


@router.post("/challenge")
async def challenge(body: ChallengeRequest, svc: Services = Depends(services)) -> dict:
    value, expires = await svc.call(svc.auth.issue_challenge, body.address)
    return {"challenge": value, "expires_at": iso(expires),
            "message": signed_message(value).decode()}


@router.post("/authenticate")
async def authenticate(body: AuthenticateRequest, svc: Services = Depends(services)) -> dict:
    token, expires = await svc.call(svc.auth.authenticate, body.address, body.challenge,
                                    body.signature)
    # access_token: the seed's name (docs/protocol.md "Seed-literal backends"); token: the
    # same value for workers that read the older name.
    return {"access_token": token, "token": token, "token_type": "Bearer", "expires_in": svc.auth.token_ttl,
            "expires_at": iso(expires), "address": body.address}
