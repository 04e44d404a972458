"""Job state transitions over the database (docs/protocol.md "Job states", "Leases").

Every public method is blocking (call it from a worker thread), runs in one transaction, and
first returns expired leases to pending (the lazy expiry check), so an expired lease is never
honoured. Violations raise ``ApiError`` with the protocol's status and code.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
from dataclasses import dataclass

from .db import Database
from .errors import ApiError
from .timefmt import iso, now

log = logging.getLogger("coordinator")
OFFER_WINDOW = 8  # available(): offers are drawn from the oldest OFFER_WINDOW * limit jobs
_random = random.SystemRandom()


def job_json(row: sqlite3.Row) -> dict:
    """A jobs row -> the protocol's job object."""
    return {
        "id": row["id"],
        "asset_cid": row["asset_cid"],
        "reward": row["reward"],
        "frames": json.loads(row["frames"]),
        "output_format": row["output_format"],
        "status": row["status"],
        "attempts": row["attempts"],
        "max_attempts": row["max_attempts"],
        "worker_address": row["worker_address"],
        "lease_expires_at": iso(row["lease_expires_at"]),
        "progress": row["progress"],
        "progress_message": row["progress_message"],
        "result_cid": row["result_cid"],
        "sha256": row["sha256"],
        "render_seconds": row["render_seconds"],
        "result_frames": json.loads(row["result_frames"]) if row["result_frames"] else None,
        "error": row["error"],
        "log_tail": row["log_tail"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def event_json(row: sqlite3.Row) -> dict:
    """An events row -> the protocol's event object."""
    return {"id": row["id"], "job_id": row["job_id"], "type": row["type"],
            "status": row["status"], "worker_address": row["worker_address"],
            "detail": row["detail"], "created_at": iso(row["created_at"])}


@dataclass
class Assignment:
    """Result of a successful assign."""
    job: dict
    lease_expires_at: float
    already_held: bool
    claim_latency: float | None  # seconds the job waited in pending; None on a re-assign


class JobStore:
    """Jobs, leases and events. ``lease_seconds``: lease length granted by assign/heartbeat."""

    def __init__(self, db: Database, lease_seconds: float):
        self.db = db
        self.lease_seconds = lease_seconds
        self.changes = 0          # bumped by every committed state change (for notifiers)
        self.lease_expiries = 0   # since start (metrics)

    # -- helpers (inside a transaction) -------------------------------------------------

    def _tx(self):
        """A transaction in which ApiError (a refusal, raised before the method's own writes)
        still commits the lazy lease-expiry pass done at its start."""
        return self.db.transaction(keep_on=(ApiError,))

    def _event(self, conn, job_id: int, type_: str, status: str, worker: str | None,
               detail: str, ts: float) -> None:
        conn.execute("INSERT INTO events (job_id, type, status, worker_address, detail, "
                     "created_at) VALUES (?,?,?,?,?,?)",
                     (job_id, type_, status, worker, detail, ts))
        self.changes += 1

    def _job(self, conn, job_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise ApiError(404, "job_not_found", f"there is no job {job_id}")
        return row

    def _expire(self, conn, ts: float) -> list[int]:
        rows = conn.execute("SELECT * FROM jobs WHERE status = 'assigned' AND "
                            "lease_expires_at <= ?", (ts,)).fetchall()
        for row in rows:
            attempts = row["attempts"] + 1
            status = "failed" if attempts >= row["max_attempts"] else "pending"
            why = (f"lease of {row['worker_address']} expired at "
                   f"{iso(row['lease_expires_at'])} without a heartbeat")
            conn.execute("UPDATE jobs SET status=?, attempts=?, worker_address=NULL, "
                         "lease_expires_at=NULL, assigned_at=NULL, pending_since=?, error=?, "
                         "updated_at=? WHERE id=?",
                         (status, attempts, ts if status == "pending" else None, why, ts,
                          row["id"]))
            self._event(conn, row["id"], "lease_expired", status, row["worker_address"], why, ts)
            self.lease_expiries += 1
            log.info("job %d: lease of %s expired -> %s (attempt %d/%d)", row["id"],
                     row["worker_address"], status, attempts, row["max_attempts"])
        return [r["id"] for r in rows]

    def _require_lease(self, conn, row: sqlite3.Row, worker: str) -> None:
        if row["status"] == "assigned" and row["worker_address"] == worker:
            return
        held = conn.execute("SELECT 1 FROM leases WHERE job_id=? AND worker_address=?",
                            (row["id"], worker)).fetchone()
        if held:
            raise ApiError(409, "lease_lost",
                           f"job {row['id']} is no longer leased to {worker} (it is now "
                           f"{row['status']}); stop working on it and fetch new work",
                           status=row["status"])
        raise ApiError(409, "not_assignee",
                       f"job {row['id']} was never leased to {worker}; assign it first",
                       status=row["status"])

    # -- queries ------------------------------------------------------------------------

    def expire_leases(self) -> list[int]:
        """Return every expired lease's job to pending/failed; the ids affected."""
        with self._tx() as conn:
            return self._expire(conn, now())

    def get(self, job_id: int) -> dict:
        with self._tx() as conn:
            self._expire(conn, now())
            return job_json(self._job(conn, job_id))

    def list(self, status: str | None, limit: int) -> list[dict]:
        with self._tx() as conn:
            self._expire(conn, now())
            if status:
                rows = conn.execute("SELECT * FROM jobs WHERE status=? ORDER BY id DESC LIMIT ?",
                                    (status, limit)).fetchall()
            else:
                rows = conn.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?",
                                    (limit,)).fetchall()
            return [job_json(r) for r in rows]

    def available(self, limit: int) -> list[dict]:
        """Up to ``limit`` pending jobs drawn at random from the oldest ``OFFER_WINDOW *
        limit`` (by pending_since), in random order: each poll gets a different slice, so
        workers polling together rarely race for the same job (protocol.md)."""
        with self._tx() as conn:
            self._expire(conn, now())
            rows = conn.execute("SELECT * FROM jobs WHERE status='pending' "
                                "ORDER BY pending_since, id LIMIT ?",
                                (OFFER_WINDOW * limit,)).fetchall()
        picked = _random.sample(rows, min(limit, len(rows)))
        return [job_json(r) for r in picked]

    def extend_held_leases(self) -> int:
        """At start: every lease still held lasts at least lease_seconds from now (while the
        coordinator was down nobody could heartbeat or complete). Returns how many."""
        ts = now()
        with self.db.transaction() as conn:
            cur = conn.execute("UPDATE jobs SET lease_expires_at=?, updated_at=? "
                               "WHERE status='assigned' AND lease_expires_at < ?",
                               (ts + self.lease_seconds, ts, ts + self.lease_seconds))
            count = cur.rowcount
        if count:
            log.info("%d lease(s) held at start extended to %.0f s from now", count,
                     self.lease_seconds)
        return count

    def events(self, job_id: int) -> list[dict]:
        with self.db.reader() as conn:
            self._job(conn, job_id)
            rows = conn.execute("SELECT * FROM events WHERE job_id=? ORDER BY id",
                                (job_id,)).fetchall()
            return [event_json(r) for r in rows]

    def events_after(self, last_id: int, limit: int = 500) -> list[dict]:
        with self.db.reader() as conn:
            rows = conn.execute("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
                                (last_id, limit)).fetchall()
            return [event_json(r) for r in rows]

    def last_event_id(self) -> int:
        with self.db.reader() as conn:
            return conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def counts(self) -> dict[str, int]:
        """Jobs per status (every status present, 0 when none)."""
        with self.db.reader() as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        counts = {s: 0 for s in ("pending", "assigned", "completed", "failed")}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def workers_seen(self) -> int:
        with self.db.reader() as conn:
            return conn.execute("SELECT COUNT(*) FROM workers").fetchone()[0]

    # -- transitions --------------------------------------------------------------------

    def create(self, asset_cid: str, frames: list[int], output_format: str, reward: str,
               max_attempts: int) -> dict:
        ts = now()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO jobs (asset_cid, reward, frames, output_format, status, "
                "max_attempts, pending_since, created_at, updated_at) "
                "VALUES (?,?,?,?,'pending',?,?,?,?)",
                (asset_cid, reward, json.dumps(frames), output_format, max_attempts, ts, ts, ts))
            job_id = cur.lastrowid
            self._event(conn, job_id, "created", "pending", None,
                        f"asset {asset_cid}, {len(frames)} frame(s), {output_format}, "
                        f"reward {reward}", ts)
            row = self._job(conn, job_id)
        log.info("job %d: created (asset %s, frames %s, %s)", job_id, asset_cid, frames or
                 "current", output_format)
        return job_json(row)

    def assign(self, job_id: int, worker: str) -> Assignment:
        ts = now()
        lease = ts + self.lease_seconds
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._job(conn, job_id)
            if row["status"] == "assigned" and row["worker_address"] == worker:
                conn.execute("UPDATE jobs SET lease_expires_at=?, updated_at=? WHERE id=?",
                             (lease, ts, job_id))
                self.changes += 1
                return Assignment(job_json(self._job(conn, job_id)), lease, True, None)
            # The conditional UPDATE is the claim: only one transaction can move it off pending.
            cur = conn.execute(
                "UPDATE jobs SET status='assigned', worker_address=?, lease_expires_at=?, "
                "assigned_at=?, progress=NULL, progress_message=NULL, updated_at=? "
                "WHERE id=? AND status='pending'", (worker, lease, ts, ts, job_id))
            if cur.rowcount != 1:
                if row["status"] == "assigned":
                    raise ApiError(409, "already_assigned",
                                   f"job {job_id} is leased to another worker; pick another job",
                                   worker_address=row["worker_address"])
                raise ApiError(409, "not_pending",
                               f"job {job_id} is {row['status']} and cannot be assigned",
                               status=row["status"])
            conn.execute("INSERT OR IGNORE INTO leases (job_id, worker_address, started_at) "
                         "VALUES (?,?,?)", (job_id, worker, ts))
            latency = ts - row["pending_since"] if row["pending_since"] else None
            self._event(conn, job_id, "assigned", "assigned", worker,
                        f"lease until {iso(lease)} (attempt {row['attempts'] + 1} of "
                        f"{row['max_attempts']})", ts)
            job = job_json(self._job(conn, job_id))
        log.info("job %d: assigned to %s, lease %.0f s, waited %.3f s", job_id, worker,
                 self.lease_seconds, latency or 0.0)
        return Assignment(job, lease, False, latency)

    def heartbeat(self, job_id: int, worker: str, progress: float | None,
                  message: str | None) -> float:
        ts = now()
        lease = ts + self.lease_seconds
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._job(conn, job_id)
            self._require_lease(conn, row, worker)
            conn.execute("UPDATE jobs SET lease_expires_at=?, progress=COALESCE(?, progress), "
                         "progress_message=COALESCE(?, progress_message), updated_at=? "
                         "WHERE id=?", (lease, progress, message, ts, job_id))
        return lease

    def complete(self, job_id: int, worker: str, result_cid: str, sha256: str,
                 render_seconds: float, frames: list[int] | None) -> tuple[dict, bool]:
        """Returns (job, newly_completed); a repeat with the same result is (job, False)."""
        ts = now()
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._job(conn, job_id)
            if row["status"] == "completed":
                if row["worker_address"] == worker and row["result_cid"] == result_cid:
                    return job_json(row), False
                raise ApiError(409, "already_completed",
                               f"job {job_id} was already completed with result "
                               f"{row['result_cid']}; a different result is refused",
                               result_cid=row["result_cid"])
            self._require_lease(conn, row, worker)
            done = frames if frames is not None else json.loads(row["frames"])
            conn.execute("UPDATE jobs SET status='completed', lease_expires_at=NULL, "
                         "result_cid=?, sha256=?, render_seconds=?, result_frames=?, "
                         "progress=1.0, error=NULL, updated_at=? WHERE id=?",
                         (result_cid, sha256, render_seconds, json.dumps(done), ts, job_id))
            self._event(conn, job_id, "completed", "completed", worker,
                        f"result {result_cid}, sha256 {sha256}, rendered in "
                        f"{render_seconds:.3f} s", ts)
            job = job_json(self._job(conn, job_id))
        log.info("job %d: completed by %s, result %s, render %.3f s", job_id, worker,
                 result_cid, render_seconds)
        return job, True

    def fail(self, job_id: int, worker: str, error: str, retryable: bool,
             log_tail: str | None) -> dict:
        ts = now()
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._job(conn, job_id)
            self._require_lease(conn, row, worker)
            attempts = row["attempts"] + 1
            status = "failed" if (not retryable or attempts >= row["max_attempts"]) else "pending"
            conn.execute("UPDATE jobs SET status=?, attempts=?, worker_address=NULL, "
                         "lease_expires_at=NULL, assigned_at=NULL, pending_since=?, error=?, "
                         "log_tail=?, updated_at=? WHERE id=?",
                         (status, attempts, ts if status == "pending" else None, error,
                          log_tail, ts, job_id))
            kind = "retryable" if retryable else "not retryable"
            self._event(conn, job_id, "failed", status, worker,
                        f"{kind}: {error} (attempt {attempts} of {row['max_attempts']})", ts)
        log.info("job %d: %s failed it (%s, attempt %d/%d) -> %s", job_id, worker, kind,
                 attempts, row["max_attempts"], status)
        return {"success": True, "status": status, "attempts": attempts,
                "max_attempts": row["max_attempts"]}

    def release(self, job_id: int, worker: str, reason: str | None) -> None:
        ts = now()
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._job(conn, job_id)
            self._require_lease(conn, row, worker)
            conn.execute("UPDATE jobs SET status='pending', worker_address=NULL, "
                         "lease_expires_at=NULL, assigned_at=NULL, pending_since=?, "
                         "updated_at=? WHERE id=?", (ts, ts, job_id))
            self._event(conn, job_id, "released", "pending", worker, reason or "released", ts)
        log.info("job %d: released by %s (%s)", job_id, worker, reason or "no reason given")
