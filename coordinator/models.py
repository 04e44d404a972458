"""Request bodies (pydantic) with the validation rules of docs/protocol.md "Conventions"."""

from __future__ import annotations

import math
import re
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, \
    field_validator

from .cid import CidError, validate_cid

ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
REWARD_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,8})?$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
SURROGATE_RE = re.compile("[\ud800-\udfff]")
FAILURE_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_FRAME = 1048574     # Blender's MAXFRAME
MAX_FRAMES = 10000
OutputFormat = Literal["PNG", "JPEG", "OPEN_EXR"]


def check_address(value: str) -> str:
    """``"0x"`` + 64 hex (either case) -> lower-cased; ValueError otherwise."""
    if not ADDRESS_RE.match(value):
        raise ValueError("address must be '0x' followed by 64 hex digits (an Ed25519 public key)")
    return value.lower()


def _text(value: str) -> str:
    """Free text from a worker, made storable: a lone UTF-16 surrogate (JSON allows the escape
    ``"\\ud800"``, UTF-8 cannot encode it, so SQLite would raise UnicodeEncodeError: a 500)
    becomes U+FFFD (one per surrogate), the way a UTF-8 decoder treats bytes it cannot read."""
    return SURROGATE_RE.sub("\ufffd", value)


def _check_frames(frames: list[int]) -> list[int]:
    if len(frames) > MAX_FRAMES:
        raise ValueError(f"at most {MAX_FRAMES} frames")
    if len(set(frames)) != len(frames):
        raise ValueError("frames must be distinct")
    for f in frames:
        if not -MAX_FRAME <= f <= MAX_FRAME:
            raise ValueError(f"frame {f} is outside Blender's range ±{MAX_FRAME}")
    return frames


def _check_cid(value: str) -> str:
    try:
        return validate_cid(value)
    except CidError as exc:
        raise ValueError(f"not a valid CID: {exc}") from None


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class ChallengeRequest(_Body):
    address: StrictStr

    _addr = field_validator("address")(check_address)


class AuthenticateRequest(_Body):
    address: StrictStr
    challenge: StrictStr
    signature: StrictStr

    _addr = field_validator("address")(check_address)

    @field_validator("challenge")
    @classmethod
    def _challenge(cls, v: str) -> str:
        if len(v) != 64 or not HEX_RE.match(v):
            raise ValueError("challenge must be the 64 hex digits returned by /auth/challenge")
        return v.lower()

    @field_validator("signature")
    @classmethod
    def _signature(cls, v: str) -> str:
        if len(v) != 128 or not HEX_RE.match(v):
            raise ValueError("signature must be 128 hex digits (a 64-byte Ed25519 signature)")
        return v.lower()


# 66: a signed-in creator is their address, "0x" + 64 hex (docs/protocol.md "Creators").
CREATOR_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,66}$")
BLENDER_RE = re.compile(r"^[0-9]{1,3}\.[0-9]{1,3}(\.[0-9]{1,3})?$")
DEVICES = ("CPU", "CUDA", "OPTIX", "HIP", "METAL", "ONEAPI")
MAX_ATTEMPTS = 10   # docs/protocol.md "Poison tasks": a crashing job must not loop longer
MAX_PRIORITY = 100          # docs/protocol.md "Priorities": the operator's bound
CREATOR_MAX_PRIORITY = 10   # ... and a creator's; above it a job goes ahead of fair share


def check_creator(value: str) -> str:
    """A creator name: 1-66 of [A-Za-z0-9_.@-]; ValueError otherwise."""
    if not CREATOR_RE.match(value):
        raise ValueError("creator must be 1-66 characters of letters, digits and _.@-")
    return value


def check_blender(value: str | None) -> str | None:
    """A worker's Blender version "MAJOR.MINOR[.PATCH]" (None passes); ValueError otherwise."""
    if value is not None and not BLENDER_RE.match(value):
        raise ValueError("blender must be a version like 4.2 or 4.2.3")
    return value


def check_device(value: str | None) -> str | None:
    """A device class (upper-cased) of DEVICES (None passes); ValueError otherwise."""
    if value is None:
        return None
    if value.upper() not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}")
    return value.upper()


class CreateJobRequest(_Body):
    asset_cid: StrictStr
    frames: list[StrictInt] = Field(default_factory=list)
    output_format: OutputFormat = "PNG"
    reward: StrictStr = "0"
    max_attempts: StrictInt = Field(default=3, ge=1, le=MAX_ATTEMPTS)
    chunk_size: StrictInt = Field(default=0, ge=0, le=MAX_FRAMES)
    creator: StrictStr = "operator"
    resolution: Optional[list[StrictInt]] = None
    priority: StrictInt = Field(default=0, ge=0, le=MAX_PRIORITY)

    _creator = field_validator("creator")(check_creator)

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, v: Optional[list[int]]) -> Optional[list[int]]:
        if v is not None and (len(v) != 2 or not all(1 <= n <= 65536 for n in v)):
            raise ValueError("resolution must be [width, height] in pixels, each 1-65536")
        return v

    _cid = field_validator("asset_cid")(_check_cid)
    _frames = field_validator("frames")(_check_frames)

    @field_validator("reward")
    @classmethod
    def _reward(cls, v: str) -> str:
        if not REWARD_RE.match(v):
            raise ValueError("reward must be a decimal string like \"1.50\"")
        return v


class AssignRequest(_Body):
    worker_address: StrictStr

    _addr = field_validator("worker_address")(check_address)


class HeartbeatRequest(_Body):
    progress: Optional[float] = Field(default=None, ge=0.0, le=1.0)
    message: Optional[StrictStr] = None

    @field_validator("message")
    @classmethod
    def _message(cls, v: Optional[str]) -> Optional[str]:
        return None if v is None else _text(v[:1000])


class CompleteRequest(_Body):
    result_cid: StrictStr
    sha256: StrictStr
    render_seconds: float = Field(ge=0.0)
    frames: Optional[list[StrictInt]] = None
    device: Optional[StrictStr] = Field(
        default=None, description="the device class the frames were actually rendered with "
                                  "(docs/protocol.md 'Spot verification')")
    blender: Optional[StrictStr] = Field(
        default=None, description="the Blender version that rendered them, MAJOR.MINOR[.PATCH]")

    _cid = field_validator("result_cid")(_check_cid)
    _device = field_validator("device")(check_device)
    _blender = field_validator("blender")(check_blender)

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str) -> str:
        v = v.lower()
        if not SHA256_RE.match(v):
            raise ValueError("sha256 must be 64 hex digits")
        return v

    @field_validator("render_seconds")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("render_seconds must be a finite number of seconds")
        return v

    @field_validator("frames")
    @classmethod
    def _frames(cls, v: Optional[list[int]]) -> Optional[list[int]]:
        return None if v is None else _check_frames(v)


class FailRequest(_Body):
    error: StrictStr
    retryable: StrictBool = True
    log_tail: Optional[StrictStr] = None
    code: Optional[StrictStr] = Field(
        default=None,
        description="the failure kind's stable code: snake_case ASCII, 1-40 characters, "
                    "starting with a letter (docs/protocol.md, Failure codes); empty = none")

    @field_validator("code")
    @classmethod
    def _code(cls, v: Optional[str]) -> Optional[str]:
        if v is None or v == "":
            return None
        if not FAILURE_CODE.fullmatch(v):
            raise ValueError("code must be snake_case ASCII, 1-40 characters, starting with "
                             "a letter (docs/protocol.md, Failure codes)")
        return v

    @field_validator("error")
    @classmethod
    def _error(cls, v: str) -> str:
        return _text(v[:4000]) if v.strip() else "(the worker gave no error message)"

    @field_validator("log_tail")
    @classmethod
    def _tail(cls, v: Optional[str]) -> Optional[str]:
        return None if v is None else _text(v[-65536:])


class ReleaseRequest(_Body):
    reason: Optional[StrictStr] = None

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: Optional[str]) -> Optional[str]:
        return None if v is None else _text(v[:1000])


class PriorityRequest(_Body):
    priority: StrictInt = Field(ge=0, le=MAX_PRIORITY)


class CancelRequest(_Body):
    reason: Optional[StrictStr] = None

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: Optional[str]) -> Optional[str]:
        return None if v is None else _text(v[:1000])
