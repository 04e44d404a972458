"""The contract from the other side: farmhand_core's BackendClient (the C++ client that reads
docs/protocol.md) against this coordinator. Skipped when the built module has no BackendClient
yet (set FARMHAND_CORE_PATH to a build that has it)."""

from __future__ import annotations

import threading

import pytest

from coord_helpers import RESULT_CID, RESULT_SHA, Worker, create_job, get_job


@pytest.fixture
def native(farmhand_core, tmp_path):
    if not hasattr(farmhand_core, "BackendClient"):
        pytest.skip("this farmhand_core build has no BackendClient")
    return farmhand_core


def _client(native, coord, tmp_path, name="worker"):
    identity = native.Identity.load_or_create(str(tmp_path / f"{name}.key"))
    return native.BackendClient(coord.url, identity)


def test_native_client_claims_heartbeats_and_completes(native, coordinator, tmp_path):
    client = _client(native, coordinator, tmp_path)
    job = create_job(coordinator.url, frames=[1, 2], reward="1.50")
    offers = client.available(0)
    assert [(o.id, o.asset_cid, o.reward, list(o.frames), o.output_format) for o in offers] == [
        (str(job["id"]), job["asset_cid"], "1.50", [1, 2], "PNG")]
    assert client.assign(job["id"]) is not None
    assert get_job(coordinator.url, job["id"])["worker_address"] == client.address
    client.heartbeat(job["id"], 0.5, "frame 1/2")
    assert get_job(coordinator.url, job["id"])["progress"] == 0.5
    client.complete(job["id"], RESULT_CID, RESULT_SHA, 3.25, [1, 2])
    client.complete(job["id"], RESULT_CID, RESULT_SHA, 3.25, [1, 2])   # retry: still fine
    done = get_job(coordinator.url, job["id"])
    assert (done["status"], done["result_cid"], done["render_seconds"]) == (
        "completed", RESULT_CID, 3.25)


def test_native_client_loses_claim_race_with_none(native, coordinator, tmp_path):
    job = create_job(coordinator.url)
    other = Worker(coordinator.url).login()
    try:
        assert other.assign(job["id"]).status_code == 200
        client = _client(native, coordinator, tmp_path)
        assert client.assign(job["id"]) is None
        with pytest.raises(native.LeaseLost):
            client.heartbeat(job["id"], 0.1, "")
    finally:
        other.close()


def test_native_client_long_poll_wakes_on_post(native, coordinator, tmp_path):
    client = _client(native, coordinator, tmp_path)
    client.ensure_authenticated()
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("offers", client.available(20)))
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive()
    job = create_job(coordinator.url)
    thread.join(timeout=5)
    assert [o.id for o in out["offers"]] == [str(job["id"])]


def test_native_client_fail_and_release_move_the_job(native, coordinator, tmp_path):
    client = _client(native, coordinator, tmp_path)
    job = create_job(coordinator.url, max_attempts=2)
    client.assign(job["id"])
    client.release(job["id"], "shutting down")
    assert get_job(coordinator.url, job["id"])["attempts"] == 0
    client.assign(job["id"])
    client.fail(job["id"], "scene is not a .blend", False, "log")
    failed = get_job(coordinator.url, job["id"])
    assert (failed["status"], failed["attempts"], failed["error"]) == (
        "failed", 1, "scene is not a .blend")
    with pytest.raises(native.LeaseLost):
        client.release(job["id"], "again")
