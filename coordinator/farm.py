"""The farm's steps that need kubo: result checks before /complete counts, spot-verification
comparisons, and assembling a job's result directory (docs/protocol.md "Jobs and tasks",
"Result checks", "Spot verification").

Store transitions stay in JobStore; this module fetches and compares, then records through it.
Every follow-up (a verification to settle, a job to assemble) is found again from the database
by ``follow_up()``, which the API calls after each completion and the sweeper every second, so
a coordinator killed half-way finishes the step after its restart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Callable

from .checks import MIN_PSNR_DB, CheckFailed, check_frame, frame_name, psnr
from .errors import ApiError
from .kubo import Kubo, KuboError
from .store import JobStore
from .unixfs_dir import HAMT_THRESHOLD, directory_node, estimated_size, same_multihash

log = logging.getLogger("coordinator")
MAX_FRAME_BYTES = 256 << 20           # a frame file larger than this is refused unread
READ_CONCURRENCY = 16                 # root-node reads in flight while assembling


class Farm:
    """``store``: the JobStore; ``kubo``: the coordinator's IPFS node; ``call``: runs a
    blocking store method off the event loop (Services.call); ``trusted``: skip result checks."""

    def __init__(self, store: JobStore, kubo: Kubo, call: Callable, trusted: bool):
        self.store = store
        self.kubo = kubo
        self.call = call
        self.trusted = trusted
        self._lock = asyncio.Lock()
        self._retry: dict[tuple[str, int], tuple[float, float]] = {}  # key -> (due, delay)

    # -- results ------------------------------------------------------------------------

    async def result_files(self, result_cid: str, frames: list[int],
                           output_format: str) -> list[tuple[str, str, int]]:
        """[(file name, CID, Tsize)] of a task result: the result itself for a one-frame file,
        else the links of its directory, which must be exactly the task's frame files.
        Raises CheckFailed (wrong shape) or KuboError."""
        expected = [frame_name(f, output_format) for f in frames] if frames else None
        kind, tsize = await self.kubo.stat(result_cid)
        if kind == "directory":
            node = await self.kubo.node(result_cid)
            names = sorted(link["name"] for link in node["links"])
            if expected is not None and names != sorted(expected):
                raise CheckFailed(f"the result directory holds {names[:5]}, not the task's "
                                  f"frames {sorted(expected)[:5]}")
            return [(link["name"], link["cid"], link["tsize"]) for link in node["links"]]
        if kind != "file":
            raise CheckFailed(f"the result is a UnixFS {kind}, not a file or a directory")
        if expected is not None and len(expected) != 1:
            raise CheckFailed(f"the result is one file but the task has {len(expected)} frames")
        name = expected[0] if expected else frame_name(0, output_format)
        return [(name, result_cid, tsize)]

    async def check_result(self, task: dict, result_cid: str,
                           resolution: list[int] | None) -> list[int] | None:
        """Fetch and check every frame of a task's result; the frames' resolution. Raises
        CheckFailed."""
        try:
            files = await self.result_files(result_cid, task["frames"], task["output_format"])
            for name, cid, _tsize in files:
                data = await self.kubo.cat(cid, MAX_FRAME_BYTES)
                size = check_frame(data, name, task["output_format"], resolution)
                resolution = resolution or size
        except KuboError as exc:
            raise CheckFailed(f"the result could not be read from IPFS: {exc}") from None
        return resolution

    async def complete(self, task_id: int, worker: str, result_cid: str, sha256: str,
                       render_seconds: float, frames: list[int] | None,
                       device: str | None = None, blender: str | None = None
                       ) -> tuple[dict, bool]:
        """/complete: check the result (unless trusted), then record it; a failed check
        rejects the result (409 result_rejected). Then settle/assemble what became ready.
        ``device``/``blender``: what the worker says it really rendered with (None: what it
        said when it polled)."""
        plan = await self.call(self.store.plan_completion, task_id, worker, result_cid)
        resolution = None
        if not plan.repeat and not self.trusted:
            started = time.monotonic()
            try:
                resolution = await self.check_result(plan.task, result_cid, plan.resolution)
            except CheckFailed as exc:
                status = await self.call(self.store.reject, task_id, worker, str(exc))
                raise ApiError(409, "result_rejected",
                               f"the result of task {task_id} was rejected: {exc}; the task "
                               f"is {status} again", status=status) from None
            log.info("task %d: result %s passed the checks in %.3f s", task_id, result_cid,
                     time.monotonic() - started)
        job, newly = await self.call(self.store.complete, task_id, worker, result_cid, sha256,
                                     render_seconds, frames, resolution, device, blender)
        if newly:
            await self.follow_up()
        return job, newly

    # -- verification -------------------------------------------------------------------

    async def agree(self, a: dict, b: dict) -> bool:
        """Do two renders of the same frames agree? Same CID: yes. Same Blender version and
        device class (both known): every frame must have identical pixels (the same file once
        outputs carry no per-run metadata; identical pixels tolerate a render-time stamp).
        Else every frame's PSNR must be >= 40 dB."""
        if a["result_cid"] == b["result_cid"]:
            return True
        strict = bool(a["worker_blender"] and a["worker_device"]
                      and (a["worker_blender"], a["worker_device"])
                      == (b["worker_blender"], b["worker_device"]))
        floor = math.inf if strict else MIN_PSNR_DB
        try:
            first = await self.result_files(a["result_cid"], a["frames"], a["output_format"])
            second = await self.result_files(b["result_cid"], b["frames"], b["output_format"])
            if [n for n, _, _ in first] != [n for n, _, _ in second]:
                return False
            for (_, cid_a, _), (_, cid_b, _) in zip(first, second):
                if cid_a == cid_b:
                    continue
                value = psnr(await self.kubo.cat(cid_a, MAX_FRAME_BYTES),
                             await self.kubo.cat(cid_b, MAX_FRAME_BYTES))
                if value < floor:
                    return False
        except (KuboError, CheckFailed):
            return False
        return True

    async def decide(self, verify_id: int) -> str:
        """Compare a completed verification task with what it verifies; record the outcome."""
        case = await self.call(self.store.verification_case, verify_id)
        verify, original, rival = case["verify"], case["original"], case["rival"]
        agrees_original = await self.agree(verify, original)
        agrees_rival = await self.agree(verify, rival) if rival is not None else None
        return await self.call(self.store.settle, verify_id, agrees_original, agrees_rival)

    # -- assembly -----------------------------------------------------------------------

    async def assemble(self, job_id: int) -> str:
        """Build job ``job_id``'s result directory from its task results without fetching
        frames; record it. Returns its CID."""
        started = time.monotonic()
        output_format, parts = await self.call(self.store.assembly_parts, job_id)
        gate = asyncio.Semaphore(READ_CONCURRENCY)

        async def read(frames: list[int], cid: str) -> list[tuple[str, str, int]]:
            async with gate:
                return await self.result_files(cid, frames, output_format)

        entries = [e for part in await asyncio.gather(*(read(f, c) for f, c in parts))
                   for e in part]
        if estimated_size(entries) > HAMT_THRESHOLD:
            cid = await self.kubo.mfs_directory(f"/farmhand/job-{job_id}",
                                                [(n, c) for n, c, _ in entries])
            how = "kubo MFS (sharded)"
        else:
            block, cid = directory_node(entries)
            stored = await self.kubo.put_dag_pb(block)
            if not same_multihash(stored, cid):
                raise KuboError(f"kubo stored the directory node as {stored}, expected {cid}")
            how = f"dag-pb node of {len(block)} bytes built by the coordinator"
        detail = (f"{len(entries)} frames, result directory {cid}: {how} in "
                  f"{(time.monotonic() - started) * 1000:.0f} ms")
        await self.call(self.store.set_result, job_id, cid, detail)
        return cid

    def _due(self, key: tuple[str, int]) -> bool:
        return self._retry.get(key, (0.0, 0.0))[0] <= time.monotonic()

    def _failed(self, key: tuple[str, int], exc: Exception) -> None:
        """Back off a failing follow-up: 1 s, doubling up to 5 minutes, one log line each."""
        delay = min(max(self._retry.get(key, (0.0, 0.5))[1] * 2, 1.0), 300.0)
        self._retry[key] = (time.monotonic() + delay, delay)
        log.warning("%s %d: %s: %s; retrying in %.0f s", key[0], key[1], type(exc).__name__,
                    exc, delay)

    async def follow_up(self) -> None:
        """Settle every completed verification and assemble every job that is ready (a step
        that fails, e.g. kubo unreachable, is retried with back-off)."""
        async with self._lock:
            for verify_id in await self.call(self.store.undecided_verifications):
                key = ("verification", verify_id)
                if self._due(key):
                    try:
                        await self.decide(verify_id)
                        self._retry.pop(key, None)
                    except Exception as exc:  # noqa: BLE001 -- retried after a back-off
                        self._failed(key, exc)
            for job_id in await self.call(self.store.jobs_to_assemble):
                key = ("job", job_id)
                if self._due(key):
                    try:
                        await self.assemble(job_id)
                        self._retry.pop(key, None)
                    except Exception as exc:  # noqa: BLE001 -- retried after a back-off
                        self._failed(key, exc)
