"""farmhand_core.Identity: key file creation, loading, refusal, and what Python can see."""

from __future__ import annotations

import os
import re
import stat

import pytest
from nacl.signing import SigningKey

PREFIX = "farmhand-ed25519-seed-v1:"


def test_creates_a_0600_key_file_and_a_hex_address(farmhand_core, tmp_path):
    key = tmp_path / "config" / "worker.key"
    ident = farmhand_core.Identity.load_or_create(key)
    assert re.fullmatch(r"0x[0-9a-f]{64}", ident.address)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert re.fullmatch(PREFIX + r"[0-9a-f]{64}\n", key.read_text())


def test_address_is_the_ed25519_public_key_of_the_stored_seed(farmhand_core, tmp_path):
    # Cross-check with an independent Ed25519 implementation (PyNaCl).
    key = tmp_path / "worker.key"
    ident = farmhand_core.Identity.load_or_create(str(key))
    seed = bytes.fromhex(key.read_text().strip()[len(PREFIX):])
    assert ident.address == "0x" + SigningKey(seed).verify_key.encode().hex()


def test_loading_again_gives_the_same_address(farmhand_core, tmp_path):
    key = tmp_path / "worker.key"
    first = farmhand_core.Identity.load_or_create(key).address
    assert farmhand_core.Identity.load_or_create(key).address == first
    assert farmhand_core.Identity.load_or_create(tmp_path / "other.key").address != first


def test_repr_and_attributes_show_the_address_only(farmhand_core, tmp_path):
    key = tmp_path / "worker.key"
    ident = farmhand_core.Identity.load_or_create(key)
    seed_hex = key.read_text().strip()[len(PREFIX):]
    assert repr(ident) == f"<farmhand_core.Identity address={ident.address}>"
    assert seed_hex not in repr(ident) and seed_hex not in str(ident)
    assert [n for n in dir(ident) if not n.startswith("_")] == ["address", "load_or_create"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_refuses_a_key_file_readable_by_group_or_others(farmhand_core, tmp_path, mode):
    key = tmp_path / "worker.key"
    farmhand_core.Identity.load_or_create(key)
    os.chmod(key, mode)
    with pytest.raises(farmhand_core.KeyFileError) as err:
        farmhand_core.Identity.load_or_create(key)
    assert f"chmod 600 {key}" in str(err.value)
    assert err.value.kind == "key_file"


def test_refuses_a_malformed_key_file(farmhand_core, tmp_path):
    key = tmp_path / "worker.key"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    os.chmod(key, 0o600)
    with pytest.raises(farmhand_core.KeyFileError, match="not a farmhand key file"):
        farmhand_core.Identity.load_or_create(key)
    assert key.read_text() == "-----BEGIN OPENSSH PRIVATE KEY-----\n"  # never overwritten


def test_refuses_a_key_path_under_a_regular_file(farmhand_core, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(farmhand_core.KeyFileError, match="Not a directory"):
        farmhand_core.Identity.load_or_create(tmp_path / "file" / "worker.key")
