"""Worker settings: defaults, environment variables, arguments after ``--``, and the
engine config dict built from them.

Every setting as ``argument`` / ``ENV VAR`` (default); arguments win over the environment:

- ``--backend URL`` / ``FARMHAND_BACKEND_URL`` (http://127.0.0.1:8000)
- ``--ipfs-rpc URL[,URL]`` / ``FARMHAND_IPFS_RPC`` (http://127.0.0.1:5001)
- ``--gateways URL[,URL]`` / ``FARMHAND_GATEWAYS`` (none)
- ``--key-file PATH`` / ``FARMHAND_KEY_FILE`` (<Blender user config>/farmhand/worker.key)
- ``--work-dir PATH`` / ``FARMHAND_WORK_DIR`` (~/.cache/farmhand)
- ``--device TYPE`` / ``FARMHAND_DEVICE`` (CPU; CUDA OPTIX HIP METAL ONEAPI)
- ``--max-jobs N`` / ``FARMHAND_MAX_JOBS`` (0 = never exit; else exit after N jobs)
- ``--max-job-bytes N`` / ``FARMHAND_MAX_JOB_BYTES`` (2147483648 bytes)
- ``--prefetch N`` / ``FARMHAND_PREFETCH`` (1 job claimed ahead)
- ``--cid-version 0|1`` / ``FARMHAND_CID_VERSION`` (0)
- ``--poll-wait S`` / ``FARMHAND_POLL_WAIT`` (20 seconds of long-poll)
- ``--heartbeat S`` / ``FARMHAND_HEARTBEAT`` (10 seconds)
- ``--log-file PATH`` / ``FARMHAND_LOG_FILE`` (none: the engine logs to stderr)
- ``--frame-budget S`` / ``FARMHAND_FRAME_BUDGET`` (3600 seconds; 0 = none): headless, a frame
  running longer is stopped and the job fails "too slow for this worker" (retryable)
- ``--online`` / ``FARMHAND_ONLINE=1`` (off): allow network where Blender >= 4.2 has
  online access off (the bpy module's default), like Blender's ``--online-mode``

Set by the node launcher ``python -m farmhand_core.sandbox`` (docs/security.md), not by hand:
``FARMHAND_KEY_FD`` (the key as an inherited descriptor: the engine reads and closes it, the
key file is never opened) and ``FARMHAND_SANDBOX`` (how the process is confined; absent =
"not sandboxed").
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from .device import DEVICE_TYPES

GIB = 1024 ** 3


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names it and the fix."""


def _split(value: str) -> list[str]:
    return [v.strip().rstrip("/") for v in value.split(",") if v.strip()]


def default_key_file() -> str:
    """``<Blender user config dir>/farmhand/worker.key`` (outside Blender: ~/.config)."""
    try:
        import bpy

        base = bpy.utils.user_resource("CONFIG", path="farmhand")
    except (ImportError, AttributeError):
        base = os.path.join(os.path.expanduser("~"), ".config", "farmhand")
    return os.path.join(base, "worker.key")


def default_work_dir() -> str:
    """``$XDG_CACHE_HOME/farmhand`` or ``~/.cache/farmhand``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "farmhand")


@dataclass
class WorkerSettings:
    """One worker's configuration (see the module table for meanings and defaults)."""

    backend_url: str = "http://127.0.0.1:8000"
    ipfs_rpc_urls: list[str] = field(default_factory=lambda: ["http://127.0.0.1:5001"])
    gateway_urls: list[str] = field(default_factory=list)
    key_file: str = ""
    work_dir: str = ""
    device: str = "CPU"
    max_jobs: int = 0
    max_job_bytes: int = 2 * GIB
    prefetch: int = 1
    cid_version: int = 0
    poll_wait_s: int = 20
    heartbeat_interval_s: float = 10.0
    log_file: str | None = None
    online: bool = False
    key_fd: int | None = None
    sandbox: str = "not sandboxed"
    frame_budget_s: float = 3600.0

    def validate(self) -> None:
        """Raise SettingsError naming the first bad value."""
        for url in [self.backend_url, *self.ipfs_rpc_urls, *self.gateway_urls]:
            if not url.startswith(("http://", "https://")):
                raise SettingsError(f"URL {url!r} must start with http:// or https://")
        if not self.ipfs_rpc_urls:
            raise SettingsError("no IPFS RPC URL: set FARMHAND_IPFS_RPC or --ipfs-rpc")
        if self.device not in DEVICE_TYPES:
            raise SettingsError(f"device {self.device!r} is not one of "
                                f"{', '.join(DEVICE_TYPES)}")
        if self.max_jobs < 0 or self.prefetch < 0 or self.max_job_bytes <= 0:
            raise SettingsError("max jobs and prefetch must be >= 0, max job bytes > 0")
        if self.cid_version not in (0, 1):
            raise SettingsError(f"CID version {self.cid_version} must be 0 or 1")
        # The engine's own ranges (docs/engine.md), checked here so a bad value is a bad
        # setting (exit 2 naming it), not an engine that cannot start (exit 5).
        if self.prefetch > 8:
            raise SettingsError(f"prefetch {self.prefetch} must be 0 to 8 jobs")
        if not 0 <= self.poll_wait_s <= 300:
            raise SettingsError(f"poll wait {self.poll_wait_s} must be 0 to 300 seconds")
        if not 0.1 <= self.heartbeat_interval_s <= 3600:  # also refuses nan and inf
            raise SettingsError(f"heartbeat interval {self.heartbeat_interval_s} must be "
                                "0.1 to 3600 seconds")
        if not 0 <= self.frame_budget_s <= 7 * 24 * 3600:  # also refuses nan and inf
            raise SettingsError(f"frame budget {self.frame_budget_s} must be 0 (none) to "
                                "604800 seconds")
        if self.max_job_bytes > 2 ** 63 - 1:
            raise SettingsError(f"max job bytes {self.max_job_bytes} must be below 2^63")
        for name, path in (("key file", self.key_file), ("work dir", self.work_dir),
                           ("log file", self.log_file or "")):
            if "\0" in path:
                raise SettingsError(f"{name} path {path!r} contains a NUL character")

    def engine_config(self, blender_version: tuple) -> dict:
        """The dict for ``farmhand_core.Engine(config)``."""
        return {
            "backend_url": self.backend_url,
            "key_file": self.key_file or default_key_file(),
            "ipfs_rpc_urls": list(self.ipfs_rpc_urls),
            "gateway_urls": list(self.gateway_urls),
            "work_dir": self.work_dir or default_work_dir(),
            "max_job_bytes": int(self.max_job_bytes),
            "prefetch": int(self.prefetch),
            "cid_version": int(self.cid_version),
            "poll_wait_s": int(self.poll_wait_s),
            "heartbeat_interval_s": float(self.heartbeat_interval_s),
            "blender_version": int(blender_version[0]) * 100 + int(blender_version[1]),
            "device_class": self.device,
            "log_file": self.log_file,
            "sandbox": self.sandbox,
            **({"key_fd": self.key_fd} if self.key_fd is not None else {}),
        }


_OPTIONS = [  # (argument, env var, attribute, converter)
    ("--backend", "FARMHAND_BACKEND_URL", "backend_url", lambda v: v.rstrip("/")),
    ("--ipfs-rpc", "FARMHAND_IPFS_RPC", "ipfs_rpc_urls", _split),
    ("--gateways", "FARMHAND_GATEWAYS", "gateway_urls", _split),
    ("--key-file", "FARMHAND_KEY_FILE", "key_file", os.path.abspath),
    ("--work-dir", "FARMHAND_WORK_DIR", "work_dir", os.path.abspath),
    ("--device", "FARMHAND_DEVICE", "device", str.upper),
    ("--max-jobs", "FARMHAND_MAX_JOBS", "max_jobs", int),
    ("--max-job-bytes", "FARMHAND_MAX_JOB_BYTES", "max_job_bytes", int),
    ("--prefetch", "FARMHAND_PREFETCH", "prefetch", int),
    ("--cid-version", "FARMHAND_CID_VERSION", "cid_version", int),
    ("--poll-wait", "FARMHAND_POLL_WAIT", "poll_wait_s", int),
    ("--heartbeat", "FARMHAND_HEARTBEAT", "heartbeat_interval_s", float),
    ("--log-file", "FARMHAND_LOG_FILE", "log_file", os.path.abspath),
    ("--frame-budget", "FARMHAND_FRAME_BUDGET", "frame_budget_s", float),
]


def from_env_and_args(environ=None, argv=None) -> WorkerSettings:
    """Settings from ``environ`` (default os.environ) overridden by ``argv`` (the
    arguments after ``--``). Raises SettingsError on a bad value or unknown argument."""
    environ = os.environ if environ is None else environ
    settings = WorkerSettings()
    parser = argparse.ArgumentParser(prog="farmhand.run_headless", add_help=False)
    for arg, _env, attr, _conv in _OPTIONS:
        parser.add_argument(arg, dest=attr)
    parser.add_argument("--online", action="store_true")
    args, unknown = parser.parse_known_args(argv or [])
    if unknown:
        raise SettingsError(f"unknown argument(s) {' '.join(unknown)}; "
                            "see the Configuration table in Farmhand's README")
    for arg, env, attr, conv in _OPTIONS:
        raw = getattr(args, attr)
        source = arg
        if raw is None:
            raw, source = environ.get(env), env
        if raw is None or raw == "":
            continue
        try:
            setattr(settings, attr, conv(raw))
        except ValueError as exc:
            raise SettingsError(f"{source}={raw!r}: {exc}") from exc
    settings.online = args.online or environ.get("FARMHAND_ONLINE", "") in ("1", "true", "yes")
    if environ.get("FARMHAND_KEY_FD", "") != "":
        try:
            settings.key_fd = int(environ["FARMHAND_KEY_FD"])
        except ValueError as exc:
            raise SettingsError(f"FARMHAND_KEY_FD={environ['FARMHAND_KEY_FD']!r} is not a "
                                "descriptor number (set only by farmhand_core.sandbox)") from exc
        if settings.key_fd < 0:
            raise SettingsError(f"FARMHAND_KEY_FD={settings.key_fd} must be >= 0")
    settings.sandbox = environ.get("FARMHAND_SANDBOX", "")[:500] or "not sandboxed"
    settings.validate()
    return settings
