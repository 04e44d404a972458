"""farmhand_core.BackgroundCall: a core call on a C++ thread that never runs Python
(docs/addon.md, "No operator under a context override while another thread runs Python").

Made by ``BackendClient.worker_me_in_background()`` (the add-on's reward fetch, against the
real coordinator) and ``Engine.stop_in_background()`` (a paused GUI worker's engine stop).
A stub HTTP server appears only where the real coordinator cannot produce the fault (a
reply held back, an oversized reply, a backend without the endpoint); it is named as such.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))

from farmhand.earnings import MAX_REPLY_BYTES, parse  # noqa: E402

CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
SHA = "ab" * 32


@pytest.fixture
def identity(farmhand_core, tmp_path):
    return farmhand_core.Identity.load_or_create(tmp_path / "keys" / "worker.key")


def test_the_reward_fetch_runs_on_no_python_thread_and_gives_the_real_numbers(
        farmhand_core, coordinator, identity):
    client = farmhand_core.BackendClient(coordinator.url, identity)
    for reward in ("1.25", "0.5"):
        job = httpx.post(coordinator.url + "/api/v1/jobs",
                         json={"asset_cid": CID, "frames": [1], "reward": reward}).json()["id"]
        assert client.assign(job) is not None
        client.complete(job, CID, SHA, 1.0, [1])
    python_threads = threading.active_count()
    call = client.worker_me_in_background(MAX_REPLY_BYTES)
    assert threading.active_count() == python_threads    # no Python thread was started
    assert call.wait(20) and call.done
    assert parse(call.result()) == {"jobs_completed": 2, "jobs_failed": 0,
                                    "reward_total": "1.75"}
    assert threading.active_count() == python_threads


def test_an_unreachable_coordinator_is_raised_by_result(farmhand_core, coordinator, identity):
    url = coordinator.url
    coordinator.stop()
    call = farmhand_core.BackendClient(url, identity).worker_me_in_background()
    assert call.wait(60)
    with pytest.raises(farmhand_core.NetworkError, match="127.0.0.1"):
        call.result()
    with pytest.raises(farmhand_core.NetworkError):   # the same error each time it is asked
        call.result()


# a token of the JWT shape (header.payload.signature) the core expects; never verified here
STUB_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdHViIn0.c3R1Yg"


class StubMeHandler(http.server.BaseHTTPRequestHandler):
    """Stub: a backend that signs any worker in (no signature check) and then answers
    /api/v1/workers/me as the test's ``mode`` says -- "hold": not until the client goes
    away or 20 s passed; "huge": 200 with a 100 KiB body; "missing": 404 Not Found;
    "signin_busy": every challenge 503 after 1 s (the client retries it with backoff)."""

    mode = "hold"
    disconnected = threading.Event()
    challenges: list = []

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/api/v1/auth/challenge" and self.mode == "signin_busy":
            self.challenges.append(time.monotonic())
            time.sleep(1.0)
            self._send(503, b'{"detail": "busy"}')
        elif self.path == "/api/v1/auth/challenge":
            self._send(200, json.dumps({"challenge": "stub-challenge"}).encode())
        else:
            self._send(200, json.dumps({"access_token": STUB_JWT, "expires_in": 3600}).encode())

    def do_GET(self):  # noqa: N802
        if self.mode == "huge":
            self._send(200, b'{"pad": "' + b"x" * 100_000 + b'"}')
        elif self.mode == "missing":
            self._send(404, b'{"detail": "Not Found"}')
        else:
            self.connection.settimeout(20)
            try:
                if self.connection.recv(1) == b"":       # the client closed the connection
                    self.disconnected.set()
            except OSError:
                pass

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_backend():
    servers = []

    def start(mode: str) -> str:
        handler = type("Handler", (StubMeHandler,), {"mode": mode, "challenges": [],
                                                     "disconnected": threading.Event()})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, handler))
        return f"http://127.0.0.1:{server.server_port}", handler

    yield start
    for server, _ in servers:
        server.shutdown()
        server.server_close()


def test_the_call_returns_at_once_and_dropping_it_cancels_the_request(
        farmhand_core, identity, stub_backend):
    url, handler = stub_backend("hold")
    call = farmhand_core.BackendClient(url, identity).worker_me_in_background()
    assert not call.wait(0.5) and not call.done          # the stub holds the reply back
    started = time.monotonic()
    del call                                            # Blender quits, sharing restarts
    dropped_in = time.monotonic() - started
    assert handler.disconnected.wait(10)                # the request was cancelled ...
    assert dropped_in < 5                               # ... without waiting for it (20 s)


def test_dropping_the_call_during_the_sign_in_stops_its_retries(farmhand_core, identity,
                                                                stub_backend):
    url, handler = stub_backend("signin_busy")
    call = farmhand_core.BackendClient(url, identity).worker_me_in_background()
    assert not call.wait(0.5)                          # the first challenge is in flight
    del call
    time.sleep(6)          # the client's backoff would have sent 3 more challenges by now
    assert len(handler.challenges) == 1, handler.challenges


def test_an_oversized_reply_is_refused(farmhand_core, identity, stub_backend):
    url, _ = stub_backend("huge")
    call = farmhand_core.BackendClient(url, identity).worker_me_in_background(MAX_REPLY_BYTES)
    assert call.wait(20)
    with pytest.raises(farmhand_core.MalformedResponse, match=str(MAX_REPLY_BYTES)):
        call.result()


def test_a_backend_without_the_endpoint_is_not_supported(farmhand_core, identity,
                                                         stub_backend):
    url, _ = stub_backend("missing")
    call = farmhand_core.BackendClient(url, identity).worker_me_in_background()
    assert call.wait(20)
    with pytest.raises(farmhand_core.NotSupported, match="workers/me"):
        call.result()


def test_the_engine_stops_on_a_core_thread(farmhand_core, coordinator, tmp_path):
    engine = farmhand_core.Engine({"backend_url": coordinator.url,
                                   "key_file": str(tmp_path / "keys" / "worker.key"),
                                   "work_dir": str(tmp_path / "work"), "blender_version": 304})
    engine.start()
    python_threads = threading.active_count()
    call = engine.stop_in_background(graceful=True, timeout_s=10)
    assert threading.active_count() == python_threads
    del engine                        # the call keeps the engine alive while it stops it
    assert call.wait(float("inf")) and call.done      # inf: no limit (not an overflow)
    assert call.result() == b""


def _poll_until_taken(earnings, timeout_s: float = 20) -> bool:
    """Blender's timer, in short: poll() until it takes a reply."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if earnings.poll():
            return True
        time.sleep(0.02)
    return False


def test_the_add_ons_earnings_take_the_reply_on_the_polling_thread(
        farmhand_core, coordinator, tmp_path):
    from farmhand.earnings import Earnings

    key = tmp_path / "keys" / "worker.key"
    client = farmhand_core.BackendClient(coordinator.url,
                                         farmhand_core.Identity.load_or_create(key))
    job = httpx.post(coordinator.url + "/api/v1/jobs",
                     json={"asset_cid": CID, "frames": [1], "reward": "3"}).json()["id"]
    client.assign(job)
    client.fail(job, "out of memory", retryable=True)
    earnings = Earnings(coordinator.url + "/", str(key))
    assert not earnings.poll()                       # nothing asked yet
    earnings.fetch_soon()
    assert earnings.fetching()
    earnings.fetch_soon()          # one at a time: this one starts when the first ended
    assert _poll_until_taken(earnings) and earnings.fetching()
    assert _poll_until_taken(earnings) and not earnings.fetching()
    assert (earnings.numbers, earnings.error) == (
        {"jobs_completed": 0, "jobs_failed": 1, "reward_total": "0"}, "")

    coordinator.stop()                               # the next refresh fails, in words
    earnings.fetch_soon()
    assert _poll_until_taken(earnings, 60)
    assert earnings.error.startswith("reward unknown: ") and "127.0.0.1" in earnings.error
    assert earnings.numbers["jobs_failed"] == 1      # the last good numbers stay


def test_a_key_file_the_core_refuses_is_an_error_in_words_at_once(farmhand_core, tmp_path):
    from farmhand.earnings import Earnings

    (tmp_path / "key-is-a-dir").mkdir()
    earnings = Earnings("http://127.0.0.1:9", str(tmp_path / "key-is-a-dir"))
    earnings.fetch_soon()
    assert not earnings.fetching() and earnings.numbers is None
    assert earnings.error.startswith("reward unknown: ") and "key-is-a-dir" in earnings.error
