"""Reading ``strace -f -e trace=%file`` output: which paths a process tree opened, wrote or
was refused (strace(1) line format: ``PID syscall(args) = result [ERRNO (text)]``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:\s+(\w+))?")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
# Calls that change the filesystem whatever their flags.
_WRITES = {"mkdir", "mkdirat", "unlink", "unlinkat", "rmdir", "rename", "renameat",
           "renameat2", "link", "linkat", "symlink", "symlinkat", "truncate", "chmod",
           "fchmodat", "chown", "fchownat", "lchown", "creat", "mknod", "mknodat", "utimensat"}
_OPENS = {"open", "openat", "openat2", "creat"}


@dataclass
class Access:
    pid: int
    call: str
    path: str
    ok: bool
    errno: str
    write: bool
    line: str


def parse(text: str, cwd: str, after: str | None = None) -> list[Access]:
    """Every path-naming call in ``text``; relative paths are joined to ``cwd``. With
    ``after``, only the calls after the first successful ``execve`` whose line contains it."""
    out = []
    started = after is None
    pending: dict[str, str] = {}  # pid -> first half of a call split by another thread's
    for line in text.splitlines():
        split = re.match(r"^(\d+)\s+(.*) <unfinished \.\.\.>$", line)
        if split:
            pending[split.group(1)] = split.group(2)
            continue
        resumed = re.match(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$", line)
        if resumed and resumed.group(1) in pending:
            line = f"{resumed.group(1)} {pending.pop(resumed.group(1))}{resumed.group(2)}"
        m = _LINE.match(line)
        if not m:
            continue
        pid, call, args, result, errno = m.groups()
        if not started:
            started = call == "execve" and after in line and result == "0"
            continue
        strings = _STRING.findall(args)
        if not strings or (call in _OPENS and "O_PATH" in args):
            continue  # O_PATH: a handle for *at() calls, no access to the contents
        ok = result != "?" and int(result) >= 0
        write = call in _WRITES or (call in _OPENS and re.search(
            r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", args) is not None)
        paths = strings[:2] if call in ("rename", "renameat", "renameat2", "link", "linkat",
                                        "symlink", "symlinkat") else strings[:1]
        # With strace -y a directory descriptor shows its path: openat(5</usr/share>, "x", ..)
        dirfd = re.match(r"(?:-?\d+|AT_FDCWD)(?:<([^>]*)>)?,", args)
        base = dirfd.group(1) if dirfd and dirfd.group(1) else cwd
        for raw in paths:
            path = raw.encode().decode("unicode_escape")
            path = os.path.normpath(os.path.join(base, path))
            out.append(Access(int(pid), call, path, ok, errno or "", write, line))
    return out


def within(path: str, roots) -> bool:
    """True if ``path`` is one of ``roots`` or lies beneath one."""
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)
