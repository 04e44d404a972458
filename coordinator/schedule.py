"""Which pending tasks a worker is offered, in what order (docs/protocol.md "Matching, fair
share, blocklists", "Priorities").

Eligibility is one SQL predicate (the worker's Blender version against the file's, the job's
blocklist and crash record, verification by a different worker). Order: round-robin across
creators -- the creator whose offerable tasks include the highest operator-raised priority
(above CREATOR_MAX_PRIORITY; none counts as 0) first, then the one with the fewest assigned
tasks, then the one served least recently -- and, within a creator, verification tasks first
(they hold a finished job back), then the creator's tasks by job priority, highest first, each
priority level a random slice of its oldest pending tasks (so workers polling together rarely
race for the same task). The first offer of a reply is held for the asking worker for
:data:`HOLD_SECONDS` (:class:`Holds`): meanwhile it is offered to no other worker (a long poll
re-checks when holds end). A creator at the cap of assigned tasks gets no offers.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import time

from .models import CREATOR_MAX_PRIORITY

OFFER_WINDOW = 8  # offers are drawn from a creator's oldest OFFER_WINDOW * limit tasks
HOLD_SECONDS = 2.0  # a reply's first offer is kept out of other workers' heads this long
_random = random.SystemRandom()


class Holds:
    """Task id -> (worker, until): which worker was last offered the task first, and until
    when (seconds, ``time.monotonic()`` clock) no other worker is offered it. In memory only:
    after a restart nothing is held (harmless)."""

    def __init__(self):
        self._held: dict[int, tuple[str | None, float]] = {}

    def held_by_other(self, task_id: int, worker: str | None, now: float) -> bool:
        """True if ``task_id`` is held for a worker other than ``worker`` at ``now``."""
        entry = self._held.get(task_id)
        return entry is not None and entry[1] > now and entry[0] != worker

    def active(self, now: float) -> bool:
        """True while any hold lasts (a parked long poll then re-checks every 0.5 s)."""
        return any(until > now for _, until in self._held.values())

    def hold(self, task_id: int, worker: str | None, now: float) -> None:
        """Hold ``task_id`` for ``worker`` for HOLD_SECONDS from ``now``; expired holds are
        dropped once the table passes 1024 entries."""
        self._held[task_id] = (worker, now + HOLD_SECONDS)
        if len(self._held) > 1024:
            self._held = {k: v for k, v in self._held.items() if v[1] > now}


# Tasks joined with the job fields a worker needs (store._TASK_SELECT is this).
SELECT = ("SELECT t.*, j.asset_cid AS asset_cid, j.output_format AS output_format, "
          "j.creator AS creator, j.blender_version AS blender_version, "
          "j.priority AS priority FROM tasks t JOIN jobs j ON j.id = t.job_id")

_ELIGIBLE = """
    t.status = 'pending' AND j.status IN ('pending', 'assigned')
    AND (:wnum IS NULL OR j.blender_version IS NULL OR j.blender_version <= :wnum)
    AND (:worker IS NULL OR NOT EXISTS (
        SELECT 1 FROM worker_jobs wj WHERE wj.job_id = t.job_id AND wj.worker_address = :worker
        AND (wj.failures >= 3 OR wj.crashes > 0)))
    AND (t.verifies IS NULL OR :worker IS NULL OR NOT EXISTS (
        SELECT 1 FROM tasks o WHERE (o.id = t.verifies OR o.verifies = t.verifies)
        AND o.id != t.id AND o.worker_address = :worker))
"""


def rendered_group(conn: sqlite3.Connection, task: sqlite3.Row, worker: str) -> bool:
    """True if ``worker`` rendered the task that verification ``task`` re-renders, or another
    verification of it."""
    return conn.execute("SELECT 1 FROM tasks o WHERE (o.id = ? OR o.verifies = ?) AND o.id != ? "
                        "AND o.worker_address = ?",
                        (task["verifies"], task["verifies"], task["id"], worker)).fetchone() \
        is not None


def _level(row: sqlite3.Row) -> tuple[bool, int]:
    """A task's place within its creator's queue: verification first, then job priority."""
    return (row["kind"] == "verify", row["priority"])


def _slice(window: list[sqlite3.Row], limit: int) -> list[sqlite3.Row]:
    """Up to ``limit`` rows of ``window`` (ordered by level, then age), taken level by level
    (highest first); within a level a random sample, so concurrent polls differ."""
    picked: list[sqlite3.Row] = []
    for _level_key, group in itertools.groupby(window, key=_level):
        group = list(group)
        picked += _random.sample(group, min(limit - len(picked), len(group)))
        if len(picked) >= limit:
            break
    return picked


def offers(conn: sqlite3.Connection, worker: str | None, wnum: int | None, limit: int,
           cap: int, served: dict[str, float], holds: Holds | None = None,
           now: float | None = None) -> list[sqlite3.Row]:
    """Up to ``limit`` pending task rows ``worker`` may take, ordered by fair share and
    priority. ``wnum``: the worker's Blender as major*100+minor (None: unknown, offered every
    file). ``cap``: assigned tasks per creator. ``served``: creator -> when it was last
    assigned a task. ``holds``: tasks held for other workers are left out; the first offer is
    then held for ``worker`` (``now``: ``time.monotonic()`` seconds)."""
    if holds is not None and now is None:
        now = time.monotonic()
    args = {"worker": worker, "wnum": wnum}
    creators = conn.execute(
        "SELECT j.creator, MAX(j.priority) FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE "
        + _ELIGIBLE + " GROUP BY j.creator", args).fetchall()
    running = dict(conn.execute(
        "SELECT j.creator, COUNT(*) FROM tasks t JOIN jobs j ON j.id = t.job_id "
        "WHERE t.status = 'assigned' GROUP BY j.creator").fetchall())
    raised = {c: (p if p > CREATOR_MAX_PRIORITY else 0) for c, p in creators}
    order = sorted(raised, key=lambda c: (-raised[c], running.get(c, 0), served.get(c, 0.0), c))
    queues = []
    for creator in order:
        if running.get(creator, 0) >= cap:
            continue
        window = conn.execute(
            SELECT + " WHERE j.creator = :creator AND " + _ELIGIBLE
            + " ORDER BY (t.kind = 'verify') DESC, j.priority DESC, t.pending_since, t.id "
            "LIMIT :limit",
            {**args, "creator": creator, "limit": OFFER_WINDOW * limit}).fetchall()
        if holds is not None:
            window = [r for r in window if not holds.held_by_other(r["id"], worker, now)]
        queues.append(_slice(window, limit))
    picked: list[sqlite3.Row] = []
    for i in range(limit):
        for queue in queues:
            if i < len(queue) and len(picked) < limit:
                picked.append(queue[i])
    if holds is not None and picked:
        holds.hold(picked[0]["id"], worker, now)
    return picked
