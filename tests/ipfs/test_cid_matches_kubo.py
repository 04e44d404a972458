"""Our UnixFS importer prints the same CID as kubo's `ipfs add --only-hash` (real kubo)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


NAMES = ["empty", "one_byte", "chunk_minus_1", "chunk", "chunk_plus_1", "174_chunks",
         "174_chunks_plus_1", "50_mb"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("version", [0, 1])
def test_file_cid_equals_kubo_only_hash(ipfs, kubo, sample_files, name, version):
    path = sample_files[name]
    expected = kubo.only_hash(path, f"--cid-version={version}")
    assert ipfs.cid_of(path, version) == expected
    assert expected.startswith("Qm" if version == 0 else "bafk" if path.stat().st_size <= 262144
                               else "bafy")


@pytest.fixture
def frames_dir(tmp_path):
    """Names whose order differs by case and digits: 'B' < 'a' bytewise, '10' < '9'."""
    d = tmp_path / "frames"
    d.mkdir()
    (d / "a_frame_9.png").write_bytes(b"nine" * 1000)
    (d / "a_frame_10.png").write_bytes(b"ten" * 100_000)
    (d / "B_frame.png").write_bytes(b"")
    (d / ".hidden").write_bytes(b"kubo skips hidden files by default")
    sub = d / "sub"
    sub.mkdir()
    (sub / "x.exr").write_bytes(bytes(range(256)) * 2000)
    return d


@pytest.mark.parametrize("version", [0, 1])
def test_directory_cid_equals_kubo_add_recursive(ipfs, kubo, frames_dir, version):
    assert ipfs.cid_of(frames_dir, version) == kubo.only_hash(frames_dir,
                                                              f"--cid-version={version}")


@pytest.fixture
def cli_env(farmhand_core):
    """Environment in which `python -m farmhand_core` imports the module under test."""
    return {"PYTHONPATH": str(Path(farmhand_core.__file__).resolve().parents[1])}


@pytest.mark.parametrize("version", [0, 1])
def test_cli_prints_what_ipfs_add_quiet_only_hash_prints(kubo, sample_files, frames_dir,
                                                         version, cli_env):
    for path in (sample_files["chunk_plus_1"], frames_dir):
        out = subprocess.run(
            [sys.executable, "-m", "farmhand_core", "cid", "--cid-version", str(version),
             str(path)], capture_output=True, text=True, check=True,
            env=cli_env)
        assert out.stdout == kubo.only_hash(path, f"--cid-version={version}") + "\n"


def test_cli_reports_a_missing_path_with_exit_status_1(tmp_path, cli_env):
    out = subprocess.run(
        [sys.executable, "-m", "farmhand_core", "cid", str(tmp_path / "missing")],
        capture_output=True, text=True, env=cli_env)
    assert out.returncode == 1
    assert "missing" in out.stderr


def test_sha256_file_hex_equals_hashlib(ipfs, sample_files):
    import hashlib
    path = sample_files["chunk_plus_1"]
    assert ipfs.sha256_file_hex(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_parse_cid_names_what_is_wrong(ipfs):
    assert ipfs.parse_cid("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")[:2] == (0, 0x70)
    with pytest.raises(ipfs.CidInvalid, match="multibase prefix"):
        ipfs.parse_cid("xnotacid")
    with pytest.raises(ValueError):  # CidInvalid is also a ValueError
        ipfs.parse_cid("")


def test_cid_of_releases_the_gil_while_hashing(ipfs, sample_files):
    """Another Python thread keeps running while a 45 MB file is hashed."""
    import threading
    done = threading.Event()
    result = []

    def work():
        result.append(ipfs.cid_of(sample_files["174_chunks_plus_1"], 0))
        done.set()

    ticks = 0
    worker = threading.Thread(target=work)
    worker.start()
    while not done.is_set():
        ticks += 1
        done.wait(0.001)
    worker.join()
    assert result[0].startswith("Qm")
    assert ticks >= 10
