"""python -m farmhand_core.sandbox: its arguments, --dry-run plan and refusals (the launch
itself is proven by test_hostile_corpus.py and tests/native/sandbox/launcher_test.cpp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(farmhand_core, *args, env=None):
    core_dir = os.path.dirname(os.path.dirname(farmhand_core.__file__))
    return subprocess.run([sys.executable, "-m", "farmhand_core.sandbox", *args],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=core_dir, **(env or {})))


def test_memory_sizes_parse_as_binary_units_and_shares(farmhand_core):
    from farmhand_core.sandbox import parse_memory
    assert parse_memory("8G") == 8 << 30
    assert parse_memory("512M") == 512 << 20
    assert parse_memory("1000") == 1000
    assert parse_memory("0") == 0
    assert parse_memory("75%", physical=16 << 30) == 12 << 30
    with pytest.raises(ValueError, match="above 0% and at most 100%"):
        parse_memory("150%", physical=1)
    with pytest.raises(ValueError):
        parse_memory("lots")


def test_dry_run_prints_the_policy_and_the_environment_it_adds(farmhand_core, tmp_path):
    if not farmhand_core.sandbox.support()["available"]:
        pytest.skip("no Landlock on this kernel")
    work, key = tmp_path / "work", tmp_path / "worker.key"
    result = run(farmhand_core, "--work-dir", str(work), "--key-file", str(key),
                 "--memory-max", "2G", "--dry-run", "--", "sh", "-c", "true")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["read_write"] == [str(work)]
    assert "/usr" in plan["read_only"] and "/etc" not in plan["read_only"]
    assert f"TMPDIR={work}/tmp" in plan["environment"]
    assert plan["status"].endswith(f"read/write {work} only; memory 2.0 GiB (RLIMIT_DATA 1.6 GiB + 384 MiB for code)")
    assert not key.exists()  # a dry run creates no key


def test_a_key_inside_the_work_dir_is_refused_with_exit_1(farmhand_core, tmp_path):
    if not farmhand_core.sandbox.support()["available"]:
        pytest.skip("no Landlock on this kernel")
    work = tmp_path / "work"
    result = run(farmhand_core, "--work-dir", str(work), "--key-file", str(work / "k"),
                 "--", "true")
    assert result.returncode == 1
    assert f"refused: the key file {work}/k lies inside {work}" in result.stderr


def test_missing_command_or_bad_memory_is_a_usage_error(farmhand_core, tmp_path):
    result = run(farmhand_core, "--work-dir", str(tmp_path), "--key-file", "k")
    assert result.returncode == 2 and "no command after --" in result.stderr
    result = run(farmhand_core, "--work-dir", str(tmp_path), "--key-file", "k",
                 "--memory-max", "200%", "--", "true")
    assert result.returncode == 2 and "--memory-max 200%" in result.stderr


def test_launched_program_gets_the_key_as_a_descriptor_and_cannot_open_the_file(
        farmhand_core, tmp_path):
    if not farmhand_core.sandbox.support()["available"]:
        pytest.skip("no Landlock on this kernel")
    work, key = tmp_path / "work", tmp_path / "worker.key"
    script = ('import os, sys\n'
              'fd = int(os.environ["FARMHAND_KEY_FD"])\n'
              'print(os.pread(fd, 25, 0).decode())\n'
              'try:\n    open(sys.argv[1]).read(); print("READ")\n'
              'except PermissionError:\n    print("EACCES")\n'
              'print(os.environ["TMPDIR"])\n')
    reads = [os.path.dirname(os.path.dirname(farmhand_core.__file__)), sys.prefix,
             os.path.realpath(sys.prefix)]  # this venv's pyvenv.cfg and site-packages
    result = run(farmhand_core, "--work-dir", str(work), "--key-file", str(key),
                 *[a for p in reads for a in ("--read", p)], "--",
                 sys.executable, "-c", script, str(key))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["farmhand-ed25519-seed-v1:", "EACCES",
                                             f"{work}/tmp"]
    assert key.stat().st_mode & 0o077 == 0


def test_worker_settings_take_the_key_descriptor_and_sandbox_from_the_launcher(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))
    from farmhand import settings as fs  # imports bpy: the 5.0.1 module

    env = {"FARMHAND_KEY_FD": "3", "FARMHAND_SANDBOX": "Landlock ABI 7: read/write /w only",
           "FARMHAND_WORK_DIR": str(tmp_path)}
    config = fs.from_env_and_args(env, []).engine_config((3, 4, 1))
    assert (config["key_fd"], config["sandbox"]) == (3, "Landlock ABI 7: read/write /w only")
    plain = fs.from_env_and_args({"FARMHAND_WORK_DIR": str(tmp_path)}, []).engine_config((3, 4))
    assert "key_fd" not in plain and plain["sandbox"] == "not sandboxed"
    for bad, needle in (("three", "is not a descriptor number"), ("-1", "must be >= 0")):
        with pytest.raises(fs.SettingsError, match=needle):
            fs.from_env_and_args({"FARMHAND_KEY_FD": bad}, [])


def test_engine_reports_its_sandbox_and_reads_the_key_from_the_descriptor(farmhand_core,
                                                                         tmp_path):
    key = tmp_path / "worker.key"
    address = farmhand_core.Identity.load_or_create(str(key)).address
    fd = os.open(key, os.O_RDONLY)
    engine = farmhand_core.Engine({
        "backend_url": "http://127.0.0.1:9", "key_file": str(tmp_path / "never-opened.key"),
        "key_fd": fd, "sandbox": "Landlock ABI 7: test", "work_dir": str(tmp_path / "w"),
        "blender_version": 304})
    assert engine.worker_address == address
    assert engine.status()["sandbox"] == "Landlock ABI 7: test"
    with pytest.raises(OSError):
        os.fstat(fd)  # the engine closed it
    assert not (tmp_path / "never-opened.key").exists()
