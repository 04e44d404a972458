"""The reference coordinator under uvicorn on a loopback port, on a real SQLite file.

Started as `python -m coordinator serve --db PATH --host 127.0.0.1 --port N --dev [extra]`
and considered ready when `GET /api/v1/health` answers 200.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from .paths import REPO_ROOT, free_port, venv_python


class Coordinator:
    """A running coordinator process. Use ``Coordinator.start(db)`` as a context manager."""

    def __init__(self, db_path: Path, port: int, args: list[str], proc, log_path: Path):
        self.db_path = db_path
        self.port = port
        self.args = args
        self.proc = proc
        self.log_path = log_path

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8000 (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, db_path: Path | str, *extra_args: str, port: int | None = None,
              timeout: float = 30.0) -> "Coordinator":
        """Start on ``db_path`` (created if missing). ``extra_args`` go to `serve`,
        e.g. ``"--lease-seconds", "2"``. Raises RuntimeError/TimeoutError if it never
        becomes ready."""
        db_path = Path(db_path)
        port = port or free_port()
        log_path = db_path.with_suffix(".log")
        args = ["serve", "--db", str(db_path), "--host", "127.0.0.1", "--port", str(port),
                "--dev", *extra_args]
        env = dict(os.environ)
        core = os.environ.get("FARMHAND_CORE_PATH",
                              str(REPO_ROOT / "build" / "release" / "python"))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), core,
                                                        env.get("PYTHONPATH", "")) if p)
        log = open(log_path, "ab")
        proc = subprocess.Popen([str(venv_python()), "-m", "coordinator", *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        coord = cls(db_path, port, args, proc, log_path)
        coord._wait_ready(timeout)
        return coord

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"coordinator exited early:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"coordinator not ready within {timeout} s:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown handlers run."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def restart(self, timeout: float = 30.0) -> "Coordinator":
        """Start again on the same database file and port (after stop() or kill())."""
        return Coordinator.start(self.db_path, *self.args[8:], port=self.port, timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Coordinator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
