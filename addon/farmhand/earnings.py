"""What the coordinator credits to this worker (``GET /api/v1/workers/me``, docs/protocol.md):
jobs completed, failed reports, reward total. Fetched off Blender's main thread.

The request is signed in through the core (``BackendClient.get_headers()``: challenge +
Ed25519 signature, token cached by the core); the HTTP GET itself is Python's urllib (TLS
verified by default). Every value of the reply is checked (a coordinator is hostile input):
an unexpected reply is an error in words, never a crash or a number shown wrongly.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request

from .log import log

_REWARD = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,8})?$")
MAX_REPLY_BYTES = 64 * 1024
REFRESH_S = 60.0


class Earnings:
    """``fetch_soon()`` starts one background fetch (at most one at a time); ``numbers`` is
    the last good reply ``{"jobs_completed", "jobs_failed", "reward_total"}`` or None;
    ``error`` says why the last fetch failed ('' after a success)."""

    def __init__(self, backend_url: str, key_file: str):
        self.backend_url = backend_url.rstrip("/")
        self.key_file = key_file
        self.numbers = None
        self.error = ""
        self.fetched_at = 0.0
        self._thread = None
        self._client = None

    def due(self) -> bool:
        return time.monotonic() - self.fetched_at > REFRESH_S

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds for a fetch in progress to end; True when none
        runs. The GUI worker waits so before an operator with a context override: Blender
        3.x/4.x can crash when another thread runs Python meanwhile
        (farm_render.remove_scene)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout_s)
            return not thread.is_alive()
        return True

    def fetch_soon(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self.fetched_at = time.monotonic()
        self._thread = threading.Thread(target=self._fetch, name="farmhand-earnings",
                                        daemon=True)
        self._thread.start()

    def _fetch(self) -> None:
        try:
            self.numbers = parse(self._get())
            self.error = ""
        except Exception as exc:  # shown in the panel; the next refresh tries again
            self.error = f"reward unknown: {exc}"
            log.info("workers/me: %s", exc)

    def _get(self) -> bytes:
        from .core_loader import load_core

        core = load_core()
        if self._client is None:
            self._client = core.BackendClient(self.backend_url,
                                              core.Identity.load_or_create(self.key_file))
        headers = self._client.get_headers()
        request = urllib.request.Request(self.backend_url + "/api/v1/workers/me",
                                         headers=dict(headers))
        try:
            with urllib.request.urlopen(request, timeout=15) as reply:
                return reply.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise ValueError(f"the coordinator answered HTTP {exc.code}") from None


def parse(body: bytes) -> dict:
    """Check a ``/workers/me`` reply; returns the three numbers. Raises ValueError naming
    what was wrong."""
    if len(body) > MAX_REPLY_BYTES:
        raise ValueError(f"reply larger than {MAX_REPLY_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("reply is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("reply is not a JSON object")
    out = {}
    for key in ("jobs_completed", "jobs_failed"):
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2 ** 53:
            raise ValueError(f"{key} is {value!r}, expected a count")
        out[key] = value
    reward = data.get("reward_total")
    if not isinstance(reward, str) or not _REWARD.match(reward):
        raise ValueError(f"reward_total is {str(reward)[:40]!r}, expected a decimal string")
    out["reward_total"] = reward
    return out
