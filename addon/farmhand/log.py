"""Logging for the add-on: one logger, ``farmhand``, one line per state change."""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "farmhand"
log = logging.getLogger(LOGGER_NAME)

_FORMAT = "%(asctime)s farmhand %(levelname)s %(message)s"


def setup_stream_logging(level: int = logging.INFO) -> None:
    """Send the add-on's log lines to stderr (headless mode); idempotent."""
    if any(getattr(h, "_farmhand", False) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler._farmhand = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


class TailBuffer(logging.Handler):
    """Keeps the last ``max_lines`` formatted log lines, for a job's ``log_tail``."""

    def __init__(self, max_lines: int = 200):
        super().__init__()
        self.max_lines = max_lines
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter(_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        del self.lines[:-self.max_lines]

    def text(self) -> str:
        return "\n".join(self.lines)
