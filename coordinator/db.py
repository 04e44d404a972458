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

from .config import ConfigError

SCHEMA_VERSION = 2   # PRAGMA user_version; 1 (or 0 with tables) = the one-table schema before tasks

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (                -- a creator's job (protocol.md "Jobs and tasks")
    id               INTEGER PRIMARY KEY,         -- = id of its first task (one id space)
    asset_cid        TEXT    NOT NULL,
    reward           TEXT    NOT NULL,
    frames           TEXT    NOT NULL,            -- JSON list of ints
    output_format    TEXT    NOT NULL,
    max_attempts     INTEGER NOT NULL,            -- per task
    chunk_size       INTEGER NOT NULL DEFAULT 0,  -- 0 = one task
    creator          TEXT    NOT NULL DEFAULT 'operator',
    resolution       TEXT,                        -- JSON [w, h] or NULL (set by the first frame)
    blender_version  INTEGER,                     -- from the .blend header, e.g. 304
    compression      TEXT,
    priority         INTEGER NOT NULL DEFAULT 0,  -- 0..100 (protocol.md "Priorities")
    status           TEXT    NOT NULL CHECK (status IN
                         ('pending','assigned','completed','failed','cancelled')),
    result_cid       TEXT,
    error            TEXT,
    cancelled_at     REAL,
    created_at       REAL    NOT NULL,
    updated_at       REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, creator);
CREATE TABLE IF NOT EXISTS tasks (               -- what a worker claims (a "job" to the worker)
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id           INTEGER NOT NULL REFERENCES jobs (id) DEFERRABLE INITIALLY DEFERRED,
    kind             TEXT    NOT NULL DEFAULT 'task' CHECK (kind IN ('task','verify')),
    verifies         INTEGER REFERENCES tasks (id),   -- kind 'verify': the task re-rendered
    verdict          TEXT,                        -- NULL|verified|disputed|won|lost
    reward           TEXT    NOT NULL,
    frames           TEXT    NOT NULL,            -- JSON list of ints
    status           TEXT    NOT NULL CHECK (status IN
                         ('pending','assigned','completed','failed','cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    worker_address   TEXT,
    worker_blender   TEXT,                        -- what the assignee said when it took it
    worker_device    TEXT,
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
    error_code       TEXT,                        -- the last /fail's code (protocol.md)
    created_at       REAL    NOT NULL,
    updated_at       REAL    NOT NULL,
    CHECK ((status = 'assigned') = (lease_expires_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, pending_since);
CREATE INDEX IF NOT EXISTS tasks_job ON tasks (job_id, id);
CREATE INDEX IF NOT EXISTS tasks_verifies ON tasks (verifies);
CREATE TABLE IF NOT EXISTS leases (            -- who held which task, ever
    job_id         INTEGER NOT NULL REFERENCES tasks (id),   -- the task id
    worker_address TEXT    NOT NULL,
    started_at     REAL    NOT NULL,
    PRIMARY KEY (job_id, worker_address, started_at)
);
CREATE TABLE IF NOT EXISTS events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id         INTEGER NOT NULL,              -- the creator's job
    task_id        INTEGER,                       -- NULL for a job's own events
    type           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    worker_address TEXT,
    detail         TEXT    NOT NULL DEFAULT '',
    created_at     REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, id);
CREATE INDEX IF NOT EXISTS events_task ON events (task_id, id);
CREATE TABLE IF NOT EXISTS challenges (
    challenge   TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    expires_at  REAL NOT NULL,
    used_at     REAL
);
CREATE TABLE IF NOT EXISTS workers (
    address         TEXT PRIMARY KEY,
    first_seen      REAL NOT NULL,
    last_seen       REAL NOT NULL,
    blender_version TEXT,                         -- as the worker said it, e.g. "3.4.1"
    blender_num     INTEGER,                      -- major*100 + minor, e.g. 304
    device          TEXT,
    completed       INTEGER NOT NULL DEFAULT 0,
    verified        INTEGER NOT NULL DEFAULT 0,
    disputed        INTEGER NOT NULL DEFAULT 0,
    rejected        INTEGER NOT NULL DEFAULT 0,
    flags           INTEGER NOT NULL DEFAULT 0,
    crashes         INTEGER NOT NULL DEFAULT 0,
    blocked         INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS worker_jobs (         -- a worker's record on one job (blocklists)
    worker_address TEXT    NOT NULL,
    job_id         INTEGER NOT NULL,
    failures       INTEGER NOT NULL DEFAULT 0,
    crashes        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (worker_address, job_id)
);
"""


class SchemaError(ConfigError):
    """The database file was made by another schema version; the message says what to do."""


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
            self._check_version()
            self._conn.executescript(SCHEMA)
            self._add_missing_columns()
            self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # Columns added to a schema version after databases of it may exist: (table, column, type).
    ADDED_COLUMNS = (("tasks", "error_code", "TEXT"),
                     ("jobs", "priority", "INTEGER NOT NULL DEFAULT 0"))

    def _add_missing_columns(self) -> None:
        for table, column, sql_type in self.ADDED_COLUMNS:
            have = {r["name"] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")

    def _check_version(self) -> None:
        """Refuse a database of an older schema (jobs without tasks) instead of failing later."""
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        has_jobs = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='jobs'").fetchone()
        has_tasks = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='tasks'").fetchone()
        if (has_jobs and not has_tasks) or version > SCHEMA_VERSION:
            self._conn.close()
            raise SchemaError(f"{self.path} holds schema version {version}, this coordinator "
                              f"uses {SCHEMA_VERSION}: start it on a new --db file (the old one "
                              "keeps its jobs for reading with an older coordinator)")

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
