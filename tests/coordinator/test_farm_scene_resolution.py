"""The job's expected frame size read from the .blend's current scene at submission
(docs/protocol.md "Result checks", coordinator/blendscene.py): files saved by Debian's Blender
3.4 and by the bpy 5.0 module (the 5.0 "large" block layout), a border crop and multiview
giving no expectation, the current scene chosen over the first one, hostile bytes never
crashing the reader; and, through a real coordinator and kubo, a worker whose FIRST frame has
the wrong size is rejected."""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from coord_helpers import error_code
from coordinator.blendcheck import BlendRefused
from coordinator.blendscene import SceneReader, Sdna, scene_resolution
from farm_helpers import ScriptedWorker, blend_header_file, frame_png

# One script for both Blenders: each file's scene settings, saved under its name.
SAVE_SCRIPT = r"""
import bpy, sys
out = sys.argv[-1]
scene = bpy.context.scene
r = scene.render
def save(name, **kw):
    bpy.ops.wm.save_as_mainfile(filepath=f"{out}/{name}.blend", **kw)
r.resolution_x, r.resolution_y, r.resolution_percentage = 64, 48, 50
save("half")                                    # 32 x 24
r.use_border = True
save("border")                                  # border without crop: the whole frame
r.use_crop_to_border = True
save("crop")
r.use_border = r.use_crop_to_border = False
r.use_multiview = True
save("multiview")
r.use_multiview = False
r.resolution_x, r.resolution_y, r.resolution_percentage = 1920, 1080, 33
save("compressed", compress=True)               # 633 x 356
other = bpy.data.scenes.new("AAA first by name")
other.render.resolution_x, other.render.resolution_y = 100, 80
save("two_scenes")                              # current scene: 633 x 356
"""
EXPECTED = {"half": [32, 24], "border": [32, 24], "crop": None, "multiview": None,
            "compressed": [633, 356], "two_scenes": [633, 356]}


def _save(command: list[str], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    script = out / "save.py"
    script.write_text(SAVE_SCRIPT)
    subprocess.run([*command, str(script), "--", str(out)], check=True, capture_output=True,
                   timeout=600)
    return out


@pytest.fixture(scope="module")
def blender34(tmp_path_factory) -> Path:
    if shutil.which("blender") is None:
        pytest.skip("Debian's blender is not installed: run scripts/setup")
    return _save(["nice", "-n", "19", "blender", "-b", "--factory-startup", "-P"],
                 tmp_path_factory.mktemp("scenes-3.4"))


@pytest.fixture(scope="module")
def bpy50(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scenes-bpy")
    runner = ("import runpy, sys; sys.argv = sys.argv[1:]; "
              "runpy.run_path(sys.argv[0], run_name='__main__')")
    try:
        return _save([sys.executable, "-c", runner], out)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"the bpy module cannot save files here: {exc.stderr[-300:]!r}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_blender_34_files(blender34, name):
    data = (blender34 / f"{name}.blend").read_bytes()
    assert scene_resolution(data) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bpy_5_files(bpy50, name):
    data = (bpy50 / f"{name}.blend").read_bytes()
    reader = SceneReader()
    reader.feed(data)
    reader.finish()
    assert reader.version >= 500 and reader.large      # the 5.0 header and block layout
    assert reader.resolution() == EXPECTED[name]


def test_fed_in_small_pieces_gives_the_same(blender34):
    data = (blender34 / "compressed.blend").read_bytes()
    reader = SceneReader()
    for i in range(0, len(data), 4093):
        reader.feed(data[i:i + 4093])
    reader.finish()
    assert (reader.compression, reader.resolution()) == ("zstd", [633, 356])


def _zstd_frame_ends(data: bytes) -> list[int]:
    """Offsets where each zstd frame of `data` ends (a fresh decompressobj per frame)."""
    import zstandard
    ends, pos = [], 0
    while pos < len(data):
        d = zstandard.ZstdDecompressor().decompressobj()
        d.decompress(data[pos:])
        assert d.eof, f"frame at {pos} does not end"
        pos = len(data) - len(d.unused_data)
        ends.append(pos)
    return ends


def test_pieces_that_end_where_a_zstd_frame_ends_give_the_same(blender34):
    """CI once split a 3.4 file at 4093-byte steps so that one piece ended exactly where a
    zstd frame did; the next piece then went to the finished decompressobj ("cannot use a
    decompressobj multiple times"). Here every piece ends on a frame boundary."""
    data = (blender34 / "compressed.blend").read_bytes()
    ends = _zstd_frame_ends(data)
    assert len(ends) > 2                   # Blender 3.4 writes several frames + seek table
    reader, start = SceneReader(), 0
    for end in ends:
        reader.feed(data[start:end])
        start = end
    reader.finish()
    assert (reader.compression, reader.resolution()) == ("zstd", [633, 356])


def _blocks(data: bytes) -> dict[bytes, tuple[int, int]]:
    """code -> (offset, length) of the first block of each kept kind in an uncompressed
    3.4 file (8-byte pointers, 24-byte block headers)."""
    import struct
    out, pos = {}, 12
    while pos + 24 <= len(data):
        code, length = struct.unpack_from("<4si", data, pos)
        out.setdefault(code, (pos + 24, length))
        if code == b"ENDB":
            break
        pos += 24 + length
    return out


def test_hostile_bytes_never_crash_the_reader(blender34):
    """200 mutations of a real file -- bytes of the SDNA, the scene and the FileGlobal
    overwritten, truncations, block lengths changed -- each give a resolution, None, or
    BlendRefused (the walk's refusal), within a bounded time."""
    data = (blender34 / "half.blend").read_bytes()
    blocks = _blocks(data)
    targets = [blocks[b"DNA1"], blocks[b"SC\0\0"], blocks[b"GLOB"]]
    rng = random.Random(12)
    outcomes = {"resolution": 0, "none": 0, "refused": 0}
    started = time.monotonic()
    for i in range(200):
        mutated = bytearray(data)
        kind = i % 4
        if kind == 3:
            mutated = mutated[:rng.randrange(len(data))]
        else:
            offset, length = targets[kind]
            for _ in range(rng.choice((1, 4, 64))):
                mutated[offset + rng.randrange(length)] = rng.randrange(256)
            if rng.random() < 0.2:       # a kept block's length made huge or negative
                mutated[offset - 20:offset - 16] = rng.choice(
                    (b"\xff\xff\xff\x7f", b"\xff\xff\xff\xff", b"\x00\x00\x00\x01"))
        try:
            result = scene_resolution(bytes(mutated))
        except BlendRefused:
            outcomes["refused"] += 1
            continue
        assert result is None or (isinstance(result, list) and len(result) == 2
                                  and all(1 <= n <= 65536 for n in result)), result
        outcomes["resolution" if result else "none"] += 1
    print(f"200 mutations in {time.monotonic() - started:.1f} s: {outcomes}")
    assert all(outcomes.values()), outcomes       # every path was reached


def test_crafted_sdna_tables_are_refused_not_trusted():
    base = b"SDNA" + b"NAME" + (2).to_bytes(4, "little") + b"xsch\0" + b"y[" + b"9" * 5000 + \
        b"]\0"
    base += b"\0" * (-len(base) % 4)
    base += b"TYPE" + (1).to_bytes(4, "little") + b"int\0"
    base += b"TLEN" + (4).to_bytes(2, "little") + b"\0\0"
    struct_ = b"STRC" + (1).to_bytes(4, "little") + (0).to_bytes(2, "little") + \
        (2).to_bytes(2, "little") + b"\0\0\0\0" + b"\0\0\1\0"
    with pytest.raises(ValueError):                 # int() of a 5,000-digit dimension
        Sdna(base + struct_, 8, True)
    for bad in (b"SDNA" + b"NAME" + (-1).to_bytes(4, "little", signed=True),
                b"SDNA" + b"NAME" + (1 << 30).to_bytes(4, "little"),
                b"SDNA" + b"NAME" + (1).to_bytes(4, "little") + b"no end",
                b"SDNB", b""):
        with pytest.raises(ValueError):
            Sdna(bad, 8, True)


# -- through the coordinator ---------------------------------------------------------------

@pytest.fixture
def farm(coordinator_factory, kubo):
    return coordinator_factory("--ipfs-api", kubo.api_url, "--verify-share", "0",
                               trusted=False)


def _png(size) -> bytes:
    img = Image.new("RGB", size)
    img.putdata([(x * 5 % 256, y * 7 % 256, 90) for y in range(size[1]) for x in range(size[0])])
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_a_wrong_size_first_frame_is_rejected(farm, kubo, blender34, tmp_path):
    asset = kubo.add(blender34 / "half.blend")
    resp = httpx.post(farm.url + "/api/v1/jobs", timeout=120,
                      json={"asset_cid": asset, "frames": [1, 2], "chunk_size": 1})
    assert resp.status_code == 201, resp.text
    job = resp.json()
    assert (job["resolution"], job["blender_version"]) == ([32, 24], 304)

    cheat, honest = ScriptedWorker(farm.url, kubo).login(), ScriptedWorker(farm.url, kubo).login()
    first = job["id"]
    assert cheat.assign(first).status_code == 200
    wrong = tmp_path / "frame_0001.png"
    wrong.write_bytes(_png((40, 30)))
    resp = cheat.post(f"/api/v1/jobs/{first}/complete", {
        "result_cid": kubo.add(wrong), "sha256": "0" * 64, "render_seconds": 0.1,
        "frames": [1]})
    assert (resp.status_code, error_code(resp)) == (409, "result_rejected"), resp.text
    assert "frame_0001.png is 40x30, the job's frames are 32x24" in \
        resp.json()["error"]["message"]
    # An honest worker's 32 x 24 frames (farm_helpers' size) complete the job.
    assert Image.open(io.BytesIO(frame_png(1))).size == (32, 24)
    for _ in range(6):
        honest.step()
    done = httpx.get(f"{farm.url}/api/v1/jobs/{job['id']}", timeout=30).json()
    assert (done["status"], done["frames_done"], done["resolution"]) == \
        ("completed", 2, [32, 24]), done


def test_files_without_an_expectation_leave_the_first_frame_to_decide(farm, kubo, blender34,
                                                                        tmp_path):
    crop = kubo.add(blender34 / "crop.blend")
    # A header-only file (no scene, no SDNA, as the other farm tests use) is accepted too.
    bare = kubo.add(blend_header_file(tmp_path / "bare.blend", 304))
    for asset in (crop, bare):
        resp = httpx.post(farm.url + "/api/v1/jobs", timeout=120,
                          json={"asset_cid": asset, "frames": [1]})
        assert resp.status_code == 201 and resp.json()["resolution"] is None, resp.text
    given = httpx.post(farm.url + "/api/v1/jobs", timeout=120, json={
        "asset_cid": kubo.add(blender34 / "half.blend"), "frames": [1],
        "resolution": [7, 5]}).json()
    assert given["resolution"] == [7, 5]               # the creator's value wins
