"""The legacy add-on zip in Debian's Blender 3.4, installed the way an artist does it
(Preferences > Add-ons > Install, tick the box) into a temporary user config."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pack_helpers import BLENDER, VERSION, clean_env

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.blender,
              pytest.mark.skipif(BLENDER is None, reason="Debian's blender binary not installed")]


def run_blender(user_dir: Path, *args: str, factory: bool = False) -> dict:
    cmd = [BLENDER, "-b", *(["--factory-startup"] if factory else []), "-noaudio",
           "--python", str(HERE / "blender_install_legacy.py"), "--", *args]
    env = clean_env(BLENDER_USER_CONFIG=str(user_dir / "config"),
                    BLENDER_USER_SCRIPTS=str(user_dir / "scripts"), PYTHONNOUSERSITE="1")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                            cwd=user_dir)
    line = next((l for l in result.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, f"blender printed no result:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return json.loads(line[len("RESULT "):])


@pytest.fixture
def installed(built, tmp_path):
    """Blender 3.4 with the legacy zip installed and enabled in tmp_path/{config,scripts}."""
    out = run_blender(tmp_path, "install", str(built.legacy_zip), factory=True)
    return tmp_path, out


def test_addon_install_and_enable_load_the_installed_copy_and_its_core(installed):
    user_dir, out = installed
    assert out["blender"].startswith("3.4")
    assert out["install"] == ["FINISHED"] and out["enable"] == ["FINISHED"]
    assert out["enabled"] == [True, True]
    package = user_dir / "scripts" / "addons" / "farmhand"
    assert Path(out["addon_file"]) == package / "__init__.py"
    assert Path(out["core_file"]) == package / "vendor" / "farmhand_core" / "__init__.py"
    assert out["core_version"] == VERSION
    assert ".".join(map(str, out["addon_version"])) == VERSION


def test_enabled_add_on_survives_a_restart_from_saved_preferences(installed):
    user_dir, _ = installed
    out = run_blender(user_dir, "inspect")
    assert out["in_prefs"] is True
    assert out["enabled"] == [True, True]
    assert Path(out["core_file"]).is_relative_to(user_dir / "scripts" / "addons" / "farmhand")


def test_headless_import_finds_the_installed_add_on_without_enabling_it(installed):
    user_dir, _ = installed
    # `blender -b --python-expr "import farmhand; ..."` (the render-node command line) on a
    # factory configuration: only the user scripts dir tells Blender where the add-on is.
    env = clean_env(BLENDER_USER_SCRIPTS=str(user_dir / "scripts"), PYTHONNOUSERSITE="1")
    expr = ("import farmhand; from farmhand import core_loader; "
            "print('CORE', core_loader.load_core().__file__)")
    result = subprocess.run([BLENDER, "-b", "--factory-startup", "-noaudio", "--python-expr",
                             expr], capture_output=True, text=True, timeout=300, env=env)
    core = [l.split(" ", 1)[1] for l in result.stdout.splitlines() if l.startswith("CORE ")]
    assert core == [str(user_dir / "scripts" / "addons" / "farmhand" / "vendor" /
                        "farmhand_core" / "__init__.py")], result.stdout + result.stderr


def test_install_of_a_zip_without_the_add_on_package_leaves_nothing_enabled(tmp_path):
    bogus = tmp_path / "farmhand-0.0.0-legacy-linux-x64.zip"
    shutil.make_archive(str(bogus.with_suffix("")), "zip", root_dir=HERE,
                        base_dir="pack_helpers.py")
    out = run_blender(tmp_path, "install", str(bogus), factory=True)
    assert out["enable_error"] == "ModuleNotFoundError: No module named 'farmhand'"
    assert out["enabled"] == [False, False]
    assert "addon_file" not in out
