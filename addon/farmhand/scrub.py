"""Nothing local leaves the machine: the worker's own paths and user name are replaced in
every text sent to the coordinator (errors, log tails, release reasons).

Replacements, longest first so a job dir inside the home dir reads ``<job>/...``:

- the job's directory (as given and as resolved) -> ``<job>``
- the engine's work dir (the job dir's parent) -> ``<work>``
- Blender's and Python's install dirs (``bpy.utils.resource_path('LOCAL')``,
  ``sys.prefix``) -> ``<blender>`` / ``<python>`` (they name the user on many machines)
- the home directory (``~``) -> ``<home>``
- the user name (login name, and the home dir's last part) -> ``<user>``, as a whole word

A creator still sees their own paths (the .blend's ``//texture.png``): those are theirs.
"""

from __future__ import annotations

import getpass
import os
import re
import sys


def _variants(path: str) -> set[str]:
    out = set()
    if path:
        for p in (path, os.path.realpath(path), os.path.abspath(path)):
            p = p.rstrip("/\\")
            if len(p) > 1:
                out.add(p)
    return out


def _user_names(home: str) -> set[str]:
    names = set()
    try:
        names.add(getpass.getuser())
    except (KeyError, OSError):  # no login name (a container's numeric uid)
        pass
    for var in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(var):
            names.add(os.environ[var])
    base = os.path.basename(home.rstrip("/\\")) if home else ""
    if base:
        names.add(base)
    # Too short or too common to replace without mangling the text.
    return {n for n in names if len(n) >= 3 and n not in {"root", "home", "user", "users"}}


class Scrubber:
    """Replaces the worker's paths in text; build one per job (``job_dir`` may be None)."""

    def __init__(self, job_dir: str | None = None, home: str | None = None,
                 extra: dict | None = None):
        home = home if home is not None else os.path.expanduser("~")
        pairs = []
        if job_dir:
            pairs += [(v, "<job>") for v in _variants(job_dir)]
            pairs += [(v, "<work>") for v in _variants(os.path.dirname(
                os.path.abspath(job_dir)))]
        for path, name in (extra or {}).items():
            pairs += [(v, name) for v in _variants(path)]
        pairs += [(v, "<python>") for v in _variants(sys.prefix)]
        pairs += [(v, "<home>") for v in _variants(home)]
        # "/" or "/tmp" as a work dir's parent would eat every path: keep specific ones.
        self.pairs = sorted({(p, n) for p, n in pairs if p.count("/") + p.count("\\") >= 2
                             or n in ("<job>", "<home>")}, key=lambda x: -len(x[0]))
        names = sorted(_user_names(home), key=len, reverse=True)
        self.user = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, names)) +
                               r")(?![\w-])") if names else None

    def __call__(self, text: str) -> str:
        """``text`` with the worker's paths and user name replaced."""
        if not text:
            return text
        for path, name in self.pairs:
            text = text.replace(path, name)
        if self.user is not None:
            text = self.user.sub("<user>", text)
        return text


def scrub(text: str, job_dir: str | None = None) -> str:
    """:class:`Scrubber` for ``job_dir`` applied once to ``text``."""
    return Scrubber(job_dir)(text)
