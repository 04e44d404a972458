"""The demo's driver, also used by tests/e2e: a local farm (kubo + coordinator), the
sample scene, job submission and a headless Blender worker.

    .venv/bin/python scripts/demo_farm.py [--blender CELL] [--frames 1-3] [--keep]

CELL is a Blender of the matrix (scripts/blender_cells.py): blender34 (Debian's, alias
``debian``), bpy42, bpy45, bpy50 (alias ``bpy``) or bpy52 (Python 3.13).

Steps: start kubo and the coordinator (scripts/localfarm), generate the sample scene
(scripts/demo_scene.py, saved by Debian's Blender 3.4 when present so every worker can open
it), add it to IPFS and create a job, run the worker until the job completes, fetch the
result from kubo, print the result CID, the creators' page URL of the job (/web/#/job/<id>)
and the rendered file's
path, then stop everything it started (``--keep``: keep kubo and the coordinator running
until Ctrl-C, so the page and its thumbnail stay reachable).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import blender_cells  # noqa: E402
from localfarm import Coordinator, Kubo  # noqa: E402

VENV_PYTHON = REPO / ".venv" / "bin" / "python"
DEBIAN_BLENDER = shutil.which("blender")
HEADLESS_EXPR = "import farmhand; farmhand.run_headless()"


def generate_scene(out: Path, *options: str, blender: str | None = None) -> Path:
    """Write the sample scene to ``out`` with scripts/demo_scene.py (``options`` go to it).
    ``blender``: a cell name (default: the oldest here, Debian's 3.4 when installed, so every
    worker can open the file)."""
    blender = blender or blender_cells.oldest_available().name
    script = REPO / "scripts" / "demo_scene.py"
    cmd = blender_cells.cell(blender).argv(script, [out, *options])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"scene generation failed:\n{proc.stdout}\n{proc.stderr}")
    return out


def http_json(method: str, url: str, body=None, timeout: float = 30):
    """A JSON request with urllib; returns the decoded reply."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as reply:
        return json.loads(reply.read())


def submit_job(coord: Coordinator, kubo: Kubo, blend: Path, frames=(), output_format="PNG",
               max_attempts: int = 3) -> dict:
    """Add ``blend`` to kubo and create a job (dev-mode coordinator); returns the job."""
    cid = kubo.add(blend)
    return http_json("POST", coord.url + "/api/v1/jobs", {
        "asset_cid": cid, "frames": list(frames), "output_format": output_format,
        "reward": "1.00", "max_attempts": max_attempts})


def get_job(coord: Coordinator, job_id: int) -> dict:
    return http_json("GET", f"{coord.url}/api/v1/jobs/{job_id}")


def job_events(coord: Coordinator, job_id: int) -> list[dict]:
    return http_json("GET", f"{coord.url}/api/v1/jobs/{job_id}/events")["events"]


def wait_for_job(coord: Coordinator, job_id: int, states=("completed", "failed"),
                 timeout: float = 120, worker: subprocess.Popen | None = None) -> dict:
    """Poll until the job's status is in ``states``; raises TimeoutError (or RuntimeError
    if ``worker`` exits first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = get_job(coord, job_id)
        if job["status"] in states:
            return job
        if worker is not None and worker.poll() is not None:
            raise RuntimeError(f"worker exited ({worker.returncode}) while job {job_id} is "
                               f"{job['status']}")
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} not in {states} after {timeout} s: {get_job(coord, job_id)}")


def addon_scripts_dir(base: Path) -> Path:
    """A Blender user scripts dir whose addons/farmhand links to the repo's add-on."""
    addons = base / "scripts" / "addons"
    addons.mkdir(parents=True, exist_ok=True)
    link = addons / "farmhand"
    if not link.exists():
        link.symlink_to(REPO / "addon" / "farmhand")
    return base / "scripts"


def worker_command(blender: str, args: list[str]) -> list[str]:
    """The headless worker's argv in cell ``blender``: a Blender binary
    (``blender -b --factory-startup --python-expr ... -- ARGS``) or a bpy module's Python
    (``python -c ... ARGS``). Raises KeyError for an unknown cell."""
    return blender_cells.cell(blender).argv(expr=HEADLESS_EXPR, args=args)


def start_worker(coord: Coordinator, kubo: Kubo, home: Path, blender: str = "blender34",
                 extra_args=(), log_path: Path | None = None,
                 core_path: str | None = None, env: dict | None = None) -> subprocess.Popen:
    """Start a headless worker against ``coord``/``kubo``; ``home`` holds its key, work dir
    and Blender user dirs (reuse it to restart "the same" worker). stdout+stderr go to
    ``log_path`` (default home/worker.log, appended). ``env``: variables set for the worker
    on top of this process's (e.g. ``HOME``, ``USER``)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(env or {})}
    scripts = addon_scripts_dir(home)
    env["BLENDER_USER_SCRIPTS"] = str(scripts)
    env["BLENDER_USER_CONFIG"] = str(home / "config")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(scripts / "addons"), env.get("PYTHONPATH", "")] if p)
    if core_path or os.environ.get("FARMHAND_CORE_PATH"):
        env["FARMHAND_CORE_PATH"] = core_path or os.environ["FARMHAND_CORE_PATH"]
    args = ["--backend", coord.url, "--ipfs-rpc", kubo.api_url, "--gateways", kubo.gateway_url,
            "--key-file", str(home / "worker.key"), "--work-dir", str(home / "work"),
            "--poll-wait", "2", "--online", *extra_args]
    log = open(log_path or home / "worker.log", "ab")
    return subprocess.Popen(worker_command(blender, args), env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=home)


def fetch_result(kubo: Kubo, cid: str, dest: Path) -> Path:
    """``ipfs get`` the result into ``dest`` (a file for one frame, a dir for several)."""
    kubo.cli("get", "-o", str(dest), cid)
    return dest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Farmhand demo: one job, end to end")
    parser.add_argument("--blender", choices=blender_cells.NAMES,
                        default=blender_cells.oldest_available().name,
                        help="the Blender that runs the worker (default: the oldest here)")
    parser.add_argument("--frames", default="", help='e.g. "1-3" (default: current frame)')
    parser.add_argument("--keep", action="store_true",
                        help="keep kubo and the coordinator running until Ctrl-C")
    args = parser.parse_args(argv)
    missing = blender_cells.cell(args.blender).missing()
    if missing:
        print(f"demo: {missing}")
        return 2
    run_dir = REPO / ".demo" / time.strftime("run-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    frames = []
    if args.frames:
        first, _, last = args.frames.partition("-")
        frames = list(range(int(first), int(last or first) + 1))
    print(f"demo: working in {run_dir}")
    with Kubo.start() as kubo:
        # One worker cannot verify another: spot verification off, result checks on.
        with Coordinator.start(run_dir / "coordinator.sqlite", "--gateway-url",
                               kubo.gateway_url, "--ipfs-api", kubo.api_url,
                               "--verify-share", "0") as coord:
            return _demo(kubo, coord, run_dir, args, frames)


def _demo(kubo, coord, run_dir, args, frames) -> int:
    print(f"demo: kubo at {kubo.api_url}, coordinator at {coord.url}")
    scene = generate_scene(run_dir / "scene.blend")
    job = submit_job(coord, kubo, scene, frames)
    print(f"demo: submitted job {job['id']}: scene {scene.name} "
          f"({scene.stat().st_size} bytes) as {job['asset_cid']}")
    started = time.monotonic()
    worker = start_worker(coord, kubo, run_dir / "worker", args.blender, ["--max-jobs", "1"])
    print(f"demo: headless worker started ({blender_cells.cell(args.blender).label}), log "
          f"{run_dir / 'worker' / 'worker.log'}")
    try:
        job = wait_for_job(coord, job["id"], timeout=300, worker=None)
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    if job["status"] != "completed":
        print(f"demo: job {job['id']} {job['status']}: {job['error']}")
        return 1
    name = "result" if len(frames) > 1 else "result.png"
    result = fetch_result(kubo, job["result_cid"], run_dir / name)
    print(f"demo: job {job['id']} completed in {time.monotonic() - started:.1f} s "
          f"(render {job['render_seconds']:.2f} s) by {job['worker_address']}")
    print(f"result CID:  {job['result_cid']}")
    print(f"page:        {coord.url}/web/#/job/{job['id']}")
    print(f"job table:   {coord.url}/")
    if result.is_dir():
        names = ", ".join(sorted(p.name for p in result.iterdir()))
        print(f"rendered:    {result}")
        print(f"frames:      {names}")
    else:
        print(f"rendered:    {result}")
    if not args.keep:
        print("demo: stopping kubo and the coordinator (the page goes with them; "
              "scripts/demo --keep keeps them up)")
    if args.keep:
        print("demo: kubo and the coordinator keep running; Ctrl-C to stop")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
