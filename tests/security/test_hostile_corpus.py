"""The proof of docs/security.md: a hostile corpus through the real headless worker, started
by the node launcher (python -m farmhand_core.sandbox: Landlock, key as a descriptor), under
``strace -f -y -s 4096 -e trace=%file``, against a real coordinator and kubo.

Corpus (tests/security/make_corpus.py, saved by the Blender under test, plus two derived
here), one job per class of issue 9: Geometry Nodes Import Text on //../../worker.key and
Import OBJ/STL/PLY/CSV/VDB on files outside the job dir (Blender >= 4.5 has them), Video
Sequencer image and movie strips, a smoke domain whose cache directory is outside, a Mesh Cache
modifier, a particle system's external point cache, an external IES light texture, an object
from a linked library, a text object in an unpacked font, 30 corrupted bytes in the DNA
block, a 101 KB zstd bomb inflating to
3 GiB, then an ordinary scene. The trace after Blender's exec must show: zero opens outside the
job dir and the read-only Blender/system paths, zero writes outside the job dir, the key file
never opened, none of the hostile files opened; each hostile job refused with a reason naming
its feature (or evaluated and refused by Landlock: EACCES in the trace); the worker alive and
rendering the last job. (Blender's crash report landing in the work dir:
test_poison_job.py.)
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

import blender_cells
import strace_log
from e2e_helpers import demo_farm  # (sys.path: conftest.py)
from matrix import cell_params
from sandboxed_worker import child_pid, sandboxed_worker, stop

pytestmark = pytest.mark.skipif(shutil.which("strace") is None,
                                reason="strace not installed (scripts/setup installs it)")
HERE = Path(__file__).resolve().parent
RLE_BLOCK = 128 << 10


def hostile_classes(key: Path, secret_dir: Path, outside: Path) -> dict:
    """The corpus: job name -> (the files it aims at, the words a refusal must contain to name
    its feature). ``gn_import_*`` exist only where Blender has the node (>= 4.5)."""
    out = {"gn_import_text": ([key], "'GeometryNodeImportText'")}
    for ext in ("obj", "stl", "ply", "csv", "vdb"):
        out[f"gn_import_{ext}"] = ([secret_dir / f"secret.{ext}"],
                                   f"'GeometryNodeImport{ext.upper()}'")
    out.update({
        "vse_secret": ([secret_dir / "secret.png"], "strip 'IMAGE'"),
        "vse_movie": ([secret_dir / "secret.mp4"], "strip 'MOVIE'"),
        "fluid_outside": ([outside, outside / "fluid"], "modifier 'FLUID'"),
        "mesh_cache": ([secret_dir / "secret.pc2"], "modifier 'MESH_CACHE'"),
        "particle_cache": ([secret_dir / "particles",
                            secret_dir / "particles" / "cache_000001_00.bphys"],
                           "external point cache"),
        "ies_light": ([secret_dir / "secret.ies"], "'ShaderNodeTexIES'"),
        "linked_library": ([secret_dir / "library.blend"], "refused: linked library at LI block"),
        "fake_user_cache": ([secret_dir / "secret.pc2"],
                            "modifier 'MESH_CACHE' at object 'Hidden'"),
        "packed_volume": ([secret_dir / "volume.vdb"], "OpenVDB volume at volume 'Smoke'"),
        "pre250": ([], "refused: pre-2.50 file at the file header: the file was saved by "
                       "Blender 2.49"),
        "alembic_cache": ([secret_dir / "secret.abc"],
                          "refused: Alembic/USD cache at CF block"),
        "unpacked_font": ([secret_dir / "secret.ttf"],
                          f"1 external file is not packed: {secret_dir / 'secret.ttf'} "
                          "(font 'secret')"),
        "packed_sequence": ([secret_dir / "seq0000.png", secret_dir / "seq0001.png"],
                            "(image 'Packed', outside the job directory)"),
        "packed_movie": ([secret_dir / "secret.mp4"],
                         "(image 'Packed', outside the job directory)"),
        "view_suffix": ([outside / "PWNED_L.png"], "render view file suffix"),
    })
    return out


def make_corpus(blender: str, out: Path, secret: Path, outside: Path) -> None:
    # `blender`: a cell of the matrix (scripts/blender_cells.py).
    cmd = blender_cells.cell(blender).argv(HERE / "make_corpus.py", [out, secret, outside])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert (out / "good.blend").is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]


def corrupt_dna(plain: bytes) -> bytes:
    """30 bytes XOR-ed inside the STRC section of the DNA block (as the issue's crash files)."""
    at = plain.rfind(b"STRC") + 1000
    return plain[:at] + bytes(b ^ 0x5A for b in plain[at:at + 30]) + plain[at + 30:]


def pre250(plain: bytes) -> bytes:
    """The scene with its header's version set to 2.49: Blender's 2.50 upgrade opens sound
    strips' files while reading (3.4 opened one outside the job dir, review of 2026-12-04).
    The header is "BLENDER-v304" (12 bytes) or "BLENDER17-01v0500" (Blender >= 5.0)."""
    if plain[7:9] == b"17":
        return plain[:13] + b"0249" + plain[17:]
    return plain[:9] + b"249" + plain[12:]


def zstd_bomb(plain: bytes, zeros: int = 3 << 30) -> bytes:
    """The scene without its ENDB (one zstd frame, by zstd(1)), then DATA blocks of `zeros`
    zero bytes in total and ENDB as a second frame (RFC 8878) of raw blocks and 4-byte RLE
    blocks: under 200 KB on disk for 3 GiB inflated."""
    large = plain[7:9].isdigit()
    endb = 32 if large else 24
    body, end = plain[:-endb], plain[-endb:]
    head = subprocess.run(["zstd", "-q", "-c", "-3"], input=body, capture_output=True,
                          check=True).stdout

    def bhead(length: int) -> bytes:
        if large:
            return b"DATA" + struct.pack("<iQqq", 0, 0x1000, length, 1)
        return b"DATA" + struct.pack("<iQii", length, 0x1000, 0, 1)

    chunk = (1 << 31) - RLE_BLOCK if not large else zeros  # int32 lengths in legacy files
    frame = bytearray(b"\x28\xb5\x2f\xfd\x00" + bytes([7 << 3]))  # no size; 128 KiB window

    def block(last: bool, kind: int, size: int, payload: bytes) -> None:
        frame.extend(((size << 3) | (kind << 1) | int(last)).to_bytes(3, "little") + payload)

    left = zeros
    while left:
        n = min(chunk, left)
        block(False, 0, len(bhead(n)), bhead(n))
        for off in range(0, n, RLE_BLOCK):
            block(False, 1, min(RLE_BLOCK, n - off), b"\0")
        left -= n
    block(True, 0, len(end), end)
    return head + bytes(frame)


@pytest.mark.parametrize("blender", cell_params())
def test_hostile_corpus_stays_inside_the_job_dir_under_the_sandbox(blender, tmp_path,
                                                                   coordinator, kubo,
                                                                   farmhand_core):
    corpus, secret, outside = tmp_path / "corpus", tmp_path / "secret" / "secret.png", \
        tmp_path / "outside"
    make_corpus(blender, corpus, secret, outside)
    shutil.rmtree(outside, ignore_errors=True)  # saving the domain may have simulated once
    good = (corpus / "good.blend").read_bytes()
    (corpus / "corrupt_dna.blend").write_bytes(corrupt_dna(good))
    (corpus / "zstd_bomb.blend").write_bytes(zstd_bomb(good))
    (corpus / "pre250.blend").write_bytes(pre250(good))
    assert (corpus / "zstd_bomb.blend").stat().st_size < 200_000
    node = sandboxed_worker(blender, tmp_path / "node", coordinator, kubo)
    classes = hostile_classes(node.key, secret.parent, outside)
    if blender_cells.cell(blender).series >= (4, 5):  # the Import nodes are there to abuse
        assert all((corpus / f"{n}.blend").is_file() for n in classes), sorted(
            p.name for p in corpus.iterdir())
    names = [n for n in (*classes, "corrupt_dna", "zstd_bomb", "render_cache", "good")
             if (corpus / f"{n}.blend").exists()]
    jobs = {n: demo_farm.submit_job(coordinator, kubo, corpus / f"{n}.blend", frames=[1],
                                    max_attempts=1)["id"] for n in names}

    trace = tmp_path / "trace.txt"
    log = open(node.home / "worker.log", "wb")
    proc = subprocess.Popen(["strace", "-f", "-y", "-s", "4096", "-e", "trace=%file", "-o",
                             str(trace), *node.launcher],
                            env=node.env, cwd=node.home, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    tracee = None
    try:
        tracee = child_pid(proc.pid, exec_done=True)
        final = {}
        deadline = time.monotonic() + 120 + 40 * len(jobs)
        while len(final) < len(jobs) and time.monotonic() < deadline:
            assert proc.poll() is None, (node.home / "worker.log").read_text()[-4000:]
            for name, job_id in jobs.items():
                job = demo_farm.get_job(coordinator, job_id)
                if job["status"] in ("completed", "failed"):
                    final[name] = job
            time.sleep(0.5)
        alive = proc.poll() is None
    finally:
        left = stop(proc, tracee, group=True)
        log.close()
    worker_log = (node.home / "worker.log").read_text(errors="replace")
    assert len(final) == len(jobs), f"unfinished: {set(jobs) - set(final)}\n{worker_log[-4000:]}"
    assert alive, "the worker died during the corpus"
    assert left == [], f"the worker did not stop on SIGTERM: {left}\n{worker_log[-3000:]}"
    # strace ends with its tracee's status: the worker's documented 0 for a stop on SIGTERM
    assert proc.returncode == 0, f"the worker ended {proc.returncode}:\n{worker_log[-3000:]}"

    # Each job failed or was contained, with a reason naming the feature.
    assert final["good"]["status"] == "completed", final["good"]
    # Cache Result turned off by the worker: renders, and writes nothing outside (below)
    assert final["render_cache"]["status"] == "completed", final["render_cache"]
    assert final["corrupt_dna"]["status"] == "failed"
    assert "DNA (its struct catalogue) is corrupt" in final["corrupt_dna"]["error"]
    assert final["zstd_bomb"]["status"] == "failed"
    assert "decompresses to more than 2147483648 bytes" in final["zstd_bomb"]["error"]
    assert final["linked_library"]["status"] == "failed"  # by the core, before Blender opens it
    assert not outside.exists(), f"written outside: {list(outside.rglob('*'))}"

    # The trace, from the exec of the worker on.
    plan = farmhand_core.sandbox.plan(str(node.work), str(node.key), node.worker,
                                      [f"{k}={v}" for k, v in node.env.items()],
                                      node.extra_read)
    readable = {os.path.realpath(p) for p in plan["read_only"] + plan["devices"]}
    readable |= {str(p) for p in plan["read_only"] + plan["devices"]}
    writable = {str(node.work), os.path.realpath(node.work), "/dev/null"}
    worker = node.worker
    accesses = strace_log.parse(trace.read_text(errors="replace"), str(node.home),
                                after=f'execve("{worker[0]}", ["{worker[0]}", "{worker[1]}"')
    assert len(accesses) > 1000, "the trace did not follow the worker"
    opened = [a for a in accesses if a.ok and a.call in ("open", "openat", "openat2", "creat")]
    outside_opens = [a.line for a in opened
                     if not strace_log.within(a.path, readable | writable)]
    writes = [a.line for a in accesses if a.ok and a.write
              and not strace_log.within(a.path, writable)]
    key_opens = [a.line for a in accesses if a.path == str(node.key) and a.ok
                 and a.call in ("open", "openat", "openat2")]
    denied = [a for a in accesses if not a.ok and a.errno == "EACCES"]
    print(f"{blender}: {len(accesses)} path calls, {len(opened)} opens, {len(denied)} "
          f"refused by Landlock:")
    for a in denied[:40]:
        print("  EACCES", a.call, a.path)
    assert outside_opens == []
    assert writes == []
    assert key_opens == []
    # Refused by an earlier layer (the core's structure check, the add-on's audit: failed,
    # naming the feature) or evaluated, and then Landlock refused the read: the trace shows
    # the EACCES. No hostile file is ever opened.
    for name, (targets, feature) in classes.items():
        if name not in final:
            continue
        targets = [str(t) for t in targets]
        print(f"  {name}: {final[name]['status']}: {final[name].get('error')}")
        if final[name]["status"] == "failed":
            assert feature in (final[name]["error"] or ""), (name, final[name])
            if name == "unpacked_font":  # the core's pre-open check, in the audit's kind
                assert final[name]["error_code"] == "missing_files", final[name]
            # refused before anything was evaluated: not even an attempt Landlock stopped
            # (opening a file evaluated its scene before the audit until 2026-12-04)
            assert not [a.line for a in denied if a.path in targets], name
        else:
            assert [a for a in denied if a.path in targets], \
                f"{name} completed but never tried {targets}?"
        assert not [a.line for a in opened if a.path in targets], name
