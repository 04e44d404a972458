"""Prometheus text exposition (format 0.0.4,
prometheus.io/docs/instrumenting/exposition_formats) without a client library."""

from __future__ import annotations

import bisect
import threading


class Histogram:
    """A cumulative histogram of seconds. ``buckets``: upper bounds, ascending."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]):
        self.name = name
        self.help = help_text
        self.buckets = buckets
        self._counts = [0] * (len(buckets) + 1)   # last = +Inf only
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._counts[bisect.bisect_left(self.buckets, value)] += 1
            self._sum += value

    def render(self) -> list[str]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, count in zip(self.buckets, counts):
            running += count
            lines.append(f'{self.name}_bucket{{le="{bound:g}"}} {running}')
        running += counts[-1]
        lines.append(f'{self.name}_bucket{{le="+Inf"}} {running}')
        lines.append(f"{self.name}_sum {total:.6f}")
        lines.append(f"{self.name}_count {running}")
        return lines


class Metrics:
    """The coordinator's in-process histograms (reset on restart, as Prometheus expects)."""

    def __init__(self):
        self.claim_latency = Histogram(
            "farmhand_claim_latency_seconds",
            "Seconds a job waited in pending before a worker was assigned.",
            (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
        self.render_seconds = Histogram(
            "farmhand_render_seconds", "render_seconds reported by completed jobs.",
            (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200))

    def render(self, counts: dict[str, int], workers_seen: int, lease_expiries: int,
               task_counts: dict[str, int] | None = None) -> str:
        """The whole /metrics body. ``counts``: jobs per status."""
        lines = ["# HELP farmhand_jobs Jobs by status.", "# TYPE farmhand_jobs gauge"]
        lines += [f'farmhand_jobs{{status="{s}"}} {n}' for s, n in sorted(counts.items())]
        if task_counts is not None:
            lines += ["# HELP farmhand_tasks Tasks (what workers claim) by status.",
                      "# TYPE farmhand_tasks gauge"]
            lines += [f'farmhand_tasks{{status="{s}"}} {n}'
                      for s, n in sorted(task_counts.items())]
        lines += ["# HELP farmhand_workers_seen Distinct worker addresses that authenticated.",
                  "# TYPE farmhand_workers_seen gauge", f"farmhand_workers_seen {workers_seen}",
                  "# HELP farmhand_lease_expiries_total Leases that expired since start.",
                  "# TYPE farmhand_lease_expiries_total counter",
                  f"farmhand_lease_expiries_total {lease_expiries}"]
        lines += self.claim_latency.render()
        lines += self.render_seconds.render()
        return "\n".join(lines) + "\n"
