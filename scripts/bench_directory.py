"""Bench: a job's result directory from its frames' CIDs (docs/protocol.md "Jobs and tasks"),
run by `scripts/bench directory [FRAMES]` against an isolated kubo (scripts/localfarm).

Side by side, for FRAMES small PNG frames already in kubo (as workers leave them):
  - coordinator: the dag-pb node built in Python (coordinator/unixfs_dir.py) + `block/put`
  - kubo MFS:    `files/mkdir` + one `files/cp` per frame + `files/stat` (kubo's own RPC)
  - reference:   `ipfs add -r -Q` of the frame files (reads every frame again)
and checks that all three CIDs are equal.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "coordinator"))
from localfarm import Kubo  # noqa: E402

from coordinator.farm import Farm  # noqa: E402
from coordinator.kubo import Kubo as KuboRpc  # noqa: E402
from coordinator.unixfs_dir import directory_node  # noqa: E402
from farm_helpers import write_frames  # noqa: E402


def main(count: int) -> int:
    with Kubo.start() as kubo, tempfile.TemporaryDirectory(prefix="bench-dir-") as tmp:
        frames = write_frames(Path(tmp) / "frames", list(range(1, count + 1)))
        t = time.perf_counter()
        reference = kubo.add(frames)
        add_r = time.perf_counter() - t
        lines = kubo.cli("add", "-r", str(frames)).splitlines()
        cids = {ln.split()[2].split("/")[-1]: ln.split()[1] for ln in lines[:-1]}
        rpc = KuboRpc(kubo.api_url)
        farm = Farm(None, rpc, None, trusted=True)

        async def ours():
            t0 = time.perf_counter()
            parts = await asyncio.gather(*(farm.result_files(cids[n], [int(n[6:10])], "PNG")
                                           for n in sorted(cids)))
            entries = [e for part in parts for e in part]
            read = time.perf_counter() - t0
            block, cid = directory_node(entries)
            await rpc.put_dag_pb(block)
            return cid, read, time.perf_counter() - t0, len(block)

        cid, read_s, ours_s, size = asyncio.run(ours())
        t = time.perf_counter()
        mfs = asyncio.run(rpc.mfs_directory("/bench", sorted(cids.items())))
        mfs_s = time.perf_counter() - t
    print(f"directory of {count} frames (node {size} bytes)")
    print(f"  coordinator dag-pb + block/put: {ours_s * 1000:8.1f} ms "
          f"(of which reading {count} root nodes: {read_s * 1000:.1f} ms)  {cid}")
    print(f"  kubo MFS files/cp + files/stat: {mfs_s * 1000:8.1f} ms  {mfs}")
    print(f"  ipfs add -r (reads every frame): {add_r * 1000:7.1f} ms  {reference}")
    ok = cid == mfs == reference
    print("  CIDs equal" if ok else "  CIDs DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 24))
