"""Coordinator settings (from `serve` flags) and the JWT secret.

The secret is never in the source: ``--jwt-secret-file`` names it (the file must be readable
by its owner only, mode 0600 or stricter); in ``--dev`` mode without that flag it is generated
once (32 random bytes, hex) into ``<db>.jwt-secret`` with mode 0600 and reused afterwards.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A setting is unusable; the message says which and what to do."""


@dataclass
class Settings:
    db_path: Path
    dev: bool = False
    lease_seconds: float = 60.0           # seconds granted by assign/heartbeat
    token_ttl_seconds: int = 3600         # JWT lifetime
    challenge_ttl_seconds: float = 300.0  # challenge lifetime (5 minutes)
    admin_token: str | None = None
    jwt_secret_file: Path | None = None
    gateway_url: str = "http://127.0.0.1:8080"
    ipfs_api: str = "http://127.0.0.1:5001"
    max_wait_seconds: float = 30.0        # long-poll cap
    sweep_interval_seconds: float = 0.5   # background lease-expiry sweep
    max_upload_bytes: int = 2 << 30       # largest .blend POST /api/v1/uploads accepts
    worker_recent_seconds: float = 86400.0  # workers whose Blender versions an upload needs
    # The farm (docs/protocol.md "Jobs and tasks"). trusted: no .blend header read at
    # submission, no result checks, no spot verification (a farm of one's own machines; the
    # protocol tests, which use made-up CIDs).
    trusted: bool = False
    verify_share: float = 0.05            # share of tasks rendered again by another worker
    creator_task_cap: int = 64            # assigned tasks per creator before its offers stop
    verify_wait_seconds: float = 300.0    # an untaken verification is dropped after this
    kubo_timeout_seconds: float = 30.0    # each kubo RPC call of the farm logic


def _read_secret(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"JWT secret file {path} does not exist; create it with "
                          "`head -c 32 /dev/urandom | xxd -p -c 64 > FILE; chmod 600 FILE`")
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(f"JWT secret file {path} is readable by group/others "
                          f"(mode {oct(stat.S_IMODE(mode))}); run `chmod 600 {path}`")
    secret = path.read_bytes().strip()
    if len(secret) < 32:
        raise ConfigError(f"JWT secret in {path} is shorter than 32 bytes; use a longer one")
    return secret


def load_jwt_secret(settings: Settings) -> bytes:
    """The HS256 key: from --jwt-secret-file, or (dev) generated beside the database."""
    if settings.jwt_secret_file:
        return _read_secret(Path(settings.jwt_secret_file))
    if not settings.dev:
        raise ConfigError("no JWT secret: pass --jwt-secret-file PATH (mode 0600), or --dev "
                          "to generate one beside the database")
    path = settings.db_path.with_name(settings.db_path.name + ".jwt-secret")
    if not path.exists():
        # Written whole to a temporary file, then renamed: a crash never leaves a short secret.
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return _read_secret(path)
