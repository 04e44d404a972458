"""Command line of farmhand_core.

    python -m farmhand_core cid [--cid-version 0|1] PATH

prints exactly what ``ipfs add -Q --only-hash [--cid-version N] [-r] PATH`` prints: the root
CID of a file or directory (kubo defaults: 256 KiB chunks, balanced DAG; v1: raw leaves).
Exit status 0 on success, 1 on an error (message on stderr), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m farmhand_core")
    commands = parser.add_subparsers(dest="command", required=True)
    cid = commands.add_parser("cid", help="print the IPFS CID of a file or directory")
    cid.add_argument("--cid-version", type=int, choices=(0, 1), default=0)
    cid.add_argument("path")
    args = parser.parse_args(argv)

    from . import FarmhandError
    from .ipfs import cid_of

    try:
        print(cid_of(args.path, args.cid_version))
    except FarmhandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
