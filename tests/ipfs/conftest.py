"""Fixtures for the IPFS tests: deterministic test files of the sizes the issue lists."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

CHUNK = 256 * 1024


def pseudo_random_bytes(size: int, seed: int) -> bytes:
    """`size` reproducible, incompressible bytes."""
    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory) -> dict[str, Path]:
    """name -> path for the size table: 0 B, 1 B, chunk-1, chunk, chunk+1, 174 chunks,
    174 chunks + 1, ~50 MB."""
    root = tmp_path_factory.mktemp("samples")
    sizes = {
        "empty": 0, "one_byte": 1, "chunk_minus_1": CHUNK - 1, "chunk": CHUNK,
        "chunk_plus_1": CHUNK + 1, "174_chunks": 174 * CHUNK, "174_chunks_plus_1": 174 * CHUNK + 1,
        "50_mb": 50_000_000,
    }
    paths = {}
    for i, (name, size) in enumerate(sizes.items()):
        path = root / f"{name}.bin"
        path.write_bytes(pseudo_random_bytes(size, seed=i))
        paths[name] = path
    return paths


@pytest.fixture
def ipfs(farmhand_core):
    """The package module farmhand_core.ipfs (the public surface)."""
    import importlib
    return importlib.import_module("farmhand_core.ipfs")
