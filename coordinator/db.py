"""The SQLite database: schema, connection settings, one transaction at a time.

WAL journal, synchronous=FULL, foreign keys on. Every state change runs inside
``Database.transaction()`` (BEGIN IMMEDIATE ... COMMIT), so a ``kill -9`` at any moment
leaves either the whole change or none of it. All access is serialised by one lock; callers
in the event loop run these blocking calls in a worker thread (anyio.to_thread).
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_cid        TEXT    NOT NULL,
    reward           TEXT    NOT NULL,
    frames           TEXT    NOT NULL,            -- JSON list of ints
    output_format    TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending','assigned','completed','failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    worker_address   TEXT,
    lease_expires_at REAL,                        -- Unix seconds
    assigned_at      REAL,
    pending_since    REAL,                        -- when it last became pending
    progress         REAL,
    progress_message TEXT,
    result_cid       TEXT,
    sha256           TEXT,
    render_seconds   REAL,
    result_frames    TEXT,                        -- JSON list of ints
    error            TEXT,
    log_tail         TEXT,
    created_at       REAL    NOT NULL,
    updated_at       REAL    NOT NULL,
    CHECK ((status = 'assigned') = (lease_expires_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, pending_since);
CREATE TABLE IF NOT EXISTS leases (            -- who held which job, ever
    job_id         INTEGER NOT NULL REFERENCES jobs (id),
    worker_address TEXT    NOT NULL,
    started_at     REAL    NOT NULL,
    PRIMARY KEY (job_id, worker_address, started_at)
);
CREATE TABLE IF NOT EXISTS events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id         INTEGER NOT NULL REFERENCES jobs (id),
    type           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    worker_address TEXT,
    detail         TEXT    NOT NULL DEFAULT '',
    created_at     REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, id);
CREATE TABLE IF NOT EXISTS challenges (
    challenge   TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    expires_at  REAL NOT NULL,
    used_at     REAL
);
CREATE TABLE IF NOT EXISTS workers (
    address    TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,
    last_seen  REAL NOT NULL
);
"""


class Database:
    """One SQLite connection shared by all threads under a lock.

    ``path``: the database file (created with its schema if missing).
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                     timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self._conn.executescript(SCHEMA)

    @contextmanager
    def transaction(self, keep_on: tuple[type[BaseException], ...] = ()
                    ) -> Iterator[sqlite3.Connection]:
        """``with db.transaction() as conn:`` -- BEGIN IMMEDIATE, COMMIT on success,
        ROLLBACK on any exception (which is re-raised). Exceptions of a type in ``keep_on``
        COMMIT what was written before them (used for refusals raised after a lazy
        lease-expiry pass, which must not be undone), then propagate."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except keep_on:
                self._conn.execute("COMMIT")
                raise
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """``with db.reader() as conn:`` -- a consistent read (no writes)."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()
