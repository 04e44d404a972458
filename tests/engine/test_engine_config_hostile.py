"""Engine(config) with hostile values: every one is refused with InvalidArgument naming the
key, before any thread starts (no services needed: the refusal comes first)."""

from __future__ import annotations

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
