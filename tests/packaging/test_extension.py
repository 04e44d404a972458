"""The Blender >= 4.2 extension zip: its manifest passes Blender's own validator and an
explicit schema, and Blender 5.0's real installer (bpy module) installs and enables it, with
farmhand_core coming from the wheel it installed, not from the source tree."""

import json
import re
import subprocess
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import pytest

from pack_helpers import BPY_EXT_CLI, VENV_PYTHON, VERSION, clean_env

HERE = Path(__file__).resolve().parent
SCHEMA = json.loads((HERE / "manifest_schema.json").read_text())

needs_bpy = pytest.mark.skipif(BPY_EXT_CLI is None, reason="bpy module not in .venv")


def manifest_of(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        return tomllib.loads(zf.read("blender_manifest.toml").decode())


def blender_validate(zip_path):
    return subprocess.run([str(VENV_PYTHON), str(BPY_EXT_CLI), "validate", str(zip_path)],
                          capture_output=True, text=True, timeout=120, env=clean_env())


def rezip_with_manifest(src, dst, manifest_text):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "blender_manifest.toml":
                data = manifest_text.encode()
            zout.writestr(info, data)


@needs_bpy
def test_blenders_own_validator_accepts_the_extension_zip(built):
    result = blender_validate(built.extension_zip)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success parsing TOML" in result.stdout


@needs_bpy
def test_blenders_validator_rejects_a_tagline_over_64_characters(built, tmp_path):
    bad = tmp_path / "bad.zip"
    text = re.sub(r'^tagline = ".*"$', f'tagline = "{"x" * 70}"',
                  zipfile.ZipFile(built.extension_zip).read("blender_manifest.toml").decode(),
                  flags=re.M)
    rezip_with_manifest(built.extension_zip, bad, text)
    result = blender_validate(bad)
    assert result.returncode != 0
    assert "tagline" in result.stdout + result.stderr


def test_manifest_matches_the_schema_and_the_project(built):
    manifest = manifest_of(built.extension_zip)
    jsonschema.validate(manifest, SCHEMA)
    assert manifest["id"] == "farmhand"
    assert manifest["version"] == VERSION
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later"]
    assert manifest["platforms"] == ["linux-x64"]
    assert manifest["wheels"] == [f"./wheels/{built.wheel.name}"]
    assert set(manifest["permissions"]) == {"network", "files"}
    names = zipfile.ZipFile(built.extension_zip).namelist()
    for wheel in manifest["wheels"]:
        assert wheel[2:] in names


def test_schema_check_rejects_a_manifest_with_a_wheel_outside_wheels_dir(built):
    manifest = manifest_of(built.extension_zip)
    manifest["wheels"] = ["farmhand_core.whl"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, SCHEMA)


@needs_bpy
def test_blender_5_installs_and_enables_the_extension_with_its_wheel(built, tmp_path):
    resources = tmp_path / "blender-user"
    result = subprocess.run(
        [str(VENV_PYTHON), str(HERE / "bpy_install_extension.py"), str(built.extension_zip)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=clean_env(BLENDER_USER_RESOURCES=str(resources)))
    line = next((l for l in result.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, f"no result:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    out = json.loads(line[len("RESULT "):])
    assert out["blender"].startswith("5.")
    assert out["install"] == ["FINISHED"]
    assert out["enabled"] == [True, True]
    installed = resources / "extensions" / "user_default" / "farmhand"
    assert Path(out["addon_file"]) == installed / "__init__.py"
    site = resources / "extensions" / ".local" / "lib" / "python3.11" / "site-packages"
    assert Path(out["core_file"]) == site / "farmhand_core" / "__init__.py"
    assert out["core_version"] == VERSION
    assert not (installed / "vendor").exists()
