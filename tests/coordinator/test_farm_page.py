"""The coordinator page of a farm at work, in a real browser (Chromium via Playwright): a job's
per-frame grid (done, rendering, waiting) and the worker records. The screenshot goes to
docs/img/coordinator-farm.png."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from farm_helpers import ScriptedWorker
from test_farm_directory import submit

SHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "coordinator-farm.png"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium not installed")
def test_page_shows_the_frame_grid_and_worker_records(coordinator_factory, kubo, tmp_path):
    from playwright.sync_api import sync_playwright

    farm = coordinator_factory("--ipfs-api", kubo.api_url, "--verify-share", "0",
                               trusted=False)
    job = submit(farm, kubo, tmp_path, list(range(1, 25)), 2, creator="studio")
    workers = [ScriptedWorker(farm.url, kubo).login() for _ in range(3)]
    for _ in range(2):
        for worker in workers:
            worker.step()
    running = workers[0].offers()[0]
    assert workers[0].assign(running["id"]).status_code == 200
    state = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}", timeout=30).json()
    assert state["frames_done"] == 12 and state["status"] == "assigned"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1500, "height": 700})
        page.goto(farm.url + "/")
        assert page.locator(".grid i.completed").count() == 12
        assert page.locator(".grid i.assigned").count() == 2
        assert page.locator(".grid i:not(.completed):not(.assigned)").count() == 10
        assert page.locator("#workers tbody tr").count() == 3
        assert "12/24 frames, 6/12 tasks" in page.inner_text("body")
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOT), full_page=True)
        browser.close()
    assert SHOT.stat().st_size > 10_000
