"""Fair share (docs/protocol.md "Matching, fair share, blocklists"): offers go round-robin
across creators, so one creator's 1,000 frames do not starve another's 10; a creator at its cap
of running tasks gets no more offers. Scripted workers, real kubo, real PNGs."""

from __future__ import annotations

import httpx
import pytest

from farm_helpers import ScriptedWorker
from test_farm_directory import submit


@pytest.fixture
def farm(coordinator_factory, kubo):
    return coordinator_factory("--ipfs-api", kubo.api_url, "--verify-share", "0",
                               "--creator-task-cap", "2", trusted=False)


def _job(url: str, job_id: int) -> dict:
    return httpx.get(f"{url}/api/v1/jobs/{job_id}", timeout=30).json()


def test_ten_frames_finish_before_the_fiftieth_of_a_thousand(farm, kubo, tmp_path):
    big = submit(farm, kubo, tmp_path, list(range(1, 1001)), 1, creator="studio")
    small = submit(farm, kubo, tmp_path, list(range(1, 11)), 1, creator="student")
    assert (big["tasks_total"], small["tasks_total"]) == (1000, 10)
    workers = [ScriptedWorker(farm.url, kubo).login() for _ in range(3)]
    for _ in range(40):
        for worker in workers:
            worker.step()
        if _job(farm.url, small["id"])["status"] == "completed":
            break
    done = _job(farm.url, small["id"])
    assert done["status"] == "completed", done
    large = _job(farm.url, big["id"])
    assert large["frames_done"] < 50, large["frames_done"]
    assert large["frames_done"] >= 5     # the large job was not starved either
    print(f"small job done when the large one had {large['frames_done']} of 1000 frames")


def test_a_creator_at_its_cap_gets_no_more_offers(farm, kubo, tmp_path):
    one = submit(farm, kubo, tmp_path, [1, 2, 3, 4], 1, creator="alice")
    workers = [ScriptedWorker(farm.url, kubo).login() for _ in range(3)]
    for worker in workers[:2]:
        offer = worker.offers()[0]
        assert worker.assign(offer["id"]).status_code == 200
    assert workers[2].offers() == []                      # alice has 2 running = the cap
    other = submit(farm, kubo, tmp_path, [1], 0, creator="bob")
    assert [o["id"] for o in workers[2].offers()] == [other["id"]]
    assert one["creator"] == "alice" and other["creator"] == "bob"
    listed = httpx.get(farm.url + "/api/v1/jobs", params={"creator": "bob"}, timeout=30).json()
    assert [j["id"] for j in listed["jobs"]] == [other["id"]]
