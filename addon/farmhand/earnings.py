"""What the coordinator credits to this worker (``GET /api/v1/workers/me``, docs/protocol.md):
jobs completed, failed reports, reward total. Fetched off Blender's main thread.

The request runs in the core, on a C++ thread of its own
(``BackendClient.worker_me_in_background()``: signed in by challenge + Ed25519 signature, TLS
verified, the reply capped at MAX_REPLY_BYTES), never on a Python thread: Blender 3.x/4.x can
crash when a Python thread runs while the GUI worker calls an operator under a context
override (docs/addon.md). Blender's main thread starts a fetch and takes its reply
(:meth:`Earnings.poll`, from the sharing timer). Every value of the reply is checked (a
coordinator is hostile input): an unexpected reply is an error in words, never a crash or a
number shown wrongly.
"""

from __future__ import annotations

import json
import re
import time

from .log import log

_REWARD = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,8})?$")
MAX_REPLY_BYTES = 64 * 1024
REFRESH_S = 60.0


class Earnings:
    """``fetch_soon()`` starts one fetch (at most one at a time); ``poll()`` takes its reply
    once it has ended. ``numbers`` is the last good reply ``{"jobs_completed",
    "jobs_failed", "reward_total"}`` or None; ``error`` says why the last fetch failed (''
    after a success). Every method runs on Blender's main thread and returns at once."""

    def __init__(self, backend_url: str, key_file: str):
        self.backend_url = backend_url.rstrip("/")
        self.key_file = key_file
        self.numbers = None
        self.error = ""
        self.fetched_at = 0.0
        self._call = None     # the core's BackgroundCall of the fetch in flight
        self._again = False   # asked again meanwhile: fetch once more when it ends
        self._client = None

    def due(self) -> bool:
        return time.monotonic() - self.fetched_at > REFRESH_S

    def fetching(self) -> bool:
        return self._call is not None

    def fetch_soon(self) -> None:
        """Start a fetch; while one is in flight, another once it ends (a job handed in
        meanwhile is counted). A key file the core refuses is an error in words at once."""
        if self._call is not None:
            self._again = True
            return
        self._again = False
        self.fetched_at = time.monotonic()
        try:
            if self._client is None:
                from .core_loader import load_core

                core = load_core()
                self._client = core.BackendClient(self.backend_url,
                                                  core.Identity.load_or_create(self.key_file))
            self._call = self._client.worker_me_in_background(MAX_REPLY_BYTES)
        except Exception as exc:  # shown in the panel; the next refresh tries again
            self._failed(exc)

    def poll(self) -> bool:
        """Take the reply of a fetch that has ended; True when ``numbers``/``error`` were
        updated (the panel needs a redraw), False while none ended."""
        call = self._call
        if call is None or not call.done:
            return False
        self._call = None
        try:
            self.numbers = parse(call.result())
            self.error = ""
        except Exception as exc:  # the core's error (HTTP, network, too long) or parse's
            self._failed(exc)
        if self._again:
            self.fetch_soon()
        return True

    def _failed(self, exc: Exception) -> None:
        self.error = f"reward unknown: {exc}"
        log.info("workers/me: %s", exc)


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
