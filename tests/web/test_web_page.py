"""The creators' page in real Chromium against a real coordinator and kubo, without workers:
sign-in with a WebCrypto Ed25519 key, upload refusals, upload + submit, security headers."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from playwright.sync_api import expect

from browser import Console, screenshot

pytestmark = pytest.mark.e2e


def sign_in(page, url: str) -> str:
    """Open the page, sign in with a new browser key; returns the address shown."""
    page.goto(url + "/web/#/submit")
    page.get_by_test_id("signin").click()
    expect(page.get_by_test_id("who")).to_have_attribute("title", re.compile(r"^0x[0-9a-f]{64}$"))
    return page.get_by_test_id("who").get_attribute("title")


def drop(page, path) -> None:
    """Drag ``path`` onto the page's drop zone: dragover, then drop with a DataTransfer
    holding the file's bytes (Chromium builds the File in the page)."""
    data = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """([name, b64]) => {
             const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
             const dt = new DataTransfer();
             dt.items.add(new File([bytes], name, {type: "application/octet-stream"}));
             return dt;
           }""", [path.name, data])
    page.dispatch_event("#drop", "dragover", {"dataTransfer": transfer})
    expect(page.locator("#drop")).to_have_class(re.compile(r"\bover\b"))
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


def test_page_is_served_with_csp_and_no_inline_script(farm):
    resp = httpx.get(farm.url + "/web/")
    assert resp.status_code == 200
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in resp.text and 'type="module" src="/web/app.js"' in resp.text
    assert httpx.get(farm.url + "/web/../app.py").status_code == 404
    assert httpx.get(farm.url + "/web/app.py").status_code == 404
    js = httpx.get(farm.url + "/web/app.js")
    assert js.headers["content-type"].startswith("text/javascript")


def test_sign_in_upload_and_submit(farm, kubo, browser, demo_scene, tmp_path):
    context = browser.new_context()
    page = context.new_page()
    console = Console(page)
    address = sign_in(page, farm.url)
    # The address the page shows is the one the coordinator authenticated.
    assert httpx.post(farm.url + "/api/v1/auth/challenge", json={"address": address}
                      ).status_code == 200
    # A file that is not a .blend by name is refused in the page, without an upload.
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    page.get_by_test_id("file").set_input_files(str(bogus))
    assert "is not a .blend file" in page.get_by_test_id("upload-text").text_content()
    # A .blend by name that is not one is refused by the coordinator.
    fake = tmp_path / "fake.blend"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    page.get_by_test_id("file").set_input_files(str(fake))
    expect(page.get_by_test_id("upload-text")).to_have_class("error")
    assert "This is not a Blender file." in page.get_by_test_id("upload-text").text_content()
    # The demo scene, dropped on the drop zone (a real `drop` event carrying a DataTransfer
    # with the file, as a drag from the desktop delivers it), uploads; the CID is kubo's.
    drop(page, demo_scene)
    expect(page.get_by_test_id("upload-text")).to_have_class("ok")
    text = page.get_by_test_id("upload-text").text_content()
    assert kubo.only_hash(demo_scene) in text and "Blender 3.4" in text
    page.get_by_test_id("frames").fill("1-6")
    page.get_by_test_id("chunk").fill("2")
    assert "6 frame(s) (1-6) in 3 task(s)" in page.locator("#frames-text").text_content()
    page.get_by_test_id("frames").fill("5-1")
    assert "runs backwards" in page.locator("#frames-text").text_content()
    page.get_by_test_id("frames").fill("1,3,5-6")
    page.get_by_test_id("priority").fill("4")
    screenshot(page, "web-submit")
    page.get_by_test_id("submit").click()
    page.wait_for_url("**/web/#/job/*")
    job_id = int(page.url.rsplit("/", 1)[1])
    job = httpx.get(f"{farm.url}/api/v1/jobs/{job_id}").json()
    assert job["frames"] == [1, 3, 5, 6]
    assert job["asset_cid"] == kubo.only_hash(demo_scene)
    assert job["priority"] == 4
    expect(page.locator("#grid figure")).to_have_count(4)
    assert page.get_by_test_id("job-state").text_content() == "pending"
    # The page shows the priority and its creator changes it (docs/protocol.md "Priorities").
    expect(page.get_by_test_id("job-priority")).to_have_text("4")
    expect(page.get_by_test_id("new-priority")).to_have_value("4")
    page.get_by_test_id("new-priority").fill("9")
    page.get_by_test_id("set-priority").click()
    expect(page.get_by_test_id("job-priority")).to_have_text("9")
    assert httpx.get(f"{farm.url}/api/v1/jobs/{job_id}").json()["priority"] == 9
    # Above a creator's bound: the coordinator's refusal is shown, the priority stays 9.
    page.get_by_test_id("new-priority").evaluate("n => n.removeAttribute('max')")
    page.get_by_test_id("new-priority").fill("50")
    page.get_by_test_id("set-priority").click()
    expect(page.locator("#banner")).to_contain_text("priority_not_allowed")
    assert "0-10" in page.locator("#banner").text_content()
    assert httpx.get(f"{farm.url}/api/v1/jobs/{job_id}").json()["priority"] == 9
    expect(page.get_by_test_id("job-priority")).to_have_text("9")
    assert console.errors == []
    assert [r for r in console.failed_requests
            if "/uploads" not in r and "/priority" not in r] == []
    context.close()


def test_a_scene_newer_than_every_worker_is_refused_in_the_page(farm, browser, tmp_path):
    """A worker that polled saying Blender 3.4 is the newest: a file saved by the bpy 5.0
    module could not be opened by any worker, and the page says so instead of submitting."""
    import subprocess
    import sys

    from coord_helpers import Worker

    worker = Worker(farm.url).login()
    assert worker.get("/api/v1/jobs/available", blender="3.4").status_code == 200
    scene = tmp_path / "new.blend"
    subprocess.run([sys.executable, "-c", "import bpy, sys; "
                    "bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1])", str(scene)],
                   check=True, capture_output=True, timeout=120)
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, farm.url)
    page.get_by_test_id("file").set_input_files(str(scene))
    text = page.get_by_test_id("upload-text")
    expect(text).to_have_class("error", timeout=60_000)
    assert "new.blend needs a newer Blender than any worker has." in text.text_content()
    assert "saved by Blender 5.0, newer than every worker on this farm (the newest runs " \
           "Blender 3.4)" in text.text_content()
    assert "(too_new)" in text.text_content()
    assert page.locator("#job-form").is_hidden()
    screenshot(page, "web-too-new")
    context.close()
    worker.close()
