"""Timestamps: stored as Unix seconds (float), shown as ISO 8601 UTC with milliseconds."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def now() -> float:
    """Current wall-clock time in Unix seconds."""
    return time.time()


def iso(ts: float | None) -> str | None:
    """Unix seconds -> ``"2026-11-29T14:40:05.123Z"`` (None stays None)."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
