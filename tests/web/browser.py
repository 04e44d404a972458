"""Debian's Chromium (/usr/bin/chromium) driven by Playwright's Python client: never a browser
Playwright downloads. Headless, no sandbox (tests run as root in containers), no GPU, no
background networking (the machine has no network beyond loopback)."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "img"


def need_chromium() -> None:
    """Skip the calling test when Debian's chromium is not installed (scripts/setup installs
    it)."""
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed: run scripts/setup")


@contextlib.contextmanager
def chromium():
    """A launched Chromium (Playwright Browser); closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """Collects a page's console errors and uncaught exceptions (a test asserts none), and
    its failed requests apart (``failed_requests``: "STATUS URL"), which a test may expect
    (a refused upload is a 422)."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.failed_requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("response", lambda r: self.failed_requests.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)

    def _console(self, message) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as docs/img/<name>.png; the path."""
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
