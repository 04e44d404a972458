"""Where the project's tools live (all set up by scripts/setup)."""

import os
import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def ipfs_binary() -> Path:
    """The pinned kubo binary built by scripts/setup (override: FARMHAND_IPFS_BIN)."""
    path = Path(os.environ.get("FARMHAND_IPFS_BIN", REPO_ROOT / "tools" / "bin" / "ipfs"))
    if not path.is_file():
        raise FileNotFoundError(f"kubo binary not found at {path}: run scripts/setup first")
    return path


def venv_python() -> Path:
    """The project's virtualenv interpreter (.venv/bin/python)."""
    return REPO_ROOT / ".venv" / "bin" / "python"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
