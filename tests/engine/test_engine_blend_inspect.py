"""farmhand_core.blend on crafted headers and on files saved by real Blender / bpy."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys

import pytest


def test_inspect_reads_a_plain_legacy_header(farmhand_core, tmp_path):
    p = tmp_path / "a.blend"
    p.write_bytes(b"BLENDER_V279" + b"\0" * 100)
    info = farmhand_core.blend.inspect(p)
    assert info == {"version": 279, "version_name": "2.79", "pointer_size": 4,
                    "endianness": "big", "compression": "none", "header_size": 12}


def test_inspect_reads_a_gzip_wrapped_blender5_header(farmhand_core, tmp_path):
    p = tmp_path / "g.blend"
    p.write_bytes(gzip.compress(b"BLENDER17-01v0500" + bytes(range(256)) * 100))
    info = farmhand_core.blend.inspect(str(p))
    assert (info["version"], info["compression"], info["header_size"]) == (500, "gzip", 17)


def test_validate_refuses_a_newer_blender_naming_both(farmhand_core, tmp_path):
    p = tmp_path / "n.blend"
    p.write_bytes(b"BLENDER17-01v0500")
    with pytest.raises(farmhand_core.BlendInvalid, match=r"Blender 5\.0 .*Blender 3\.4") as err:
        farmhand_core.blend.validate(p, 1 << 20, 304)
    assert err.value.kind == "blend_invalid"


def test_inspect_refuses_garbage_and_oversize(farmhand_core, tmp_path):
    p = tmp_path / "x.blend"
    p.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(farmhand_core.BlendInvalid, match='does not start with "BLENDER"'):
        farmhand_core.blend.inspect(p)
    p.write_bytes(b"BLENDER-v304" + b"\0" * 100)
    with pytest.raises(farmhand_core.BlendInvalid, match="112 bytes, above the limit of 50"):
        farmhand_core.blend.inspect(p, 50)


SAVE = ("import bpy, sys; bpy.ops.wm.read_factory_settings(use_empty=True); "
        "bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1], compress=True)")


@pytest.mark.skipif(shutil.which("blender") is None, reason="Debian blender not installed")
def test_zstd_file_saved_by_blender_34_is_read(farmhand_core, tmp_path):
    p = tmp_path / "b34.blend"
    subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", SAVE, "--", str(p)],
                   check=True, capture_output=True, timeout=120)
    assert p.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    info = farmhand_core.blend.inspect(p)
    assert (info["version"], info["compression"], info["header_size"]) == (304, "zstd", 12)


def test_zstd_file_saved_by_bpy_5_is_read(farmhand_core, tmp_path):
    p = tmp_path / "bpy5.blend"
    result = subprocess.run([sys.executable, "-c", SAVE, str(p)], capture_output=True,
                            timeout=120)
    if result.returncode != 0 and b"No module named 'bpy'" in result.stderr:
        pytest.skip("bpy not installed in this interpreter")
    assert result.returncode == 0, result.stderr
    info = farmhand_core.blend.inspect(p)
    assert info["compression"] == "zstd" and info["header_size"] == 17
    assert info["version"] >= 500
