"""The headless worker of one Blender cell as a node starts it: under the launcher
(``python -m farmhand_core.sandbox``: Landlock, key as FARMHAND_KEY_FD, RLIMIT_DATA), with the
node's layout (``home/worker.key`` beside ``home/work``, so ``//../../worker.key`` from a job
names the key). Shared by the security tests (test_hostile_corpus, test_poison_job,
test_memory_ceiling).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import blender_cells
from e2e_helpers import demo_farm  # (sys.path: conftest.py)


@dataclass
class SandboxedWorker:
    """What a test needs to start and check one sandboxed worker.

    ``launcher``: the full argv (launcher, its options, ``--``, ``worker``); ``worker``: the
    Blender command the launcher execs; ``env``: the environment to start ``launcher`` in;
    ``home``/``work``/``key``: the node's dir, its work dir (the only writable path) and its
    key file (outside everything the render may open); ``extra_read``: the read-only paths
    given with ``--read`` (the add-on, the venvs).
    """

    launcher: list[str]
    worker: list[str]
    env: dict[str, str]
    home: Path
    work: Path
    key: Path
    extra_read: list[str]


def sandboxed_worker(blender: str, home: Path, coordinator, kubo,
                     memory_max: str = "8G") -> SandboxedWorker:
    """The launcher command for cell ``blender`` (a name of scripts/blender_cells.py) against
    ``coordinator``/``kubo``, with ``--memory-max memory_max`` (the launcher's syntax: "1G",
    "75%", bytes). Creates ``home`` and its add-on scripts dir. The launcher runs under the
    cell's own Python (a bpy cell: its venv's interpreter, whose ABI matches the cell's staged
    farmhand_core; Debian's Blender: this Python 3.11), as the node unit runs it under the
    Python that can import the core. Raises KeyError for an unknown cell."""
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    scripts = demo_farm.addon_scripts_dir(home)
    cell = blender_cells.cell(blender)
    core = os.environ.get("FARMHAND_CORE_PATH", str(cell.core_path))
    env.update(BLENDER_USER_SCRIPTS=str(scripts), BLENDER_USER_CONFIG=str(home / "config"),
               FARMHAND_CORE_PATH=core,
               PYTHONPATH=os.pathsep.join([str(scripts / "addons"), core]))
    key, work = home / "worker.key", home / "work"
    worker = demo_farm.worker_command(blender, [
        "--backend", coordinator.url, "--ipfs-rpc", kubo.api_url, "--key-file", str(key),
        "--work-dir", str(work), "--poll-wait", "1", "--prefetch", "0", "--online"])
    extra_read = [str(demo_farm.REPO / "addon"), str(demo_farm.REPO / ".venv"),
                  os.path.realpath(demo_farm.REPO / ".venv")]
    python = sys.executable
    if cell.is_module:  # the bpy module's venv, whose Python matches the cell's core
        venv = cell.python.parent.parent
        extra_read += [str(venv), os.path.realpath(venv)]
        python = str(cell.python)
    launcher = [python, "-m", "farmhand_core.sandbox", "--work-dir", str(work),
                "--key-file", str(key), "--memory-max", memory_max,
                *[a for p in extra_read for a in ("--read", p)], "--", *worker]
    return SandboxedWorker(launcher, worker, env, home, work, key, extra_read)


def child_pid(parent: int, timeout: float = 30, exec_done: bool = False) -> int:
    """The first child of `parent` (strace's tracee: the launcher, later Blender). With
    ``exec_done`` only a child that runs another program than `parent` counts: give it under
    strace, which forks short-lived children of its own at start (its ptrace feature probes,
    the same program and command line as strace); a stop signal sent to one of those never
    reached the worker, which went on running after the test (clean-clone CI runs; 2 runs in
    12 of the bpy cells here). Raises TimeoutError when none appears within ``timeout``
    seconds; a parent that exited shows no children."""
    deadline = time.monotonic() + timeout
    own = os.readlink(f"/proc/{parent}/exe") if exec_done else None
    while time.monotonic() < deadline:
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except FileNotFoundError:
            break
        for task in tasks:
            try:
                kids = (task / "children").read_text().split()
            except FileNotFoundError:
                continue
            for kid in kids:
                try:
                    if own is None or os.readlink(f"/proc/{kid}/exe") != own:
                        return int(kid)
                except (FileNotFoundError, ProcessLookupError):
                    continue  # gone (a probe), or not yet readable
        time.sleep(0.05)
    raise TimeoutError(f"process {parent} started no child" +
                       (" running another program" if exec_done else ""))


def stop(proc: subprocess.Popen, pid: int | None = None, timeout: float = 60,
         group: bool = False) -> list[str]:
    """Stops a worker the way systemd does: SIGTERM to ``pid`` (default: ``proc`` itself; for
    a worker under strace, the tracee) then waits for ``proc``; SIGKILL after ``timeout`` s.
    A process that already exited (Blender may end between the poll and the kill) is fine:
    that race raised ProcessLookupError in CI before. ``group``: ``proc`` leads its own process
    group; what is left of it afterwards is killed (:func:`reap_group`). Returns the command
    lines so killed, with "(not stopped in N s)" first when ``proc`` had to be killed."""
    late = []
    if proc.poll() is None:
        try:
            os.kill(pid if pid is not None else proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        late = [f"(not stopped in {timeout:g} s)"]
        if pid is not None:  # strace killed alone would leave its tracee running, detached
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.kill()
        proc.wait()
    if group:  # started with start_new_session=True: its group is its own
        return late + reap_group(proc)
    return late


def reap_group(proc: subprocess.Popen) -> list[str]:
    """SIGKILL what is left of ``proc``'s process group once ``proc`` has ended (started with
    ``start_new_session=True``: strace, the launcher, Blender and anything they forked), and
    print each such process: a clean-clone CI run left a bpy-cell worker of this test
    running, its parent gone. Returns the command lines that were still running."""
    left = []
    for task in Path("/proc").iterdir():
        if not task.name.isdigit() or int(task.name) == proc.pid:
            continue
        try:
            if os.getpgid(int(task.name)) != proc.pid:
                continue
            left.append((task / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
        except (OSError, ProcessLookupError):
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for line in left:
        print(f"process left by the worker's stop, killed: {line}", flush=True)
    return left


def wait_peak_rss(proc: subprocess.Popen, timeout: float) -> int:
    """Waits for ``proc`` like ``Popen.wait`` (its ``returncode`` is set) and returns its peak
    resident set in bytes: wait4(2)'s ru_maxrss (getrusage(2): the largest RSS the process,
    i.e. Blender that the launcher exec'd in place, ever had; the kernel's VmHWM at exit).
    Raises subprocess.TimeoutExpired after ``timeout`` seconds (the process keeps running)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_maxrss * 1024
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.2)
