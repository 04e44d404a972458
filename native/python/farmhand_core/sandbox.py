"""The headless node's launcher: ``python -m farmhand_core.sandbox`` (docs/security.md).

    python -m farmhand_core.sandbox --work-dir /var/lib/farmhand/work \\
        --key-file /var/lib/farmhand/worker.key [--read PATH]... [--write PATH]... \\
        [--memory-max 75%|BYTES|8G] [--allow-unsandboxed] [--dry-run] \\
        -- blender -b --python-expr "import farmhand; farmhand.run_headless()"

Loads (or creates, 0600) the key and hands it to Blender as an inherited descriptor
(``FARMHAND_KEY_FD``), restricts the process with Landlock (read-only: Blender, its Python,
the add-on, system libraries, GPU driver paths, fonts; read/write: the work dir only; the key
file, home directories, /tmp and the rest of /etc do not exist for it), caps its memory with
RLIMIT_DATA, points TMPDIR/TMP/TEMP (Blender's temp files and crash report) into
``<work dir>/tmp``, then execs the command. The C++ half is ``farmhand_core._native.sandbox``.

``--dry-run`` prints the plan (paths, environment changes) as JSON and exits 0.
Exit status: 2 on bad usage, 1 when the launch is refused (the message says why; "not
sandboxed" where the OS has no Landlock and --allow-unsandboxed was not given).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ._native import sandbox as _native_sandbox

support = _native_sandbox.support
plan = _native_sandbox.plan
launch = _native_sandbox.launch

DEFAULT_MEMORY = "75%"


def parse_memory(text: str, physical: int | None = None) -> int:
    """Bytes from ``"75%"`` (of physical memory), ``"8G"``/``"512M"``/``"64K"`` (binary
    units) or a plain byte count; ``"0"`` means no cap. Raises ValueError."""
    text = text.strip()
    if text.endswith("%"):
        share = float(text[:-1])
        if not 0 < share <= 100:
            raise ValueError(f"memory share {text} must be above 0% and at most 100%")
        physical = physical if physical is not None else (
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        return int(physical * share / 100)
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    scale = units.get(text[-1:].upper(), 1)
    number = text[:-1] if scale != 1 else text
    value = int(float(number) * scale)
    if value < 0:
        raise ValueError(f"memory limit {text} is negative")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in argv:
        command = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(
        prog="python -m farmhand_core.sandbox",
        description="Run a Farmhand node's Blender under the OS sandbox.",
        epilog="Everything after -- is the command, e.g. -- blender -b --python-expr "
               "\"import farmhand; farmhand.run_headless()\"")
    parser.add_argument("--work-dir", required=True, help="the only read/write directory")
    parser.add_argument("--key-file", required=True, help="the worker key (never readable "
                        "by the render; passed as a descriptor)")
    parser.add_argument("--read", action="append", default=[], metavar="PATH",
                        help="another read-only path (a tarball Blender, a venv)")
    parser.add_argument("--write", action="append", default=[], metavar="PATH",
                        help="another read/write path (e.g. the log file)")
    parser.add_argument("--memory-max", default=DEFAULT_MEMORY,
                        help="RLIMIT_DATA: 75%% (default, of physical memory), 8G, bytes, 0=off")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="run even where the OS offers no sandbox")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    args = parser.parse_args(argv)
    if not command:
        parser.error("no command after --")
    try:
        memory = parse_memory(args.memory_max)
    except ValueError as exc:
        parser.error(f"--memory-max {args.memory_max}: {exc}")
    work_dir = os.path.abspath(args.work_dir)
    key_file = os.path.abspath(args.key_file)
    environment = [f"{k}={v}" for k, v in os.environ.items()]
    options = dict(work_dir=work_dir, key_file=key_file, command=command,
                   environment=environment, read_only=[os.path.abspath(p) for p in args.read],
                   read_write=[os.path.abspath(p) for p in args.write], memory_max=memory,
                   allow_unsandboxed=args.allow_unsandboxed)
    from . import FarmhandError

    try:
        if args.dry_run:
            result = plan(**options)
            before = set(environment)
            result["environment"] = sorted(set(result["environment"]) - before)
            print(json.dumps({k: [str(p) for p in v] if isinstance(v, list) else v
                              for k, v in result.items()}, indent=2))
            return 0
        print(f"farmhand-sandbox: {support()['description']}; exec {command[0]}",
              file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        launch(**options)
    except FarmhandError as exc:
        print(f"farmhand-sandbox: refused: {exc}", file=sys.stderr)
        return 1
    return 1  # launch() only returns by raising


if __name__ == "__main__":
    sys.exit(main())
