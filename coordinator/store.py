"""Jobs, tasks, leases, events and worker records over the database (docs/protocol.md "Jobs and
tasks", "Job states", "Leases").

``JobStore`` is the coordinator's one storage interface: route handlers and the farm logic
(coordinator/farm.py) call only its methods, never SQL, so moving to PostgreSQL (docs/scaling.md)
replaces this module and db.py, nothing else. Every public method is blocking (call it from a
worker thread), runs in one transaction, and first returns expired leases to pending (the lazy
expiry check), so an expired lease is never honoured. Violations raise ``ApiError`` with the
protocol's status and code.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Callable

from . import schedule
from .db import Database
from .errors import ApiError
from .timefmt import iso, now

log = logging.getLogger("coordinator")

TASK_STATES = ("pending", "assigned", "completed", "failed", "cancelled")
JOB_STATES = TASK_STATES
UNFINISHED = ("pending", "assigned")
CRASH_PREFIX = "worker crashed while rendering"   # the engine's crash journal (docs/engine.md)
POISON_WORKERS = 2                    # crashes on this many distinct workers fail the job
BLOCKLIST_FAILURES = 3                # failures of one worker on one job before it is skipped
FLAGS_TO_BLOCK = 2                    # spot-verification losses before a worker is blocked

# Every task query joins its job for the fields a worker needs (asset, format).
_TASK_SELECT = schedule.SELECT


def task_json(row: sqlite3.Row) -> dict:
    """A tasks row (joined with its job, see _TASK_SELECT) -> the protocol's task object: the
    job object's first block of fields plus kind, job_id, verifies, verdict."""
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
        "error_code": row["error_code"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "kind": row["kind"],
        "job_id": row["job_id"],
        "verifies": row["verifies"],
        "verdict": row["verdict"],
        "worker_blender": row["worker_blender"],
        "worker_device": row["worker_device"],
        "priority": row["priority"],
    }


def job_json(job: sqlite3.Row, tasks: list[sqlite3.Row]) -> dict:
    """A jobs row and its tasks rows -> the protocol's job object. A one-task job carries its
    task's lease, attempts and result (exactly the pre-farm job object); a job of several tasks
    aggregates them (docs/protocol.md "The job object")."""
    primary = [t for t in tasks if t["kind"] == "task"]
    frames = json.loads(job["frames"])
    frame_status: dict[str, str] = {}
    frames_done = 0
    for t in primary:
        for f in json.loads(t["frames"]):
            frame_status[str(f)] = t["status"]
            frames_done += t["status"] == "completed"
    if not frames:  # the scene's current frame: one task, one (unnamed) frame
        frames_done = int(bool(primary) and primary[0]["status"] == "completed")
    frames_total = max(len(frames), 1)
    one = primary[0] if len(primary) == 1 else None
    if one is not None:
        body = {k: v for k, v in task_json(_JoinedRow(one, job)).items()
                if k not in ("kind", "job_id", "verifies", "verdict", "worker_blender",
                             "worker_device", "priority")}
        body["status"] = job["status"]
        body["reward"] = job["reward"]
        body["frames"] = frames
        body["max_attempts"] = job["max_attempts"]
        body["result_cid"] = job["result_cid"] or one["result_cid"]
        if job["status"] == "assigned" and one["status"] == "completed":
            body["progress_message"] = "waiting for spot verification"
        body["error"] = job["error"] or one["error"]
    else:
        seconds = [t["render_seconds"] for t in primary if t["render_seconds"] is not None]
        done_frames = sorted(int(f) for f, s in frame_status.items() if s == "completed")
        errors = [t["error"] for t in primary if t["error"]]
        waiting = (job["status"] == "assigned"
                   and all(t["status"] == "completed" for t in primary))
        body = {
            "id": job["id"], "asset_cid": job["asset_cid"], "reward": job["reward"],
            "frames": frames, "output_format": job["output_format"], "status": job["status"],
            "attempts": sum(t["attempts"] for t in primary),
            "max_attempts": job["max_attempts"], "worker_address": None,
            "lease_expires_at": None, "progress": frames_done / frames_total,
            "progress_message": "assembling" if waiting else None,
            "result_cid": job["result_cid"], "sha256": None,
            "render_seconds": sum(seconds) if seconds else None,
            "result_frames": done_frames or None,
            "error": job["error"] or (errors[-1] if errors else None), "log_tail": None,
            "error_code": next((t["error_code"] for t in reversed(primary) if t["error"]),
                               None),
            "created_at": iso(job["created_at"]), "updated_at": iso(job["updated_at"]),
        }
    body.update({
        "kind": "job", "creator": job["creator"], "chunk_size": job["chunk_size"],
        "tasks_total": len(primary),
        "tasks_done": sum(t["status"] == "completed" for t in primary),
        "frames_total": frames_total, "frames_done": frames_done,
        "frame_status": frame_status,
        "blender_version": job["blender_version"], "compression": job["compression"],
        "resolution": json.loads(job["resolution"]) if job["resolution"] else None,
        "cancelled_at": iso(job["cancelled_at"]),
        "priority": job["priority"],
    })
    return body


class _JoinedRow(dict):
    """A tasks row plus its job's columns, read like the rows of _TASK_SELECT."""

    def __init__(self, task: sqlite3.Row, job: sqlite3.Row):
        super().__init__({k: task[k] for k in task.keys()})
        self.update(asset_cid=job["asset_cid"], output_format=job["output_format"],
                    creator=job["creator"], blender_version=job["blender_version"],
                    priority=job["priority"])


def event_json(row: sqlite3.Row) -> dict:
    """An events row -> the protocol's event object."""
    return {"id": row["id"], "job_id": row["job_id"], "task_id": row["task_id"],
            "type": row["type"], "status": row["status"],
            "worker_address": row["worker_address"], "detail": row["detail"],
            "created_at": iso(row["created_at"])}


def worker_json(row: sqlite3.Row) -> dict:
    """A workers row -> the protocol's worker record."""
    return {"address": row["address"], "blender_version": row["blender_version"],
            "device": row["device"], "completed": row["completed"],
            "verified": row["verified"], "disputed": row["disputed"],
            "rejected": row["rejected"], "flags": row["flags"], "crashes": row["crashes"],
            "blocked": bool(row["blocked"]), "first_seen": iso(row["first_seen"]),
            "last_seen": iso(row["last_seen"])}


def split_reward(reward: str, part: int, whole: int) -> str:
    """``reward`` × part / whole, rounded down to 8 decimals, as a decimal string."""
    if part == whole or whole == 0:
        return reward
    share = (Decimal(reward) * part / whole).quantize(Decimal("0.00000001"), ROUND_DOWN)
    return format(share.normalize(), "f") if share else "0"


def blender_number(version: str | None) -> int | None:
    """``"3.4.1"`` -> 304 (major × 100 + minor, the .blend header's numbering); None for None.
    Raises ValueError on anything else."""
    if version is None:
        return None
    parts = version.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise ValueError(f"Blender version {version!r} is not MAJOR.MINOR[.PATCH]")
    return int(parts[0]) * 100 + int(parts[1])


@dataclass
class Assignment:
    """Result of a successful assign."""
    job: dict
    lease_expires_at: float
    already_held: bool
    claim_latency: float | None  # seconds the task waited in pending; None on a re-assign


@dataclass
class CompletionPlan:
    """What /complete must check before it counts (see JobStore.plan_completion)."""
    task: dict
    repeat: bool                   # same worker, same result: answer 200, change nothing
    resolution: list[int] | None   # the job's resolution, if known


class JobStore:
    """Jobs, tasks, leases, events, worker records.

    ``lease_seconds``: lease granted by assign/heartbeat. ``verify_share``: share of tasks
    re-rendered by another worker (0…1). ``creator_task_cap``: assigned tasks per creator beyond
    which the creator gets no more offers. ``verify_wait_seconds``: a verification task nobody
    took for this long is dropped (its original stays unverified). ``rng``: [0, 1) source for
    the verification sample (tests may pass their own)."""

    def __init__(self, db: Database, lease_seconds: float, *, verify_share: float = 0.0,
                 creator_task_cap: int = 64, verify_wait_seconds: float = 300.0,
                 rng: Callable[[], float] = random.random):
        self.db = db
        self.lease_seconds = lease_seconds
        self.verify_share = verify_share
        self.creator_task_cap = creator_task_cap
        self.verify_wait_seconds = verify_wait_seconds
        self.rng = rng
        self.changes = 0          # bumped by every committed state change (for notifiers)
        self.lease_expiries = 0   # since start (metrics)
        self._served: dict[str, float] = {}   # creator -> last assign (fair-share tie-break)
        self._holds = schedule.Holds()         # first offers held for their worker (2 s)

    # -- helpers (inside a transaction) -------------------------------------------------

    def _tx(self):
        """A transaction in which ApiError (a refusal, raised before the method's own writes)
        still commits the lazy lease-expiry pass done at its start."""
        return self.db.transaction(keep_on=(ApiError,))

    def _event(self, conn, job_id: int, task_id: int | None, type_: str, status: str,
               worker: str | None, detail: str, ts: float) -> None:
        conn.execute("INSERT INTO events (job_id, task_id, type, status, worker_address, "
                     "detail, created_at) VALUES (?,?,?,?,?,?,?)",
                     (job_id, task_id, type_, status, worker, detail, ts))
        self.changes += 1

    def _task(self, conn, task_id: int) -> sqlite3.Row:
        row = conn.execute(_TASK_SELECT + " WHERE t.id = ?", (task_id,)).fetchone()
        if row is None:
            raise ApiError(404, "job_not_found", f"there is no job or task {task_id}")
        return row

    def _job_row(self, conn, job_id: int) -> sqlite3.Row | None:
        return conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()

    def _job_obj(self, conn, job: sqlite3.Row) -> dict:
        tasks = conn.execute("SELECT * FROM tasks WHERE job_id = ? ORDER BY id",
                             (job["id"],)).fetchall()
        return job_json(job, tasks)

    def _worker_add(self, conn, worker: str, column: str, ts: float, by: int = 1) -> None:
        conn.execute("INSERT INTO workers (address, first_seen, last_seen) VALUES (?,?,?) "
                     "ON CONFLICT (address) DO NOTHING", (worker, ts, ts))
        conn.execute(f"UPDATE workers SET {column} = {column} + ? WHERE address = ?",
                     (by, worker))

    def _end_attempt(self, conn, row: sqlite3.Row, worker: str | None, error: str,
                     retryable: bool, log_tail: str | None, type_: str, ts: float,
                     code: str | None = None) -> str:
        """A failed attempt of task ``row`` (a /fail, an expired lease, a rejected result):
        counts it, updates the job's blocklist and crash record, requeues or fails the task,
        records the event. Returns the task's new status."""
        attempts = row["attempts"] + 1
        status = "failed" if (not retryable or attempts >= row["max_attempts"]) else "pending"
        job_id = row["job_id"]
        crash = error.lower().startswith(CRASH_PREFIX) or code == "crashed"
        if worker is not None:
            conn.execute("INSERT INTO worker_jobs (worker_address, job_id) VALUES (?,?) "
                         "ON CONFLICT DO NOTHING", (worker, job_id))
            conn.execute("UPDATE worker_jobs SET failures = failures + 1, crashes = crashes + ? "
                         "WHERE worker_address = ? AND job_id = ?", (int(crash), worker, job_id))
            if crash:
                self._worker_add(conn, worker, "crashes", ts)
        poisoned = False
        if crash and row["kind"] == "task":
            crashed_on = conn.execute("SELECT COUNT(*) FROM worker_jobs WHERE job_id = ? AND "
                                      "crashes > 0", (job_id,)).fetchone()[0]
            if crashed_on >= POISON_WORKERS:
                status, poisoned = "failed", True
        conn.execute("UPDATE tasks SET status=?, attempts=?, worker_address=NULL, "
                     "lease_expires_at=NULL, assigned_at=NULL, pending_since=?, error=?, "
                     "log_tail=COALESCE(?, log_tail), error_code=?, updated_at=? WHERE id=?",
                     (status, attempts, ts if status == "pending" else None, error, log_tail,
                      code, ts, row["id"]))
        kind = ("retryable" if retryable else "not retryable") + (f", {code}" if code else "")
        detail = (error if type_ == "lease_expired" else
                  f"{kind}: {error} (attempt {attempts} of {row['max_attempts']})")
        self._event(conn, job_id, row["id"], type_, status, worker, detail, ts)
        if poisoned:
            self._fail_job(conn, job_id, f"crashed Blender on {POISON_WORKERS} workers", ts)
        self._refresh_job(conn, job_id, ts)
        return status

    def _fail_job(self, conn, job_id: int, why: str, ts: float) -> None:
        job = self._job_row(conn, job_id)
        if job["status"] in ("completed", "failed", "cancelled"):
            return
        self._close_unfinished(conn, job_id, ts)
        conn.execute("UPDATE jobs SET status='failed', error=?, updated_at=? WHERE id=?",
                     (why, ts, job_id))
        if self._multi(conn, job_id) or why != self._only_task_error(conn, job_id):
            self._event(conn, job_id, None, "failed", "failed", None, why, ts)
        log.info("job %d: failed: %s", job_id, why)

    def _only_task_error(self, conn, job_id: int) -> str | None:
        row = conn.execute("SELECT error FROM tasks WHERE job_id=? AND kind='task'",
                           (job_id,)).fetchall()
        return row[0][0] if len(row) == 1 else None

    def _multi(self, conn, job_id: int) -> bool:
        return conn.execute("SELECT COUNT(*) FROM tasks WHERE job_id=? AND kind='task'",
                            (job_id,)).fetchone()[0] > 1

    def _close_unfinished(self, conn, job_id: int, ts: float) -> None:
        conn.execute("UPDATE tasks SET status='cancelled', lease_expires_at=NULL, "
                     "pending_since=NULL, updated_at=? WHERE job_id=? AND status IN "
                     "('pending','assigned')", (ts, job_id))

    def _refresh_job(self, conn, job_id: int, ts: float) -> None:
        """Recompute a job's status from its tasks (docs/protocol.md "Jobs and tasks")."""
        job = self._job_row(conn, job_id)
        if job["status"] in ("completed", "failed", "cancelled"):
            return
        rows = conn.execute("SELECT kind, status, error, result_cid, verdict FROM tasks WHERE "
                            "job_id=? ORDER BY id", (job_id,)).fetchall()
        primary = [r for r in rows if r["kind"] == "task"]
        # A verification counts until it is decided: a completed one whose comparison is not
        # recorded yet may still dispute the result (and add a third render).
        open_checks = [r for r in rows if r["kind"] == "verify" and (
            r["status"] in UNFINISHED or (r["status"] == "completed" and r["verdict"] is None))]
        failed = [r for r in primary if r["status"] == "failed"]
        if failed:
            self._fail_job(conn, job_id, failed[0]["error"] or "a task failed", ts)
            return
        if all(r["status"] == "completed" for r in primary) and not open_checks:
            if len(primary) == 1:
                conn.execute("UPDATE jobs SET status='completed', result_cid=?, updated_at=? "
                             "WHERE id=?", (primary[0]["result_cid"], ts, job_id))
                return
            status = "assigned"   # waiting for the result directory (assemble)
        elif any(r["status"] in ("assigned", "completed") for r in primary):
            status = "assigned"
        else:
            status = "pending"
        if status != job["status"]:
            conn.execute("UPDATE jobs SET status=?, updated_at=? WHERE id=?",
                         (status, ts, job_id))

    def _expire(self, conn, ts: float) -> list[int]:
        rows = conn.execute(_TASK_SELECT + " WHERE t.status = 'assigned' AND "
                            "t.lease_expires_at <= ?", (ts,)).fetchall()
        for row in rows:
            why = (f"lease of {row['worker_address']} expired at "
                   f"{iso(row['lease_expires_at'])} without a heartbeat")
            status = self._end_attempt(conn, row, row["worker_address"], why, True, None,
                                       "lease_expired", ts)
            self.lease_expiries += 1
            log.info("task %d (job %d): lease of %s expired -> %s (attempt %d/%d)", row["id"],
                     row["job_id"], row["worker_address"], status, row["attempts"] + 1,
                     row["max_attempts"])
        stale = conn.execute("SELECT * FROM tasks WHERE kind='verify' AND status='pending' AND "
                             "pending_since <= ?", (ts - self.verify_wait_seconds,)).fetchall()
        for row in stale:
            conn.execute("UPDATE tasks SET status='cancelled', pending_since=NULL, updated_at=? "
                         "WHERE id=?", (ts, row["id"]))
            self._event(conn, row["job_id"], row["id"], "cancelled", "cancelled", None,
                        f"no other worker took verification of task {row['verifies']} within "
                        f"{self.verify_wait_seconds:.0f} s; it stays unverified", ts)
            self._refresh_job(conn, row["job_id"], ts)
        return [r["id"] for r in rows]

    def _require_lease(self, conn, row: sqlite3.Row, worker: str) -> None:
        if row["status"] == "assigned" and row["worker_address"] == worker:
            return
        held = conn.execute("SELECT 1 FROM leases WHERE job_id=? AND worker_address=?",
                            (row["id"], worker)).fetchone()
        if held and row["status"] == "cancelled":
            raise ApiError(409, "job_cancelled",
                           f"job {row['job_id']} was cancelled; stop rendering task {row['id']}",
                           status="cancelled")
        if held:
            raise ApiError(409, "lease_lost",
                           f"job {row['id']} is no longer leased to {worker} (it is now "
                           f"{row['status']}); stop working on it and fetch new work",
                           status=row["status"])
        raise ApiError(409, "not_assignee",
                       f"job {row['id']} was never leased to {worker}; assign it first",
                       status=row["status"])

    def _worker_row(self, conn, worker: str) -> sqlite3.Row | None:
        return conn.execute("SELECT * FROM workers WHERE address = ?", (worker,)).fetchone()

    def _refuse_blocked(self, conn, worker: str) -> sqlite3.Row | None:
        row = self._worker_row(conn, worker)
        if row is not None and row["blocked"]:
            raise ApiError(403, "worker_blocked",
                           f"worker {worker} is blocked from this farm: spot verification "
                           f"found its results wrong {row['flags']} times")
        return row

    # -- queries ------------------------------------------------------------------------

    def expire_leases(self) -> list[int]:
        """Return every expired lease's task to pending/failed; the task ids affected."""
        with self._tx() as conn:
            return self._expire(conn, now())

    def get(self, job_id: int) -> dict:
        """The job with this id, else the task with this id (404 job_not_found)."""
        with self._tx() as conn:
            self._expire(conn, now())
            job = self._job_row(conn, job_id)
            if job is not None:
                return self._job_obj(conn, job)
            return task_json(self._task(conn, job_id))

    def task(self, task_id: int) -> dict:
        """The task with this id (404 task_not_found)."""
        with self._tx() as conn:
            self._expire(conn, now())
            row = conn.execute(_TASK_SELECT + " WHERE t.id = ?", (task_id,)).fetchone()
            if row is None:
                raise ApiError(404, "task_not_found", f"there is no task {task_id}")
            return task_json(row)

    def tasks(self, job_id: int) -> list[dict]:
        """A job's tasks and verification tasks, by id (404 job_not_found)."""
        with self._tx() as conn:
            self._expire(conn, now())
            if self._job_row(conn, job_id) is None:
                raise ApiError(404, "job_not_found", f"there is no job {job_id}")
            rows = conn.execute(_TASK_SELECT + " WHERE t.job_id = ? ORDER BY t.id",
                                (job_id,)).fetchall()
            return [task_json(r) for r in rows]

    def list(self, status: str | None, limit: int, creator: str | None = None) -> list[dict]:
        """Jobs, newest first."""
        with self._tx() as conn:
            self._expire(conn, now())
            sql, args = "SELECT * FROM jobs WHERE 1=1", []
            if status:
                sql += " AND status=?"
                args.append(status)
            if creator:
                sql += " AND creator=?"
                args.append(creator)
            rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
            return [self._job_obj(conn, r) for r in rows]

    def available(self, limit: int, worker: str | None = None, blender: str | None = None,
                  device: str | None = None) -> list[dict]:
        """Pending tasks ``worker`` may take, in fair-share order (coordinator/schedule.py).
        Records the worker's Blender version/device when given; 403 worker_blocked."""
        ts = now()
        with self._tx() as conn:
            self._expire(conn, ts)
            wnum = None
            if worker is not None:
                self._note_worker(conn, worker, blender, device, ts)
                row = self._refuse_blocked(conn, worker)
                wnum = row["blender_num"] if row is not None else None
            rows = schedule.offers(conn, worker, wnum, limit, self.creator_task_cap,
                                   self._served, self._holds)
            return [task_json(r) for r in rows]

    def offers_held(self) -> bool:
        """True while a task is held for the worker it was first offered to
        (schedule.Holds): a parked long poll re-checks then, since a hold's end sends no
        notification."""
        return self._holds.active(time.monotonic())

    def _note_worker(self, conn, worker: str, blender: str | None, device: str | None,
                     ts: float) -> None:
        conn.execute("INSERT INTO workers (address, first_seen, last_seen) VALUES (?,?,?) "
                     "ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen",
                     (worker, ts, ts))
        if blender is not None:
            conn.execute("UPDATE workers SET blender_version=?, blender_num=? WHERE address=?",
                         (blender, blender_number(blender), worker))
        if device is not None:
            conn.execute("UPDATE workers SET device=? WHERE address=?", (device, worker))

    def extend_held_leases(self) -> int:
        """At start: every lease still held lasts at least lease_seconds from now (while the
        coordinator was down nobody could heartbeat or complete). Returns how many."""
        ts = now()
        with self.db.transaction() as conn:
            cur = conn.execute("UPDATE tasks SET lease_expires_at=?, updated_at=? "
                               "WHERE status='assigned' AND lease_expires_at < ?",
                               (ts + self.lease_seconds, ts, ts + self.lease_seconds))
            count = cur.rowcount
        if count:
            log.info("%d lease(s) held at start extended to %.0f s from now", count,
                     self.lease_seconds)
        return count

    def events(self, job_id: int) -> list[dict]:
        """A job's events and its tasks' (a task id that is not a job id: the task's)."""
        with self.db.reader() as conn:
            if self._job_row(conn, job_id) is not None:
                rows = conn.execute("SELECT * FROM events WHERE job_id=? ORDER BY id",
                                    (job_id,)).fetchall()
            else:
                self._task(conn, job_id)
                rows = conn.execute("SELECT * FROM events WHERE task_id=? ORDER BY id",
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
        counts = {s: 0 for s in JOB_STATES}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def task_counts(self) -> dict[str, int]:
        """Tasks per status (every status present, 0 when none)."""
        with self.db.reader() as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall()
        counts = {s: 0 for s in TASK_STATES}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def workers_seen(self) -> int:
        with self.db.reader() as conn:
            return conn.execute("SELECT COUNT(*) FROM workers").fetchone()[0]

    def workers(self, limit: int = 1000) -> list[dict]:
        """Worker records, most recently seen first."""
        with self.db.reader() as conn:
            rows = conn.execute("SELECT * FROM workers ORDER BY last_seen DESC LIMIT ?",
                                (limit,)).fetchall()
            return [worker_json(r) for r in rows]

    def worker(self, address: str) -> dict:
        """One worker's record (404 worker_not_found)."""
        with self.db.reader() as conn:
            row = self._worker_row(conn, address)
        if row is None:
            raise ApiError(404, "worker_not_found", f"no worker {address} ever authenticated")
        return worker_json(row)

    # -- transitions --------------------------------------------------------------------

    def create(self, asset_cid: str, frames: list[int], output_format: str, reward: str,
               max_attempts: int, chunk_size: int = 0, creator: str = "operator",
               resolution: list[int] | None = None, blender_version: int | None = None,
               compression: str | None = None, priority: int = 0) -> dict:
        """A job and its tasks (``chunk_size`` frames each; 0 = one task). ``priority``:
        0..100, already checked against the caller's bound (docs/protocol.md "Priorities")."""
        ts = now()
        size = chunk_size if 0 < chunk_size < len(frames) else max(len(frames), 1)
        chunks = [frames[i:i + size] for i in range(0, len(frames), size)] or [[]]
        with self._tx() as conn:
            ids = []
            for chunk in chunks:
                cur = conn.execute(
                    "INSERT INTO tasks (job_id, reward, frames, status, max_attempts, "
                    "pending_since, created_at, updated_at) VALUES (0,?,?,'pending',?,?,?,?)",
                    (split_reward(reward, len(chunk), len(frames)), json.dumps(chunk),
                     max_attempts, ts, ts, ts))
                ids.append(cur.lastrowid)
            job_id = ids[0]
            conn.execute("UPDATE tasks SET job_id=? WHERE id BETWEEN ? AND ?",
                         (job_id, ids[0], ids[-1]))
            conn.execute(
                "INSERT INTO jobs (id, asset_cid, reward, frames, output_format, max_attempts, "
                "chunk_size, creator, resolution, blender_version, compression, priority, "
                "status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'pending',?,?)",
                (job_id, asset_cid, reward, json.dumps(frames), output_format, max_attempts,
                 chunk_size, creator, json.dumps(resolution) if resolution else None,
                 blender_version, compression, priority, ts, ts))
            version = f", Blender {blender_version // 100}.{blender_version % 100}" \
                if blender_version else ""
            self._event(conn, job_id, None, "created", "pending", None,
                        f"asset {asset_cid}, {len(frames)} frame(s) in {len(ids)} task(s), "
                        f"{output_format}, reward {reward}, creator {creator}{version}, "
                        f"priority {priority}", ts)
            job = self._job_obj(conn, self._job_row(conn, job_id))
        log.info("job %d: created by %s (asset %s, frames %s, %d task(s), %s)", job_id, creator,
                 asset_cid, frames or "current", len(ids), output_format)
        return job

    def _ineligible(self, conn, row: sqlite3.Row, worker: str,
                    wrow: sqlite3.Row | None) -> str | None:
        """Why ``worker`` may not take task ``row``, or None."""
        wnum = wrow["blender_num"] if wrow is not None else None
        if wnum is not None and row["blender_version"] and row["blender_version"] > wnum:
            return (f"the file needs Blender {row['blender_version'] // 100}."
                    f"{row['blender_version'] % 100}; this worker runs "
                    f"{wrow['blender_version']}")
        rec = conn.execute("SELECT failures, crashes FROM worker_jobs WHERE worker_address=? "
                           "AND job_id=?", (worker, row["job_id"])).fetchone()
        if rec is not None and rec["crashes"]:
            return f"this worker's Blender crashed on job {row['job_id']}"
        if rec is not None and rec["failures"] >= BLOCKLIST_FAILURES:
            return (f"this worker failed job {row['job_id']} {rec['failures']} times "
                    "(the job's blocklist)")
        if row["verifies"] is not None and schedule.rendered_group(conn, row, worker):
            return f"this worker rendered the result task {row['id']} verifies"
        return None

    def assign(self, job_id: int, worker: str) -> Assignment:
        ts = now()
        lease = ts + self.lease_seconds
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._task(conn, job_id)
            if row["status"] == "assigned" and row["worker_address"] == worker:
                conn.execute("UPDATE tasks SET lease_expires_at=?, updated_at=? WHERE id=?",
                             (lease, ts, job_id))
                self.changes += 1
                return Assignment(self._task_or_job(conn, job_id), lease, True, None)
            wrow = self._refuse_blocked(conn, worker)
            if row["status"] == "pending":
                why = self._ineligible(conn, row, worker, wrow)
                if why:
                    raise ApiError(409, "not_eligible",
                                   f"task {job_id} is not for this worker: {why}; take another")
            blender = wrow["blender_version"] if wrow is not None else None
            device = wrow["device"] if wrow is not None else None
            # The conditional UPDATE is the claim: only one transaction can move it off pending.
            cur = conn.execute(
                "UPDATE tasks SET status='assigned', worker_address=?, lease_expires_at=?, "
                "assigned_at=?, progress=NULL, progress_message=NULL, worker_blender=?, "
                "worker_device=?, updated_at=? WHERE id=? AND status='pending'",
                (worker, lease, ts, blender, device, ts, job_id))
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
            what = (f"Blender {blender or 'unknown'}, device {device or 'unknown'}")
            self._event(conn, row["job_id"], job_id, "assigned", "assigned", worker,
                        f"lease until {iso(lease)} (attempt {row['attempts'] + 1} of "
                        f"{row['max_attempts']}; {what})", ts)
            self._refresh_job(conn, row["job_id"], ts)
            self._served[row["creator"]] = ts
            job = self._task_or_job(conn, job_id)
        log.info("task %d (job %d): assigned to %s, lease %.0f s, waited %.3f s", job_id,
                 row["job_id"], worker, self.lease_seconds, latency or 0.0)
        return Assignment(job, lease, False, latency)

    def _task_or_job(self, conn, task_id: int) -> dict:
        """What the worker endpoints answer: the job object for a one-task job (the pre-farm
        reply), else the task object."""
        job = self._job_row(conn, task_id)
        if job is not None and not self._multi(conn, task_id):
            return self._job_obj(conn, job)
        return task_json(self._task(conn, task_id))

    def heartbeat(self, job_id: int, worker: str, progress: float | None,
                  message: str | None) -> float:
        ts = now()
        lease = ts + self.lease_seconds
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._task(conn, job_id)
            self._require_lease(conn, row, worker)
            conn.execute("UPDATE tasks SET lease_expires_at=?, progress=COALESCE(?, progress), "
                         "progress_message=COALESCE(?, progress_message), updated_at=? "
                         "WHERE id=?", (lease, progress, message, ts, job_id))
        return lease

    def plan_completion(self, job_id: int, worker: str, result_cid: str) -> CompletionPlan:
        """The checks of /complete that need no result bytes: 404/409 as complete() would.
        ``repeat`` when this worker already completed it with this result."""
        with self._tx() as conn:
            self._expire(conn, now())
            row = self._task(conn, job_id)
            if row["status"] == "completed":
                if row["worker_address"] == worker and row["result_cid"] == result_cid:
                    return CompletionPlan(task_json(row), True, None)
                raise ApiError(409, "already_completed",
                               f"job {job_id} was already completed with result "
                               f"{row['result_cid']}; a different result is refused",
                               result_cid=row["result_cid"])
            self._require_lease(conn, row, worker)
            job = self._job_row(conn, row["job_id"])
            res = json.loads(job["resolution"]) if job["resolution"] else None
            return CompletionPlan(task_json(row), False, res)

    def complete(self, job_id: int, worker: str, result_cid: str, sha256: str,
                 render_seconds: float, frames: list[int] | None,
                 resolution: list[int] | None = None, device: str | None = None,
                 blender: str | None = None) -> tuple[dict, bool]:
        """Returns (job, newly_completed); a repeat with the same result is (job, False).
        ``resolution``: what the result checks measured (becomes the job's if it has none).
        ``device``/``blender``: what the worker rendered with, replacing what it said when it
        polled (the task's ``worker_device``/``worker_blender``, which spot verification
        compares)."""
        ts = now()
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._task(conn, job_id)
            if row["status"] == "completed":
                if row["worker_address"] == worker and row["result_cid"] == result_cid:
                    return self._task_or_job(conn, job_id), False
                raise ApiError(409, "already_completed",
                               f"job {job_id} was already completed with result "
                               f"{row['result_cid']}; a different result is refused",
                               result_cid=row["result_cid"])
            self._require_lease(conn, row, worker)
            done = frames if frames is not None else json.loads(row["frames"])
            conn.execute("UPDATE tasks SET status='completed', lease_expires_at=NULL, "
                         "result_cid=?, sha256=?, render_seconds=?, result_frames=?, "
                         "progress=1.0, error=NULL, error_code=NULL, updated_at=?, "
                         "worker_device=COALESCE(?, worker_device), "
                         "worker_blender=COALESCE(?, worker_blender) WHERE id=?",
                         (result_cid, sha256, render_seconds, json.dumps(done), ts, device,
                          blender, job_id))
            self._event(conn, row["job_id"], job_id, "completed", "completed", worker,
                        f"result {result_cid}, sha256 {sha256}, rendered in "
                        f"{render_seconds:.3f} s"
                        + (f" on {device}" if device else "")
                        + (f" with Blender {blender}" if blender else ""), ts)
            self._worker_add(conn, worker, "completed", ts)
            if resolution:
                conn.execute("UPDATE jobs SET resolution=? WHERE id=? AND resolution IS NULL",
                             (json.dumps(resolution), row["job_id"]))
            if row["kind"] == "task" and self.verify_share > 0 and self.rng() < self.verify_share:
                self._add_verification(conn, row, ts)
            self._refresh_job(conn, row["job_id"], ts)
            job = self._task_or_job(conn, job_id)
        log.info("task %d (job %d): completed by %s, result %s, render %.3f s", job_id,
                 row["job_id"], worker, result_cid, render_seconds)
        return job, True

    def _add_verification(self, conn, original: sqlite3.Row, ts: float) -> int:
        cur = conn.execute(
            "INSERT INTO tasks (job_id, kind, verifies, reward, frames, status, max_attempts, "
            "pending_since, created_at, updated_at) VALUES (?,'verify',?,?,?,'pending',?,?,?,?)",
            (original["job_id"], original["id"], original["reward"], original["frames"],
             original["max_attempts"], ts, ts, ts))
        self._event(conn, original["job_id"], cur.lastrowid, "created", "pending", None,
                    f"verification of task {original['id']} by another worker", ts)
        return cur.lastrowid

    def reject(self, job_id: int, worker: str, reason: str) -> str:
        """A result that failed the checks: the task fails this attempt (requeued or failed),
        the worker's rejected count grows. Returns the task's new status."""
        ts = now()
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._task(conn, job_id)
            self._require_lease(conn, row, worker)
            self._worker_add(conn, worker, "rejected", ts)
            status = self._end_attempt(conn, row, worker, f"result rejected: {reason}", True,
                                       None, "rejected", ts)
        log.info("task %d (job %d): result of %s rejected (%s) -> %s", job_id, row["job_id"],
                 worker, reason, status)
        return status

    def fail(self, job_id: int, worker: str, error: str, retryable: bool,
             log_tail: str | None, code: str | None = None) -> dict:
        ts = now()
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._task(conn, job_id)
            self._require_lease(conn, row, worker)
            status = self._end_attempt(conn, row, worker, error, retryable, log_tail, "failed",
                                       ts, code)
        kind = "retryable" if retryable else "not retryable"
        log.info("task %d (job %d): %s failed it (%s, attempt %d/%d) -> %s", job_id,
                 row["job_id"], worker, kind, row["attempts"] + 1, row["max_attempts"], status)
        return {"success": True, "status": status, "attempts": row["attempts"] + 1,
                "max_attempts": row["max_attempts"]}

    def release(self, job_id: int, worker: str, reason: str | None) -> None:
        ts = now()
        with self._tx() as conn:
            self._expire(conn, ts)
            row = self._task(conn, job_id)
            self._require_lease(conn, row, worker)
            conn.execute("UPDATE tasks SET status='pending', worker_address=NULL, "
                         "lease_expires_at=NULL, assigned_at=NULL, pending_since=?, "
                         "updated_at=? WHERE id=?", (ts, ts, job_id))
            self._event(conn, row["job_id"], job_id, "released", "pending", worker,
                        reason or "released", ts)
            self._refresh_job(conn, row["job_id"], ts)
        log.info("task %d (job %d): released by %s (%s)", job_id, row["job_id"], worker,
                 reason or "no reason given")

    def _unended_job(self, conn, job_id: int, ts: float, code: str, why: str) -> sqlite3.Row:
        """Job ``job_id``'s row (leases expired first) for a change only a job that has not
        ended takes. ApiError 404 job_not_found; 409 ``code`` ("job 7 is completed" +
        ``why``, ``error.status`` = its status) when it is completed, failed or cancelled."""
        self._expire(conn, ts)
        job = self._job_row(conn, job_id)
        if job is None:
            raise ApiError(404, "job_not_found", f"there is no job {job_id}")
        if job["status"] in ("completed", "failed", "cancelled"):
            raise ApiError(409, code, f"job {job_id} is {job['status']}{why}",
                           status=job["status"])
        return job

    def set_priority(self, job_id: int, priority: int, who: str) -> dict:
        """Set job ``job_id``'s priority (0..100, already checked against the caller's bound;
        docs/protocol.md "Priorities"); ``who`` names the caller in the event. 404
        job_not_found, 409 job_ended. The same value again changes and records nothing."""
        ts = now()
        with self._tx() as conn:
            job = self._unended_job(conn, job_id, ts, "job_ended",
                                    ": its priority no longer matters and cannot be changed")
            old = job["priority"]
            if old != priority:
                conn.execute("UPDATE jobs SET priority=?, updated_at=? WHERE id=?",
                             (priority, ts, job_id))
                self._event(conn, job_id, None, "priority", job["status"], None,
                            f"priority {old} -> {priority} by {who}", ts)
            body = self._job_obj(conn, self._job_row(conn, job_id))
        if old != priority:
            log.info("job %d: priority %d -> %d by %s", job_id, old, priority, who)
        return body

    def cancel(self, job_id: int, reason: str | None) -> dict:
        """Cancel a job and its unfinished tasks (409 not_cancellable when it has ended)."""
        ts = now()
        with self._tx() as conn:
            self._unended_job(conn, job_id, ts, "not_cancellable", " and cannot be cancelled")
            self._close_unfinished(conn, job_id, ts)
            conn.execute("UPDATE jobs SET status='cancelled', cancelled_at=?, updated_at=? "
                         "WHERE id=?", (ts, ts, job_id))
            self._event(conn, job_id, None, "cancelled", "cancelled", None,
                        reason or "cancelled", ts)
            body = self._job_obj(conn, self._job_row(conn, job_id))
        log.info("job %d: cancelled (%s)", job_id, reason or "no reason given")
        return body

    # -- spot verification and assembly (driven by coordinator/farm.py) ----------------

    def undecided_verifications(self) -> list[int]:
        """Completed verification tasks whose comparison has not been recorded."""
        with self.db.reader() as conn:
            return [r[0] for r in conn.execute(
                "SELECT id FROM tasks WHERE kind='verify' AND status='completed' AND "
                "verdict IS NULL ORDER BY id")]

    def verification_case(self, verify_id: int) -> dict:
        """{"verify": <task>, "original": <task>, "rival": <task>|None}: ``rival`` is the
        first verifier when ``verify`` is the third render of a disputed result."""
        with self.db.reader() as conn:
            v = self._task(conn, verify_id)
            o = self._task(conn, v["verifies"])
            rival = conn.execute(_TASK_SELECT + " WHERE t.verifies=? AND t.id != ? AND "
                                 "t.verdict='disputed' ORDER BY t.id LIMIT 1",
                                 (o["id"], verify_id)).fetchone()
            return {"verify": task_json(v), "original": task_json(o),
                    "rival": task_json(rival) if rival is not None else None}

    def _flag(self, conn, worker: str, job_id: int, task_id: int, why: str, ts: float) -> None:
        self._worker_add(conn, worker, "flags", ts)
        flags = self._worker_row(conn, worker)["flags"]
        self._event(conn, job_id, task_id, "flagged", "completed", worker,
                    f"{why} (flag {flags} of {FLAGS_TO_BLOCK})", ts)
        if flags >= FLAGS_TO_BLOCK:
            conn.execute("UPDATE workers SET blocked=1 WHERE address=?", (worker,))
            log.info("worker %s: blocked after %d flags", worker, flags)

    def settle(self, verify_id: int, agrees_original: bool,
               agrees_rival: bool | None) -> str:
        """Record a verification's comparison (see docs/protocol.md "Spot verification").
        ``agrees_rival``: for a third render, whether it agrees with the first verifier.
        Returns the verdict recorded; idempotent (an already settled task returns its own)."""
        ts = now()
        with self._tx() as conn:
            v = self._task(conn, verify_id)
            if v["verdict"] is not None:
                return v["verdict"]
            o = self._task(conn, v["verifies"])
            job_id = o["job_id"]
            rival = conn.execute("SELECT * FROM tasks WHERE verifies=? AND id != ? AND "
                                 "verdict='disputed' ORDER BY id LIMIT 1",
                                 (o["id"], verify_id)).fetchone()

            def verdict(task_id: int, value: str) -> None:
                conn.execute("UPDATE tasks SET verdict=?, updated_at=? WHERE id=?",
                             (value, ts, task_id))

            if rival is None or agrees_rival is None:       # first verification
                if agrees_original:
                    verdict(o["id"], "verified")
                    verdict(verify_id, "verified")
                    self._worker_add(conn, o["worker_address"], "verified", ts)
                    self._event(conn, job_id, o["id"], "verified", "completed",
                                o["worker_address"],
                                f"task {verify_id} by {v['worker_address']} agrees", ts)
                    result = "verified"
                else:
                    verdict(o["id"], "disputed")
                    verdict(verify_id, "disputed")
                    self._worker_add(conn, o["worker_address"], "disputed", ts)
                    self._worker_add(conn, v["worker_address"], "disputed", ts)
                    third = self._add_verification(conn, o, ts)
                    self._event(conn, job_id, o["id"], "disputed", "completed",
                                o["worker_address"],
                                f"task {verify_id} by {v['worker_address']} disagrees; task "
                                f"{third} decides", ts)
                    result = "disputed"
            elif agrees_original and not agrees_rival:
                verdict(o["id"], "won")
                verdict(rival["id"], "lost")
                verdict(verify_id, "verified")
                self._worker_add(conn, o["worker_address"], "verified", ts)
                self._flag(conn, rival["worker_address"], job_id, rival["id"],
                           f"its result of task {o['id']} lost to two others", ts)
                result = "verified"
            elif agrees_rival and not agrees_original:
                verdict(o["id"], "lost")
                verdict(rival["id"], "won")
                verdict(verify_id, "verified")
                conn.execute("UPDATE tasks SET result_cid=?, sha256=?, updated_at=? WHERE id=?",
                             (rival["result_cid"], rival["sha256"], ts, o["id"]))
                self._worker_add(conn, rival["worker_address"], "verified", ts)
                self._flag(conn, o["worker_address"], job_id, o["id"],
                           f"its result of task {o['id']} lost to two others; the job uses "
                           f"{rival['result_cid']}", ts)
                result = "replaced"
            else:
                verdict(verify_id, "disputed")
                self._event(conn, job_id, o["id"], "disputed", "completed", None,
                            f"task {verify_id} agrees with neither; task {o['id']} keeps its "
                            "result, nobody is flagged", ts)
                result = "undecided"
            self._refresh_job(conn, job_id, ts)
        log.info("task %d (job %d): verification %d -> %s", o["id"], job_id, verify_id, result)
        return result

    def jobs_to_assemble(self) -> list[int]:
        """Jobs of several tasks whose tasks are all done but which have no result yet."""
        with self.db.reader() as conn:
            rows = conn.execute(
                "SELECT j.id FROM jobs j WHERE j.status='assigned' AND j.result_cid IS NULL "
                "AND (SELECT COUNT(*) FROM tasks t WHERE t.job_id=j.id AND t.kind='task') > 1 "
                "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id=j.id AND "
                "((t.kind='task' AND t.status != 'completed') OR "
                "(t.kind='verify' AND (t.status IN ('pending','assigned') OR "
                "(t.status='completed' AND t.verdict IS NULL))))) ORDER BY j.id")
            return [r[0] for r in rows]

    def assembly_parts(self, job_id: int) -> tuple[str, list[tuple[list[int], str]]]:
        """(output_format, [(frames, result_cid) per task in frame order])."""
        with self.db.reader() as conn:
            job = self._job_row(conn, job_id)
            rows = conn.execute("SELECT frames, result_cid FROM tasks WHERE job_id=? AND "
                                "kind='task' ORDER BY id", (job_id,)).fetchall()
            return job["output_format"], [(json.loads(r[0]), r[1]) for r in rows]

    def set_result(self, job_id: int, result_cid: str, detail: str) -> dict:
        """Record an assembled job's result directory; the job is completed."""
        ts = now()
        with self._tx() as conn:
            job = self._job_row(conn, job_id)
            if job["status"] != "assigned" or job["result_cid"]:
                return self._job_obj(conn, job)
            conn.execute("UPDATE jobs SET status='completed', result_cid=?, updated_at=? "
                         "WHERE id=?", (result_cid, ts, job_id))
            self._event(conn, job_id, None, "assembled", "completed", None, detail, ts)
            body = self._job_obj(conn, self._job_row(conn, job_id))
        log.info("job %d: completed, result directory %s (%s)", job_id, result_cid, detail)
        return body
