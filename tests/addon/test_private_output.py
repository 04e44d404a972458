"""farmhand.private_output: a PNG/JPEG loses its text, time, comment and Exif metadata (what
Blender stamps: the .blend's path, the date, render times) and keeps its pixels byte for byte;
broken files are a ValueError, other formats are left alone."""

from __future__ import annotations

import io
import sys

import pytest
from PIL import Image, PngImagePlugin

from blender_runner import ADDON_PARENT

sys.path.insert(0, str(ADDON_PARENT))
from farmhand.private_output import strip_metadata  # noqa: E402

WORK_PATH = "/home/artist/.cache/farmhand/job-81/scene.blend"


def _png_with_stamp(path):
    info = PngImagePlugin.PngInfo()
    info.add_text("File", WORK_PATH)
    info.add_text("Date", "2026/12/03 08:31:40")
    info.add_text("cycles.ViewLayer.total_time", "00:00.24", zip=True)
    info.add_itxt("Note", "rendered on host-a")
    image = Image.new("RGBA", (8, 6), (255, 128, 0, 255))
    image.save(path, pnginfo=info)
    return image


def test_png_loses_every_text_chunk_and_keeps_its_pixels(tmp_path):
    path = tmp_path / "frame_0001.png"
    original = _png_with_stamp(path)
    before = path.read_bytes()
    assert WORK_PATH.encode() in before
    removed = strip_metadata(str(path))
    after = path.read_bytes()
    assert removed == len(before) - len(after) > 0
    assert WORK_PATH.encode() not in after and b"2026/12/03" not in after
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
        assert chunk not in after
    reread = Image.open(io.BytesIO(after))
    assert reread.text == {}
    assert reread.tobytes() == original.tobytes()
    assert strip_metadata(str(path)) == 0  # already clean: unchanged


def test_two_pngs_differing_only_in_stamp_become_identical(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for path, date in ((a, "2026/12/03 08:31:40"), (b, "2026/12/03 08:31:41")):
        info = PngImagePlugin.PngInfo()
        info.add_text("Date", date)
        Image.new("RGB", (4, 4), (1, 2, 3)).save(path, pnginfo=info)
    assert a.read_bytes() != b.read_bytes()
    strip_metadata(str(a))
    strip_metadata(str(b))
    assert a.read_bytes() == b.read_bytes()


def test_jpeg_loses_comment_and_exif_and_keeps_jfif(tmp_path):
    path = tmp_path / "frame_0001.jpg"
    exif = Image.Exif()
    exif[0x010E] = WORK_PATH  # ImageDescription
    Image.new("RGB", (8, 8), (9, 9, 9)).save(path, comment=f"Blender:File:{WORK_PATH}".encode(),
                                              exif=exif.tobytes())
    before = path.read_bytes()
    assert before.count(WORK_PATH.encode()) == 2
    assert strip_metadata(str(path)) > 0
    after = path.read_bytes()
    assert WORK_PATH.encode() not in after
    reread = Image.open(path)
    assert reread.size == (8, 8) and "comment" not in reread.info and "exif" not in reread.info


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", b"\xff\xd8\x00\x01"])
def test_truncated_or_broken_files_are_a_value_error(tmp_path, data):
    path = tmp_path / "broken"
    path.write_bytes(data)
    with pytest.raises(ValueError):
        strip_metadata(str(path))


def _chunks(data: bytes) -> list[int]:
    """The offsets at which each chunk of a PNG ends."""
    ends, pos = [], 8
    while pos < len(data):
        pos += 12 + int.from_bytes(data[pos:pos + 4], "big")
        ends.append(pos)
    return ends


def test_a_png_or_jpeg_a_full_disk_cut_short_is_a_value_error(tmp_path):
    # what bpy 5.0 leaves (and calls "Saved") when the disk fills: the file stops anywhere,
    # a chunk boundary included (tests/e2e/test_worker_faults.py makes it for real)
    png = tmp_path / "f.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(png)
    whole = png.read_bytes()
    ends = _chunks(whole)
    assert len(ends) >= 3 and ends[-1] == len(whole)
    for cut in (ends[-2], ends[-2] - 5, len(whole) - 1):  # before IEND, mid-IDAT, mid-IEND
        png.write_bytes(whole[:cut])
        with pytest.raises(ValueError, match="cut short|truncated"):
            strip_metadata(str(png))
    jpg = tmp_path / "f.jpg"
    Image.new("RGB", (64, 64), (200, 2, 3)).save(jpg)
    whole = jpg.read_bytes()
    assert whole.endswith(b"\xff\xd9")
    jpg.write_bytes(whole[:-40])
    with pytest.raises(ValueError, match="end-of-image marker"):
        strip_metadata(str(jpg))
    jpg.write_bytes(whole)
    assert strip_metadata(str(jpg)) == 0


def test_other_formats_are_left_alone(tmp_path):
    path = tmp_path / "frame_0001.exr"
    path.write_bytes(b"v/1\x01" + bytes(100))
    assert strip_metadata(str(path)) == 0
    assert path.read_bytes() == b"v/1\x01" + bytes(100)
