"""Command line: ``serve`` (run the API), ``submit`` (add a .blend to IPFS and post a job),
``jobs`` (list jobs). Binds to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse
import logging
import signal
import os
import sys
from pathlib import Path

from .config import ConfigError, Settings

DEFAULT_URL = "http://127.0.0.1:8000"


def parse_frames(text: str) -> list[int]:
    """``"1-3,7"`` -> ``[1, 2, 3, 7]``; ValueError on anything else."""
    frames: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        head, sep, tail = part.partition("-")
        if sep and head:
            first, last = int(head), int(tail)
            if last < first:
                raise ValueError(f"frame range {part} runs backwards")
            frames.extend(range(first, last + 1))
        else:
            frames.append(int(part))
    return frames


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _serve(args) -> int:
    import uvicorn

    from .app import create_app

    settings = Settings(
        db_path=Path(args.db), dev=args.dev, lease_seconds=args.lease_seconds,
        token_ttl_seconds=args.token_ttl_seconds,
        admin_token=args.admin_token or os.environ.get("FARMHAND_ADMIN_TOKEN") or None,
        jwt_secret_file=Path(args.jwt_secret_file) if args.jwt_secret_file else None,
        gateway_url=args.gateway_url, ipfs_api=args.ipfs_api,
        max_wait_seconds=args.max_wait_seconds, max_upload_bytes=args.max_upload_bytes,
        trusted=args.trusted, verify_share=args.verify_share,
        creator_task_cap=args.creator_task_cap, verify_wait_seconds=args.verify_wait_seconds,
        worker_recent_seconds=args.worker_recent_seconds)
    try:
        app = create_app(settings)
    except ConfigError as exc:
        print(f"coordinator: {exc}", file=sys.stderr)
        return 2
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port,
                                           log_level="info", timeout_graceful_shutdown=5,
                                           access_log=False))
    app.state.services.should_exit = lambda: server.should_exit
    server.run()
    return 0


def _submit(args) -> int:
    from .submit import SubmitError, submit

    try:
        frames = parse_frames(args.frames) if args.frames else []
        job = submit(Path(args.scene), frames=frames, output_format=args.format,
                     reward=args.reward, max_attempts=args.max_attempts,
                     chunk_size=args.chunk_size, creator=args.creator, url=args.url,
                     priority=args.priority,
                     ipfs_api=args.ipfs_api,
                     admin_token=args.admin_token or os.environ.get("FARMHAND_ADMIN_TOKEN"))
    except (SubmitError, ValueError, OSError) as exc:
        print(f"submit: {exc}", file=sys.stderr)
        return 1
    print(f"job {job['id']} cid {job['asset_cid']}")
    return 0


def _jobs(args) -> int:
    from .submit import SubmitError, list_jobs

    try:
        jobs = list_jobs(args.url, args.status)
    except SubmitError as exc:
        print(f"jobs: {exc}", file=sys.stderr)
        return 1
    print(f"{'id':>5}  {'status':<9}  {'att':>5}  {'worker':<14}  {'asset':<20}  result")
    for j in jobs:
        worker = (j["worker_address"] or "-")[:14]
        print(f"{j['id']:>5}  {j['status']:<9}  {j['attempts']}/{j['max_attempts']:<3}  "
              f"{worker:<14}  {j['asset_cid'][:20]:<20}  {j['result_cid'] or j['error'] or ''}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m coordinator",
                                     description="Farmhand reference coordinator")
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the HTTP API (docs/protocol.md)")
    s.add_argument("--db", default="coordinator.sqlite",
                   help="SQLite database file, created if missing (default: %(default)s)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--dev", action="store_true",
                   help="development mode: no admin token needed, JWT secret generated "
                        "beside the database")
    s.add_argument("--lease-seconds", type=float, default=60.0)
    s.add_argument("--token-ttl-seconds", type=int, default=3600)
    s.add_argument("--admin-token", help="bearer token for job creation "
                                         "(or env FARMHAND_ADMIN_TOKEN)")
    s.add_argument("--jwt-secret-file", help="file holding the JWT HS256 secret (mode 0600)")
    s.add_argument("--gateway-url", default="http://127.0.0.1:8080",
                   help="IPFS gateway used for result links on the page")
    s.add_argument("--ipfs-api", default="http://127.0.0.1:5001")
    s.add_argument("--max-wait-seconds", type=float, default=30.0,
                   help="longest long-poll wait granted")
    s.add_argument("--max-upload-bytes", type=_positive_int, default=2 << 30,
                   help="largest .blend accepted by POST /api/v1/uploads (default 2 GiB)")
    s.add_argument("--worker-recent-seconds", type=_positive_int, default=86400,
                   help="an upload newer than every worker seen this recently is refused "
                        "(too_new; default: %(default)s s)")
    s.add_argument("--trusted", action="store_true",
                   help="trust every worker and asset: no .blend header read at submission, "
                        "no result checks, no spot verification (a farm of your own machines)")
    s.add_argument("--verify-share", type=_share, default=0.05,
                   help="share of tasks rendered again by another worker, 0-1 "
                        "(default: %(default)s)")
    s.add_argument("--creator-task-cap", type=_positive_int, default=64,
                   help="assigned tasks per creator before its offers stop "
                        "(default: %(default)s)")
    s.add_argument("--verify-wait-seconds", type=float, default=300.0,
                   help="a verification task nobody took for this long is dropped "
                        "(default: %(default)s)")
    s.set_defaults(func=_serve)

    m = sub.add_parser("submit", help="add a .blend to IPFS and create a job")
    m.add_argument("scene", help="path of the .blend file")
    m.add_argument("--frames", default="", help='e.g. "1-3" or "1,5,9" (default: current)')
    m.add_argument("--format", default="PNG", choices=["PNG", "JPEG", "OPEN_EXR"])
    m.add_argument("--reward", default="1.00")
    m.add_argument("--max-attempts", type=int, default=3)
    m.add_argument("--chunk-size", type=int, default=0,
                   help="frames per task (default 0: one task for all frames)")
    m.add_argument("--creator", default="operator", help="whose job it is (fair share)")
    m.add_argument("--priority", type=int, default=0,
                   help="0-100, higher renders sooner; above 10 goes ahead of other creators "
                        "(docs/protocol.md 'Priorities'; default 0)")
    m.add_argument("--url", default=DEFAULT_URL, help="coordinator base URL")
    m.add_argument("--ipfs-api", default="http://127.0.0.1:5001", help="kubo RPC API URL")
    m.add_argument("--admin-token", help="admin token (or env FARMHAND_ADMIN_TOKEN)")
    m.set_defaults(func=_submit)

    j = sub.add_parser("jobs", help="list jobs")
    j.add_argument("--url", default=DEFAULT_URL)
    j.add_argument("--status", choices=["pending", "assigned", "completed", "failed"])
    j.set_defaults(func=_jobs)
    return parser


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `coordinator jobs | head`: end quietly, as ls does
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # submit/jobs print their own result; httpx's per-request INFO lines are noise there.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return args.func(args)
