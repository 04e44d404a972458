"""Engine(config) with hostile values: every one is refused with InvalidArgument naming the
key (IoError for a log file that cannot be used), before any thread starts (no services
needed: the refusal comes first)."""

from __future__ import annotations

import os

import pytest


def config(tmp_path, **overrides) -> dict:
    base = {"backend_url": "http://127.0.0.1:9", "key_file": str(tmp_path / "worker.key"),
            "work_dir": str(tmp_path / "work"), "blender_version": 304}
    base.update(overrides)
    return base


@pytest.mark.parametrize("key, value", [
    ("prefetch", 2 ** 70),
    ("max_job_bytes", 2 ** 64),
    ("poll_wait_s", -(2 ** 80)),
])
def test_integer_beyond_64_bits_is_invalid_argument_naming_the_key(farmhand_core, tmp_path,
                                                                   key, value):
    with pytest.raises(farmhand_core.InvalidArgument, match=f"'{key}'.*out of range"):
        farmhand_core.Engine(config(tmp_path, **{key: value}))


@pytest.mark.parametrize("key", ["heartbeat_interval_s", "auth_retry_s", "network_retry_s"])
@pytest.mark.parametrize("value", [float("inf"), 1e300])
def test_infinite_or_huge_seconds_are_refused(farmhand_core, tmp_path, key, value):
    with pytest.raises(farmhand_core.InvalidArgument, match=f"'{key}' must be <= 3600"):
        farmhand_core.Engine(config(tmp_path, **{key: value}))


def test_log_file_that_is_a_fifo_is_io_error_not_a_blocked_engine(farmhand_core, tmp_path):
    # Appending to a FIFO without a reader blocks: Engine.start() used to hang on its first
    # log line, holding the log lock every thread needs.
    fifo = tmp_path / "worker.log"
    os.mkfifo(fifo)
    with pytest.raises(farmhand_core.IoError, match="not a regular file"):
        farmhand_core.Engine(config(tmp_path, log_file=str(fifo)))


@pytest.mark.parametrize("where", ["dir", "missing-parent"])
def test_log_file_that_cannot_be_opened_is_io_error_naming_it(farmhand_core, tmp_path, where):
    path = tmp_path if where == "dir" else tmp_path / "no" / "such" / "worker.log"
    with pytest.raises(farmhand_core.IoError, match="log_file") as err:
        farmhand_core.Engine(config(tmp_path, log_file=str(path)))
    assert str(path) in str(err.value)


def test_log_file_is_created_and_gets_the_engine_lines(farmhand_core, tmp_path):
    log = tmp_path / "worker.log"
    engine = farmhand_core.Engine(config(tmp_path, log_file=str(log), auth_retry_s=0.2,
                                         network_retry_s=0.2))
    assert log.is_file()
    engine.start()
    engine.stop()
    assert "farmhand: engine starting: worker 0x" in log.read_text()
