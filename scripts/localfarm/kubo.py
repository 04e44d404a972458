"""An isolated kubo daemon: its own IPFS_PATH, loopback-only API and gateway, offline.

Configured as the IPFS issue asks: `ipfs init --profile=test`, API and Gateway on
chosen 127.0.0.1 ports (never `localhost`: kubo treats it as a subdomain gateway),
Gateway.NoFetch=true, `ipfs daemon --offline`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from .paths import free_port, ipfs_binary


class Kubo:
    """A running daemon. Use ``Kubo.start()`` as a context manager."""

    def __init__(self, ipfs_path: Path, api_port: int, gateway_port: int, proc, owns_dir: bool):
        self.ipfs_path = ipfs_path
        self.api_port = api_port
        self.gateway_port = gateway_port
        self.proc = proc
        self._owns_dir = owns_dir

    @property
    def api_url(self) -> str:
        """Base URL of the RPC API, e.g. http://127.0.0.1:5001 (no trailing slash)."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def gateway_url(self) -> str:
        """Base URL of the HTTP gateway, e.g. http://127.0.0.1:8080."""
        return f"http://127.0.0.1:{self.gateway_port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.ipfs_path)
        return env

    def cli(self, *args: str, input: bytes | None = None, timeout: float = 300) -> str:
        """Run `ipfs ARGS...` against this node; returns stdout stripped. Raises on failure."""
        result = subprocess.run(
            [str(ipfs_binary()), *args], env=self.env(), input=input,
            capture_output=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"ipfs {' '.join(args)} failed: {result.stderr.decode()}")
        return result.stdout.decode().strip()

    def add(self, path: Path | str, *flags: str) -> str:
        """`ipfs add -Q [-r] FLAGS PATH` on this node; returns the root CID."""
        path = Path(path)
        rec = ["-r"] if path.is_dir() else []
        return self.cli("add", "-Q", *rec, *flags, str(path))

    def only_hash(self, path: Path | str, *flags: str) -> str:
        """What `ipfs add -Q --only-hash FLAGS PATH` prints (the oracle for our CIDs)."""
        return self.add(path, "--only-hash", *flags)

    @classmethod
    def start(cls, ipfs_path: Path | None = None, timeout: float = 60.0) -> "Kubo":
        owns = ipfs_path is None
        ipfs_path = Path(ipfs_path or tempfile.mkdtemp(prefix="farmhand-ipfs-"))
        env = dict(os.environ, IPFS_PATH=str(ipfs_path))
        binary = str(ipfs_binary())
        api_port, gateway_port = free_port(), free_port()
        if not (ipfs_path / "config").exists():
            subprocess.run([binary, "init", "--profile=test"], env=env, check=True,
                           capture_output=True)
        settings = {
            "Addresses.API": json.dumps(f"/ip4/127.0.0.1/tcp/{api_port}"),
            "Addresses.Gateway": json.dumps(f"/ip4/127.0.0.1/tcp/{gateway_port}"),
            "Addresses.Swarm": "[]",
            "Gateway.NoFetch": "true",
        }
        for key, value in settings.items():
            subprocess.run([binary, "config", "--json", key, value], env=env, check=True,
                           capture_output=True)
        log = open(ipfs_path / "daemon.log", "wb")
        proc = subprocess.Popen([binary, "daemon", "--offline"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        node = cls(ipfs_path, api_port, gateway_port, proc, owns)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"kubo exited early: {(ipfs_path / 'daemon.log').read_text()}")
            try:
                req = urllib.request.Request(node.api_url + "/api/v0/version", method="POST")
                with urllib.request.urlopen(req, timeout=1):
                    return node
            except OSError:
                time.sleep(0.1)
        node.stop()
        raise TimeoutError(f"kubo did not become ready within {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._owns_dir:
            shutil.rmtree(self.ipfs_path, ignore_errors=True)

    def __enter__(self) -> "Kubo":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
