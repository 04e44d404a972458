"""One version, from VERSION: the source bl_info carries it, and packaging stamps it into
the zipped bl_info and the extension manifest (packaging/lib/bl_info.py, manifest.py)."""

import tomllib

import pytest

from pack_helpers import REPO_ROOT, VERSION, load

bl_info = load("bl_info")
manifest = load("manifest")

SOURCE = '''"""Doc."""

bl_info = {
    "name": "X",
    "version": (0, 1, 0),  # keep
    "blender": (3, 4, 0),
}


def register():
    pass
'''


def test_source_bl_info_version_equals_version_file():
    source = (REPO_ROOT / "addon" / "farmhand" / "__init__.py").read_text()
    info = bl_info.read_bl_info(source)
    assert ".".join(map(str, info["version"])) == VERSION


def test_stamp_version_rewrites_only_the_version_tuple():
    out = bl_info.stamp_version(SOURCE, "2.10.3")
    assert bl_info.read_bl_info(out)["version"] == (2, 10, 3)
    assert out == SOURCE.replace("(0, 1, 0)", "(2, 10, 3)")


def test_stamp_version_handles_a_multiline_tuple_after_non_ascii_text():
    source = 'bl_info = {"name": "Färmhänd", "version": (\n    0,\n    1,\n    0,\n), "x": 1}\n'
    out = bl_info.stamp_version(source, "1.2.3")
    assert out == 'bl_info = {"name": "Färmhänd", "version": (1, 2, 3), "x": 1}\n'


@pytest.mark.parametrize("source, message", [
    ("def register():\n    pass\n", "no top-level `bl_info"),
    ("bl_info = dict(name='x', version=(0, 1, 0))\n", "literal dict"),
    ("bl_info = {'name': 'x'}\n", 'no "version" entry'),
])
def test_stamp_version_refuses_an_add_on_without_a_literal_bl_info(source, message):
    with pytest.raises(bl_info.BlInfoError, match=message):
        bl_info.stamp_version(source, "0.1.0")


@pytest.mark.parametrize("version", ["0.1", "0.1.0-rc1", "v1.0.0", ""])
def test_stamp_version_refuses_a_version_that_is_not_three_integers(version):
    with pytest.raises(ValueError, match="MAJOR.MINOR.PATCH"):
        bl_info.stamp_version(SOURCE, version)


def test_manifest_carries_version_platform_and_wheel_paths():
    text = manifest.render_manifest("3.2.1", ["linux-x64"], ["a-3.2.1-cp311-x.whl"])
    data = tomllib.loads(text)
    assert data["schema_version"] == "1.0.0"
    assert data["id"] == "farmhand"
    assert data["version"] == "3.2.1"
    assert data["type"] == "add-on"
    assert data["blender_version_min"] == "4.2.0"
    assert data["license"] == ["SPDX:GPL-3.0-or-later"]
    assert data["platforms"] == ["linux-x64"]
    assert data["wheels"] == ["./wheels/a-3.2.1-cp311-x.whl"]
    assert set(data["permissions"]) == {"network", "files"}


def test_manifest_short_texts_follow_blenders_limits():
    assert len(manifest.TAGLINE) <= 64 and manifest.TAGLINE[-1].isalnum()
    for reason in manifest.PERMISSIONS.values():
        assert len(reason) <= 64 and not reason.endswith(".")


def test_manifest_refuses_a_tagline_over_64_characters(monkeypatch):
    monkeypatch.setattr(manifest, "TAGLINE", "x" * 65)
    with pytest.raises(ValueError, match="65 characters"):
        manifest.render_manifest("0.1.0", ["linux-x64"], [])
