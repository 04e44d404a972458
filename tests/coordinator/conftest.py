"""Fixtures for the coordinator tests (helpers live in coord_helpers.py)."""

from __future__ import annotations

import pytest

from coord_helpers import Worker


@pytest.fixture
def make_worker():
    made: list[Worker] = []

    def make(base_url: str, login: bool = True) -> Worker:
        worker = Worker(base_url)
        made.append(worker)
        return worker.login() if login else worker

    yield make
    for worker in made:
        worker.close()
