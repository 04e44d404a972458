"""The Blender >= 4.2 extension zip: its manifest passes Blender's own validator and an
explicit schema, and the real installer of every Blender >= 4.2 of the matrix (bpy 4.2, 4.5,
5.0, 5.2) installs and enables it, with farmhand_core coming from the wheel of that Blender's
Python that it installed, not from the source tree."""

import json
import re
import subprocess
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import pytest

import blender_cells
from matrix import cell_params
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
    assert manifest["wheels"] == [f"./wheels/{w.name}" for w in built.wheels]
    assert set(manifest["permissions"]) == {"network", "files"}
    names = zipfile.ZipFile(built.extension_zip).namelist()
    for wheel in manifest["wheels"]:
        assert wheel[2:] in names


def test_schema_check_rejects_a_manifest_with_a_wheel_outside_wheels_dir(built):
    manifest = manifest_of(built.extension_zip)
    manifest["wheels"] = ["farmhand_core.whl"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, SCHEMA)


def _install_in(cell, zip_path, resources, cwd):
    result = subprocess.run(
        [str(cell.python), str(HERE / "bpy_install_extension.py"), str(zip_path)],
        capture_output=True, text=True, timeout=300, cwd=cwd,
        env=clean_env(BLENDER_USER_RESOURCES=str(resources)))
    line = next((l for l in result.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, f"no result:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("kind", cell_params(min_series=(4, 2)))
def test_blender_installs_and_enables_the_extension_with_its_wheel(kind, built, tmp_path):
    # Blender's own installer (extensions.package_install_files) in each Blender >= 4.2:
    # it must pick the wheel of its own Python (cp311 for 4.2-5.0, cp313 for 5.1+).
    cell = blender_cells.cell(kind)
    if cell.python_tag == "cp313" and built.wheel_cp313 is None:
        pytest.fail(f"no cp313 wheel was built, so {cell.label} cannot load the core:\n"
                    + built.output[-2000:])
    resources = tmp_path / "blender-user"
    out = _install_in(cell, built.extension_zip, resources, tmp_path)
    assert out["blender"].startswith(f"{cell.series[0]}.{cell.series[1]}.")
    assert out["install"] == ["FINISHED"]
    assert out["enabled"] == [True, True]
    installed = resources / "extensions" / "user_default" / "farmhand"
    assert Path(out["addon_file"]) == installed / "__init__.py"
    py = f"python{cell.python_tag[2]}.{cell.python_tag[3:]}"
    site = resources / "extensions" / ".local" / "lib" / py / "site-packages"
    assert Path(out["core_file"]) == site / "farmhand_core" / "__init__.py"
    assert out["core_version"] == VERSION
    assert out["core_native"].endswith(f"_native.cpython-{cell.python_tag[2:]}-x86_64-linux-gnu.so")
    assert not (installed / "vendor").exists()
