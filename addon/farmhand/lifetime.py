"""Lifetime numbers kept across Blender restarts: jobs done and time rendered (no bpy).

Stored as JSON, ``{"jobs_done": 3, "seconds_rendered": 81.5}``, in
``<Blender user config>/farmhand/lifetime.json`` (the key file's directory). A missing or
unreadable file counts from zero (and says so in the log); values are checked on load.
"""

from __future__ import annotations

import json
import os

from .log import log


class Lifetime:
    """``jobs_done`` and ``seconds_rendered`` since the first start; :meth:`add_job` saves."""

    def __init__(self, path: str):
        self.path = path
        self.jobs_done = 0
        self.seconds_rendered = 0.0
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            jobs, seconds = data["jobs_done"], data["seconds_rendered"]
            if (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 0 or
                    not isinstance(seconds, (int, float)) or not 0 <= seconds < 1e12):
                raise ValueError(f"bad values {jobs!r}, {seconds!r}")
            self.jobs_done, self.seconds_rendered = jobs, float(seconds)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("lifetime numbers in %s unreadable (%s): counting from zero", path, exc)

    def add_job(self, seconds: float) -> None:
        """One more job done, rendered in ``seconds``; written at once (atomically)."""
        self.jobs_done += 1
        self.seconds_rendered += max(0.0, float(seconds))
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"jobs_done": self.jobs_done,
                       "seconds_rendered": round(self.seconds_rendered, 3)}, f)
        os.replace(tmp, self.path)
