"""Fixture ``farm``: the real coordinator + kubo pair of an engine test (engine_helpers.Farm)."""

import pytest

from engine_helpers import Farm


@pytest.fixture
def farm(coordinator, kubo, tmp_path):
    f = Farm(coordinator, kubo, tmp_path)
    yield f
    f.http.close()
