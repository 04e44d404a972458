"""Wake-ups for long-polls and the SSE stream when the job table changes.

Used only on the event loop's thread: take ``current()`` *before* reading the database, then
await it; a ``notify()`` in between sets that very event, so no change is missed.
"""

from __future__ import annotations

import asyncio


class Notifier:
    def __init__(self):
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        """The event the next notify() will set."""
        return self._event

    def notify(self) -> None:
        """Wake everyone waiting on current(); later waiters get a fresh event."""
        self._event.set()
        self._event = asyncio.Event()

    @staticmethod
    async def wait(event: asyncio.Event, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True if notified."""
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False
