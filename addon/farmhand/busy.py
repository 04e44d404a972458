"""Blender refusing writes from Python *for the moment*, told apart from real errors.

Blender guards writes from read-only Python callbacks (draw functions, a render engine's
instance being made) with one global flag (``pyrna_write_check`` in bpy_rna.cc). The main
thread and a render job's thread both set and restore it without a lock, so after their
Python overlaps it can stay set for a while: every write from a timer then fails with one of
the two messages below until a draw callback runs again. The GUI worker retries such a step
on a later turn (:class:`RetryWindow`) rather than failing the job or leaving its scene in
the artist's file. No bpy here: tested without Blender.
"""

from __future__ import annotations

# bpy_rna.cc rna_id_write_error() and pyop_call() (Blender 2.8 to 5.x): the operator's text
# reads "can't modify blend data" up to 4.5 and "cannot modify blend data" from 5.0 on
# (tests/addon/test_farm_render_paths.py provokes both refusals in every cell)
REFUSALS = ("in this context is not allowed", "modify blend data in this state")


def is_refused_write(exc: BaseException) -> bool:
    """Whether ``exc`` is Blender refusing a data write for the moment (AttributeError on an
    ID property, RuntimeError from an operator call), not a real error."""
    if not isinstance(exc, (AttributeError, RuntimeError)):
        return False
    text = str(exc)
    return any(refusal in text for refusal in REFUSALS)


class RetryWindow:
    """How long one refused step is retried: :meth:`allow` is True for ``limit_s`` seconds
    after the first refusal, then False (the step fails as any error would). :meth:`reset`
    when the step succeeded. Times are ``time.monotonic()`` seconds."""

    def __init__(self, limit_s: float):
        self.limit_s = limit_s
        self.since = 0.0

    def allow(self, now: float) -> bool:
        """Record a refusal at ``now``; whether the step may be tried again."""
        if not self.since:
            self.since = now
        return now - self.since < self.limit_s

    @property
    def first(self) -> bool:
        """Whether no refusal is being retried (nothing logged yet)."""
        return not self.since

    def stuck(self, now: float, after_s: float) -> bool:
        """Whether the refusals began at least ``after_s`` seconds before ``now``: longer
        than any read-only callback lasts, so Blender's write guard is stuck (write_gate)."""
        return bool(self.since) and now - self.since >= after_s

    def reset(self) -> None:
        self.since = 0.0
