"""packaging/build: what it makes from this working tree, what it prints, and how it fails."""

import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

import blender_cells
from pack_helpers import REPO_ROOT, VERSION, load
from conftest import run_build

bl_info = load("bl_info")
PY313 = blender_cells.cell("bpy52")
needs_py313 = pytest.mark.skipif(PY313.missing() is not None, reason=PY313.missing() or "")



def manylinux_system_libs(wheel_name: str) -> set[str]:
    """The libraries a wheel of this manylinux tag may take from the system: the
    lib_whitelist of auditwheel's policy for the tag (PEP 600), plus the dynamic loader."""
    import auditwheel

    tag = re.search(r"(manylinux_2_\d+)_x86_64", wheel_name).group(1)
    policies = json.loads((Path(auditwheel.__file__).parent / "policy" /
                           "manylinux-policy.json").read_text())
    allowed = next(p["lib_whitelist"] for p in policies if p["name"] == tag)
    return set(allowed) | {"ld-linux-x86-64.so.2", "linux-vdso.so.1"}


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_wheel_is_cp311_manylinux_and_carries_the_project_version(built):
    pattern = rf"farmhand_core-{re.escape(VERSION)}-cp311-cp311-manylinux_2_\d+_x86_64\.whl"
    assert re.fullmatch(pattern, built.wheel.name)
    with zipfile.ZipFile(built.wheel) as zf:
        meta = zf.read(f"farmhand_core-{VERSION}.dist-info/METADATA").decode()
        names = zf.namelist()
    assert f"\nVersion: {VERSION}\n" in meta
    assert "farmhand_core/_native.cpython-311-x86_64-linux-gnu.so" in names


@needs_py313
def test_a_cp313_wheel_for_blender_5_1_and_later_is_built_beside_the_cp311_one(built):
    assert built.wheel_cp313 is not None, built.output[-3000:]
    pattern = rf"farmhand_core-{re.escape(VERSION)}-cp313-cp313-manylinux_2_\d+_x86_64\.whl"
    assert re.fullmatch(pattern, built.wheel_cp313.name)
    with zipfile.ZipFile(built.wheel_cp313) as zf:
        meta = zf.read(f"farmhand_core-{VERSION}.dist-info/METADATA").decode()
        names = zf.namelist()
    assert f"\nVersion: {VERSION}\n" in meta
    assert "farmhand_core/_native.cpython-313-x86_64-linux-gnu.so" in names
    assert not [n for n in names if "cpython-311" in n]


@needs_py313
def test_both_zips_carry_both_pythons_cores(built):
    with zipfile.ZipFile(built.legacy_zip) as zf:
        natives = sorted(n for n in zf.namelist() if "/_native." in n)
    assert natives == ["farmhand/vendor/farmhand_core/_native.cpython-311-x86_64-linux-gnu.so",
                       "farmhand/vendor/farmhand_core/_native.cpython-313-x86_64-linux-gnu.so"]
    with zipfile.ZipFile(built.extension_zip) as zf:
        for wheel in built.wheels:
            assert zf.read(f"wheels/{wheel.name}") == wheel.read_bytes()


def test_report_prints_name_size_and_sha256_of_every_artefact(built):
    artefacts = [*built.wheels, built.extension_zip, built.legacy_zip]
    for path in artefacts:
        line = next(l for l in built.output.splitlines() if l.strip().startswith(path.name + " "))
        assert f" {path.stat().st_size} bytes" in line
        assert sha256(path) in line
    sums = (built.dist / "SHA256SUMS").read_text().splitlines()
    assert sums == [f"{sha256(p)}  {p.name}" for p in artefacts]


def test_legacy_zip_holds_the_add_on_with_the_wheels_core_in_vendor(built, tmp_path):
    with zipfile.ZipFile(built.legacy_zip) as zf:
        names = set(zf.namelist())
        init = zf.read("farmhand/__init__.py").decode()
        with zipfile.ZipFile(built.wheel) as wheel:
            native = next(n for n in wheel.namelist() if n.startswith("farmhand_core/_native"))
            assert zf.read(f"farmhand/vendor/{native}") == wheel.read(native)
    assert all(n.startswith("farmhand/") for n in names)
    assert "farmhand/vendor/farmhand_core/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or ".dist-info" in n]
    assert ".".join(map(str, bl_info.read_bl_info(init)["version"])) == VERSION
    # Same add-on code as the source tree, bar the stamped version.
    source = (REPO_ROOT / "addon" / "farmhand" / "__init__.py").read_text()
    assert init == bl_info.stamp_version(source, VERSION)


def test_legacy_zip_core_needs_no_library_beyond_manylinux_and_its_own(built, tmp_path):
    with zipfile.ZipFile(built.legacy_zip) as zf:
        zf.extractall(tmp_path)
    vendor = tmp_path / "farmhand" / "vendor"
    native = next((vendor / "farmhand_core").glob("_native*.so"))
    native.chmod(0o755)
    for lib in vendor.glob("farmhand_core.libs/*"):
        lib.chmod(0o755)
    ldd = subprocess.run(["ldd", str(native)], capture_output=True, text=True, check=True).stdout
    resolved = {name: str(Path(path).resolve())
                for name, path in re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M)}
    assert "not found" not in ldd
    system = manylinux_system_libs(built.wheel.name)
    foreign = {name: path for name, path in resolved.items()
               if name not in system and str(vendor) not in path}
    assert foreign == {}, f"system libraries the wheel did not vendor: {foreign}"
    # The core's own dependencies are what auditwheel repair must have vendored.
    for name in ("libcurl", "libsodium", "libzstd"):
        hits = [p for n, p in resolved.items() if n.startswith(name)]
        assert hits and all(str(vendor / "farmhand_core.libs") in p for p in hits), (name, ldd)


def test_extension_zip_has_manifest_wheels_and_no_vendor_copy(built):
    with zipfile.ZipFile(built.extension_zip) as zf:
        names = set(zf.namelist())
        assert zf.read(f"wheels/{built.wheel.name}") == built.wheel.read_bytes()
    assert {"blender_manifest.toml", "__init__.py"} <= names
    assert not [n for n in names if n.startswith("vendor/") or "__pycache__" in n]


def test_zips_are_reproducible_byte_for_byte(built, tmp_path):
    zips = load("make_addon_zips")
    # A snapshot of the add-on, so an edit to the live tree between the runs cannot differ.
    addon = tmp_path / "farmhand"
    shutil.copytree(REPO_ROOT / "addon" / "farmhand", addon)
    for out in (tmp_path / "a", tmp_path / "b"):
        out.mkdir()
        assert zips.main(["--version", VERSION, "--platform", "linux-x64", "--addon",
                          str(addon), "--dist", str(out),
                          str(built.wheel)]) == 0
    for name in (built.extension_zip.name, built.legacy_zip.name):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_add_on_without_bl_info_is_refused_with_the_reason(built, tmp_path, capsys):
    zips = load("make_addon_zips")
    addon = tmp_path / "farmhand"
    addon.mkdir()
    (addon / "__init__.py").write_text("def register():\n    pass\n")
    assert zips.main(["--version", VERSION, "--platform", "linux-x64", "--addon", str(addon),
                      "--dist", str(tmp_path), str(built.wheel)]) == 1
    assert "no top-level `bl_info" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.zip"))


@pytest.mark.parametrize("args, message", [
    (["--platform", "amiga-m68k"], "unknown platform 'amiga-m68k'"),
    (["--auditwheel", "maybe"], "--auditwheel must be repair, check or off"),
    (["--frobnicate"], "unknown argument '--frobnicate'"),
    (["--platform", "windows-x64"], "cannot build windows-x64 zips on this linux-x64 machine"),
    (["--python", "/nonexistent/python3"], "Python '/nonexistent/python3' not found"),
])
def test_build_refuses_bad_arguments_before_compiling(tmp_path, args, message):
    result = run_build(REPO_ROOT, tmp_path, *args, timeout=60)
    assert result.returncode == 1
    assert message in result.stderr
    assert not list(tmp_path.iterdir())


def test_build_refuses_an_add_on_dir_without_init(tmp_path):
    empty = tmp_path / "addon"
    empty.mkdir()
    result = run_build(REPO_ROOT, tmp_path / "dist", "--addon", str(empty), timeout=60)
    assert result.returncode == 1
    assert f"{empty}/__init__.py is missing" in result.stderr


def test_platform_names_follow_blenders_manifest_spelling():
    names = load("platform_name")
    assert names.blender_platform("Linux", "x86_64") == "linux-x64"
    assert names.blender_platform("Windows", "AMD64") == "windows-x64"
    assert names.blender_platform("Darwin", "arm64") == "macos-arm64"
    with pytest.raises(KeyError):
        names.blender_platform("SunOS", "sparc")


def stub_wheel_for_python(real_wheel, out_dir, tag="cp313", edit_init=None):
    """A stub of a second Python's wheel (no Python 3.13 here to build one): the real
    wheel with its extension renamed to the cpython-313 suffix, optionally a changed
    __init__.py. Exercises the several-Pythons path of make_addon_zips."""
    name = real_wheel.name.replace("cp311-cp311", f"{tag}-{tag}")
    out = out_dir / name
    with zipfile.ZipFile(real_wheel) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            target = info.filename.replace("cpython-311", f"cpython-{tag[2:]}")
            if target == "farmhand_core/__init__.py" and edit_init:
                data = edit_init(data)
            zout.writestr(target, data)
    return out


def test_two_pythons_share_one_vendor_dir_and_both_wheels_are_listed(built, tmp_path):
    zips = load("make_addon_zips")
    second = stub_wheel_for_python(built.wheel, tmp_path)
    dist = tmp_path / "dist"
    dist.mkdir()
    assert zips.main(["--version", VERSION, "--platform", "linux-x64", "--addon",
                      str(REPO_ROOT / "addon" / "farmhand"), "--dist", str(dist),
                      str(built.wheel), str(second)]) == 0
    names = zipfile.ZipFile(dist / built.legacy_zip.name).namelist()
    assert "farmhand/vendor/farmhand_core/_native.cpython-311-x86_64-linux-gnu.so" in names
    assert "farmhand/vendor/farmhand_core/_native.cpython-313-x86_64-linux-gnu.so" in names
    assert names.count("farmhand/vendor/farmhand_core/__init__.py") == 1
    manifest = zipfile.ZipFile(dist / built.extension_zip.name).read("blender_manifest.toml")
    assert f'"./wheels/{built.wheel.name}", "./wheels/{second.name}"'.encode() in manifest


def test_wheels_that_disagree_on_a_shared_file_are_refused(built, tmp_path, capsys):
    zips = load("make_addon_zips")
    second = stub_wheel_for_python(built.wheel, tmp_path, edit_init=lambda d: d + b"\n# other\n")
    assert zips.main(["--version", VERSION, "--platform", "linux-x64", "--addon",
                      str(REPO_ROOT / "addon" / "farmhand"), "--dist", str(tmp_path),
                      str(built.wheel), str(second)]) == 1
    assert "farmhand_core/__init__.py differs between wheels" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.zip"))


def test_licence_text_is_shipped_as_license_in_both_zips(built, tmp_path):
    zips = load("make_addon_zips")
    licence = tmp_path / "COPYING"
    licence.write_text("GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n")
    dist = tmp_path / "dist"
    dist.mkdir()
    assert zips.main(["--version", VERSION, "--platform", "linux-x64", "--addon",
                      str(REPO_ROOT / "addon" / "farmhand"), "--dist", str(dist),
                      "--license", str(licence), str(built.wheel)]) == 0
    for name, entry in ((built.extension_zip.name, "LICENSE"),
                        (built.legacy_zip.name, "farmhand/LICENSE")):
        assert zipfile.ZipFile(dist / name).read(entry) == licence.read_bytes()
