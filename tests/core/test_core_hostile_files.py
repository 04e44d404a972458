"""Hostile local paths given to farmhand_core: a FIFO where a file is expected must be refused
at once with a typed error, never block the caller (a worker thread or Blender's UI).

Each call runs in a child interpreter with a deadline, so a regression shows up as a failed
test instead of a hung suite.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Generous for a loaded CI machine; the refused call itself takes milliseconds.
DEADLINE_S = 30


def run_core(farmhand_core, code: str) -> subprocess.CompletedProcess:
    """Runs `code` (with farmhand_core imported as fc) in a child Python; returns the result."""
    core_dir = os.path.dirname(os.path.dirname(farmhand_core.__file__))
    env = dict(os.environ, PYTHONPATH=core_dir)
    try:
        return subprocess.run([sys.executable, "-c", "import farmhand_core as fc\n" + code],
                              capture_output=True, text=True, timeout=DEADLINE_S, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"call did not return within {DEADLINE_S} s (blocked on a FIFO?)")


def test_key_file_that_is_a_fifo_is_refused_not_waited_on(farmhand_core, tmp_path):
    fifo = tmp_path / "worker.key"
    os.mkfifo(fifo, 0o600)
    result = run_core(farmhand_core, f"""
try:
    fc.Identity.load_or_create({str(fifo)!r})
except fc.KeyFileError as e:
    print("KeyFileError:", e)
""")
    assert result.returncode == 0, result.stderr
    assert "KeyFileError:" in result.stdout
    assert "not a regular file" in result.stdout
    assert str(fifo) in result.stdout


def test_sha256_of_a_fifo_is_refused_not_waited_on(farmhand_core, tmp_path):
    fifo = tmp_path / "frame.png"
    os.mkfifo(fifo, 0o600)
    result = run_core(farmhand_core, f"""
try:
    fc.ipfs.sha256_file_hex({str(fifo)!r})
except fc.IoError as e:
    print("IoError:", e)
""")
    assert result.returncode == 0, result.stderr
    assert "IoError:" in result.stdout
    assert "not a regular file" in result.stdout


def test_sha256_of_a_directory_is_refused(farmhand_core, tmp_path):
    with pytest.raises(farmhand_core.IoError, match="not a regular file"):
        farmhand_core.ipfs.sha256_file_hex(tmp_path)


def test_sha256_of_a_regular_file_is_its_digest(farmhand_core, tmp_path):
    import hashlib
    data = os.urandom(3 << 20)  # 3 MiB: crosses the 1 MiB read size
    path = tmp_path / "frame.png"
    path.write_bytes(data)
    assert farmhand_core.ipfs.sha256_file_hex(path) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("path", ["", "keys/"], ids=["empty", "trailing-slash"])
def test_key_path_naming_no_file_is_key_file_error_saying_so(farmhand_core, tmp_path, path,
                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keys").mkdir()
    with pytest.raises(farmhand_core.KeyFileError, match="names no file"):
        farmhand_core.Identity.load_or_create(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]
    assert list((tmp_path / "keys").iterdir()) == []
