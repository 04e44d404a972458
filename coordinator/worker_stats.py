"""What the coordinator credits to one worker (``GET /api/v1/workers/me``, docs/protocol.md):
counted from the events table, so it holds whatever shape the jobs themselves take."""

from __future__ import annotations

from decimal import Decimal

from .db import Database
from .timefmt import iso


def format_reward(total: Decimal) -> str:
    """``Decimal('4.50')`` -> ``"4.5"``, ``Decimal('0.00')`` -> ``"0"`` (protocol's reward
    format: no exponent, no trailing zeros after the point)."""
    text = format(total.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def newest_worker_blender(db: Database, since: float) -> tuple[int, str] | None:
    """The newest Blender among unblocked workers seen at or after ``since`` (epoch seconds):
    ``(304, "3.4.1")`` (header numbering, as the worker said it), or None when no such worker
    said its version (docs/protocol.md, ``POST /api/v1/uploads``, ``too_new``)."""
    with db.reader() as conn:
        row = conn.execute(
            "SELECT blender_num, blender_version FROM workers WHERE blender_num IS NOT NULL "
            "AND blocked=0 AND last_seen>=? ORDER BY blender_num DESC LIMIT 1",
            (since,)).fetchone()
    return (row[0], row[1]) if row is not None else None


def worker_stats(db: Database, address: str) -> dict:
    """``{"worker_address", "jobs_completed", "jobs_failed", "reward_total",
    "first_seen_at"}`` for ``address`` (a lower-case 0x address from a verified token).

    ``jobs_completed``: distinct jobs (to a worker: tasks, docs/protocol.md "Jobs and tasks")
    with a ``completed`` event by this worker;
    ``jobs_failed``: its ``failed`` events; ``reward_total``: the sum of the completed jobs'
    rewards (a task's share of its job's reward; exact decimal arithmetic, rewards are decimal
    strings)."""
    with db.reader() as conn:
        rewards = conn.execute(
            "SELECT tasks.reward FROM tasks WHERE tasks.id IN (SELECT task_id FROM events "
            "WHERE type='completed' AND worker_address=?)", (address,)).fetchall()
        failed = conn.execute("SELECT COUNT(*) FROM events WHERE type='failed' AND "
                              "worker_address=?", (address,)).fetchone()[0]
        seen = conn.execute("SELECT first_seen FROM workers WHERE address=?",
                            (address,)).fetchone()
    total = sum((Decimal(r[0]) for r in rewards), Decimal(0))
    return {"worker_address": address, "jobs_completed": len(rewards), "jobs_failed": failed,
            "reward_total": format_reward(total),
            "first_seen_at": iso(seen[0]) if seen else None}
