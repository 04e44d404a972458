"""core_loader with several Pythons' builds side by side (addon/farmhand/vendor carries cp311
and cp313): the running Python's build is used, and a directory holding only other
Pythons' builds is named in the error with the suffix this Python needs."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys

import pytest

from blender_runner import ADDON_PARENT

spec = importlib.util.spec_from_file_location("farmhand_core_loader_under_test",
                                              ADDON_PARENT / "farmhand" / "core_loader.py")
core_loader = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core_loader)

MINE = "_native" + importlib.machinery.EXTENSION_SUFFIXES[0]
OTHER = "_native.cpython-399-x86_64-linux-gnu.so"


def _package(tmp_path, *names):
    pkg = tmp_path / "farmhand_core"
    pkg.mkdir()
    for name in names:
        (pkg / name).write_bytes(b"")
    (pkg / "__init__.py").write_text("")
    return str(pkg)


def test_builds_are_listed_sorted_and_other_files_ignored(tmp_path):
    pkg = _package(tmp_path, OTHER, MINE, "blend.py", "_native.pyi")
    assert core_loader.native_builds(pkg) == sorted([OTHER, MINE])
    assert core_loader.native_builds(str(tmp_path / "missing")) == []


def test_a_directory_with_this_pythons_build_beside_another_is_fine(tmp_path):
    assert core_loader.abi_mismatch(_package(tmp_path, OTHER, MINE)) is None


def test_a_directory_with_only_another_pythons_build_names_both(tmp_path):
    message = core_loader.abi_mismatch(_package(tmp_path, OTHER))
    assert message == (f"it holds {OTHER} but this Blender's Python "
                       f"{sys.version_info.major}.{sys.version_info.minor} needs {MINE}")


def test_an_empty_or_missing_directory_is_not_an_abi_mismatch(tmp_path):
    assert core_loader.abi_mismatch(_package(tmp_path)) is None
    assert core_loader.abi_mismatch(str(tmp_path / "nothing")) is None


def test_the_dev_vendor_dir_carries_a_build_for_every_python_of_the_matrix():
    # scripts/setup installs build/release (cp311) and build/release-cp313 into vendor/.
    import blender_cells

    builds = core_loader.native_builds(str(ADDON_PARENT / "farmhand" / "vendor" / "farmhand_core"))
    tags = {c.python_tag for c in blender_cells.CELLS.values() if c.missing() is None}
    for tag in tags:
        assert f"_native.cpython-{tag[2:]}-x86_64-linux-gnu.so" in builds, builds
