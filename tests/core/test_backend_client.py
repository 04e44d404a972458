"""farmhand_core.BackendClient against the real coordinator (fixtures in tests/conftest.py).

A stub HTTP server appears only where the real coordinator cannot produce the fault
(a reply that is not JSON); it is named as such.
"""

from __future__ import annotations

import http.server
import threading
import time

import httpx
import jwt
import pytest

CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
SHA = "ab" * 32


@pytest.fixture
def identity(farmhand_core, tmp_path):
    return farmhand_core.Identity.load_or_create(tmp_path / "keys" / "worker.key")


@pytest.fixture
def other_identity(farmhand_core, tmp_path):
    return farmhand_core.Identity.load_or_create(tmp_path / "keys" / "other.key")


def create_job(coord, **fields) -> int:
    """POST /api/v1/jobs (dev mode: no admin token) -> the new job's id."""
    body = {"asset_cid": CID, "frames": [1, 2], "reward": "1.50", **fields}
    r = httpx.post(coord.url + "/api/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def job_state(coord, job_id) -> dict:
    return httpx.get(f"{coord.url}/api/v1/jobs/{job_id}").json()


def test_authenticates_with_a_token_for_its_address(farmhand_core, coordinator, identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    client.ensure_authenticated()
    headers = client.get_headers()
    assert list(headers) == ["Authorization"]
    scheme, token = headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    secret = coordinator.db_path.with_name(coordinator.db_path.name + ".jwt-secret")
    claims = jwt.decode(token, secret.read_text().strip().encode(), algorithms=["HS256"])
    assert claims["sub"] == identity.address
    assert 3600 <= claims["exp"] - claims["iat"] <= 3601  # exp is rounded up to a second
    assert client.get_headers() == headers  # reused while valid
    assert farmhand_core.AUTH_RETRY_SECONDS == 5


def test_reauthenticates_after_the_token_expires(farmhand_core, coordinator_factory, identity):
    coord = coordinator_factory("--token-ttl-seconds", "2")
    client = farmhand_core.BackendClient(coord.url, identity)
    first = client.get_headers()
    assert client.get_headers() == first
    time.sleep(2.5)
    assert client.available() == []  # no 401: refreshed before use
    assert client.get_headers() != first


def test_reauthenticates_once_after_a_401(farmhand_core, coordinator_factory, identity, tmp_path):
    coord = coordinator_factory()
    client = farmhand_core.BackendClient(coord.url, identity)
    old = client.get_headers()
    job_id = create_job(coord)
    coord.stop()
    # Same database and port, new JWT secret: the old (unexpired) token now answers 401.
    secret = tmp_path / "other.jwt-secret"
    secret.write_text("9" * 64 + "\n")
    secret.chmod(0o600)
    from localfarm import Coordinator
    with Coordinator.start(coord.db_path, "--jwt-secret-file", str(secret), port=coord.port):
        r = httpx.get(coord.url + "/api/v1/jobs/available", headers=old)
        assert r.status_code == 401
        offers = client.available()
        assert [o.id for o in offers] == [str(job_id)]
        assert client.get_headers() != old


def test_available_maps_each_offer(farmhand_core, coordinator, identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    assert client.available() == []
    a = create_job(coordinator, frames=[3, 1, 2], output_format="JPEG", reward="0.25")
    b = create_job(coordinator, frames=[])
    offers = sorted(client.available(), key=lambda o: int(o.id))  # offered in random order
    assert [(o.id, o.asset_cid, o.reward, o.frames, o.output_format) for o in offers] == [
        (str(a), CID, "0.25", [3, 1, 2], "JPEG"),
        (str(b), CID, "1.50", [], "PNG"),
    ]
    assert repr(offers[0]).startswith(f"<JobOffer id={a} asset_cid={CID}")


def test_long_poll_returns_as_soon_as_a_job_appears(farmhand_core, coordinator, identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    client.ensure_authenticated()
    timer = threading.Timer(1.0, create_job, args=(coordinator,))
    timer.start()
    t0 = time.monotonic()
    offers = client.available(wait_s=10)
    took = time.monotonic() - t0
    timer.join()
    assert len(offers) == 1
    assert 0.9 <= took < 5.0


def test_long_poll_without_jobs_returns_empty_after_wait(farmhand_core, coordinator, identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    client.ensure_authenticated()
    t0 = time.monotonic()
    assert client.available(wait_s=2) == []
    assert 1.9 <= time.monotonic() - t0 < 5.0


def test_long_poll_releases_the_gil(farmhand_core, coordinator, identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    client.ensure_authenticated()
    done = threading.Event()
    poller = threading.Thread(target=lambda: (client.available(wait_s=2), done.set()))
    poller.start()
    spins = 0
    while not done.is_set():
        spins += 1
        time.sleep(0.001)
    poller.join()
    assert spins > 100  # the main thread ran ~2 s while the poll waited


def test_assign_heartbeat_complete(farmhand_core, coordinator, identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    job_id = create_job(coordinator)
    lease = client.assign(str(job_id))
    assert lease.endswith("Z")
    assert job_state(coordinator, job_id)["worker_address"] == identity.address
    assert client.assign(job_id) is not None  # the holder assigning again keeps the lease
    new_lease = client.heartbeat(job_id, 0.5, "rendering frame 1/2")
    assert new_lease >= lease
    state = job_state(coordinator, job_id)
    assert (state["progress"], state["progress_message"]) == (0.5, "rendering frame 1/2")
    client.complete(job_id, CID, SHA, 12.5, [1, 2])
    state = job_state(coordinator, job_id)
    assert (state["status"], state["result_cid"], state["sha256"], state["render_seconds"]) == (
        "completed", CID, SHA, 12.5)
    client.complete(job_id, CID, SHA, 12.5, [1, 2])  # a retried submission is idempotent


def test_assign_of_a_job_held_by_another_worker_is_none(farmhand_core, coordinator, identity,
                                                       other_identity):
    mine = farmhand_core.BackendClient(coordinator.url, identity)
    theirs = farmhand_core.BackendClient(coordinator.url, other_identity)
    job_id = create_job(coordinator)
    assert theirs.assign(job_id) is not None
    assert mine.assign(job_id) is None
    theirs.complete(job_id, CID, SHA, 1.0, [1, 2])
    assert mine.assign(job_id) is None  # completed: not pending any more


def test_heartbeat_and_complete_on_a_lost_lease_raise_lease_lost(farmhand_core,
                                                                  coordinator_factory, identity):
    coord = coordinator_factory("--lease-seconds", "1")
    client = farmhand_core.BackendClient(coord.url, identity)
    job_id = create_job(coord)
    assert client.assign(job_id) is not None
    time.sleep(1.6)
    with pytest.raises(farmhand_core.LeaseLost) as err:
        client.heartbeat(job_id, 0.9, "late")
    assert err.value.http_status == 409
    assert isinstance(err.value, farmhand_core.BackendError)
    with pytest.raises(farmhand_core.LeaseLost, match="lease_lost"):
        client.complete(job_id, CID, SHA, 3.0, [1, 2])
    assert job_state(coord, job_id)["status"] == "pending"


def test_complete_of_a_job_completed_by_another_worker_raises_lease_lost(
        farmhand_core, coordinator, identity, other_identity):
    mine = farmhand_core.BackendClient(coordinator.url, identity)
    theirs = farmhand_core.BackendClient(coordinator.url, other_identity)
    job_id = create_job(coordinator)
    theirs.assign(job_id)
    theirs.complete(job_id, CID, SHA, 1.0, [1, 2])
    with pytest.raises(farmhand_core.LeaseLost):
        mine.complete(job_id, CID, SHA, 1.0, [1, 2])
    with pytest.raises(farmhand_core.LeaseLost):
        mine.heartbeat(job_id, 0.1, "")


def test_fail_retryable_requeues_and_not_retryable_fails_the_job(farmhand_core, coordinator,
                                                                 identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    job_id = create_job(coordinator)
    client.assign(job_id)
    client.fail(job_id, "GPU out of memory", True, "line 1\nline 2")
    state = job_state(coordinator, job_id)
    assert (state["status"], state["attempts"], state["error"], state["log_tail"]) == (
        "pending", 1, "GPU out of memory", "line 1\nline 2")
    client.assign(job_id)
    client.fail(job_id, "not a .blend file", retryable=False)
    assert job_state(coordinator, job_id)["status"] == "failed"
    with pytest.raises(farmhand_core.LeaseLost):
        client.fail(job_id, "again", True, "")


def test_release_returns_the_job_without_counting_an_attempt(farmhand_core, coordinator,
                                                             identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    job_id = create_job(coordinator)
    client.assign(job_id)
    client.release(job_id, "worker shutting down")
    state = job_state(coordinator, job_id)
    assert (state["status"], state["attempts"]) == ("pending", 0)
    with pytest.raises(farmhand_core.LeaseLost):
        client.release(job_id, "twice")


def test_unknown_job_is_http_status_error_404(farmhand_core, coordinator, identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    with pytest.raises(farmhand_core.HttpStatusError, match="job_not_found") as err:
        client.heartbeat(999999, 0.0, "")
    assert err.value.http_status == 404
    assert err.value.kind == "http_status"


def test_unreachable_backend_is_network_error(farmhand_core, coordinator, identity):
    url = coordinator.url
    coordinator.stop()
    client = farmhand_core.BackendClient(url, identity)
    with pytest.raises(farmhand_core.NetworkError, match="127.0.0.1"):
        client.ensure_authenticated()


def test_bad_arguments_are_invalid_argument(farmhand_core, identity):
    with pytest.raises(farmhand_core.InvalidArgument):
        farmhand_core.BackendClient("ftp://127.0.0.1:1", identity)
    client = farmhand_core.BackendClient("http://127.0.0.1:1", identity)
    with pytest.raises(ValueError):
        client.assign(0)
    with pytest.raises(ValueError):
        client.available(wait_s=-1)


class StubNotJsonHandler(http.server.BaseHTTPRequestHandler):
    """Stub: answers every request 200 with an HTML page (a misconfigured backend URL)."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = b"<html>welcome to nginx</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_stub_non_json_reply_is_malformed_response(farmhand_core, identity):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubNotJsonHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = farmhand_core.BackendClient(f"http://127.0.0.1:{server.server_port}", identity)
        with pytest.raises(farmhand_core.MalformedResponse, match="not valid JSON"):
            client.ensure_authenticated()
    finally:
        server.shutdown()
        server.server_close()


def test_stub_https_with_an_untrusted_certificate_is_refused(farmhand_core, identity, tmp_path):
    # TLS verification is always on: a self-signed certificate (not in the system CA store)
    # must fail the handshake, never be accepted silently.
    import ssl
    import subprocess
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubNotJsonHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = farmhand_core.BackendClient(f"https://127.0.0.1:{server.server_port}", identity)
        with pytest.raises(farmhand_core.NetworkError, match="certificate"):
            client.ensure_authenticated()
    finally:
        server.shutdown()
        server.server_close()
