"""packaging/node: install.sh puts the legacy add-on where `blender -b` finds it (real
Debian Blender 3.4) and stages the systemd unit and env file; the unit passes systemd's
own checker."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from pack_helpers import BLENDER, REPO_ROOT, VERSION, clean_env

NODE = REPO_ROOT / "packaging" / "node"
INSTALL = NODE / "install.sh"
needs_blender = pytest.mark.skipif(BLENDER is None, reason="Debian's blender binary not installed")


def install(*args, **env):
    return subprocess.run([str(INSTALL), *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=clean_env(**{k: str(v) for k, v in env.items()}))


def read_unit(path: Path) -> dict:
    """Key -> list of values of a systemd unit file (all sections together)."""
    out: dict = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def test_unit_declares_user_restart_sigterm_and_a_long_stop_timeout():
    unit = read_unit(NODE / "farmhand-worker.service")
    assert unit["User"] == ["farmhand"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["KillSignal"] == ["SIGTERM"]
    assert unit["TimeoutStopSec"] == ["15min"]
    assert unit["EnvironmentFile"] == ["/etc/farmhand/worker.env"]
    # --python-exit-code 3: a missing add-on exits non-zero, so systemd restarts it. Blender
    # runs under the node launcher (Landlock, key as a descriptor: docs/security.md).
    assert unit["ExecStart"] == [
        "/usr/bin/python3 -m farmhand_core.sandbox --work-dir /var/lib/farmhand/work "
        "--key-file /var/lib/farmhand/worker.key -- /usr/bin/blender -b --python-exit-code 3 "
        '--python-expr "import farmhand; farmhand.run_headless()"']
    assert unit["Environment"][-1] == \
        "PYTHONPATH=/var/lib/farmhand/blender/scripts/addons/farmhand/vendor"
    for key, value in (("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                       ("MemoryMax", "90%"), ("TasksMax", "4096"), ("LimitCORE", "0")):
        assert unit[key] == [value], key


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_unit_passes_systemd_analyze_verify(tmp_path):
    unit = tmp_path / "farmhand-worker.service"
    shutil.copy(NODE / "farmhand-worker.service", unit)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Unknown key" not in result.stderr


def test_env_file_sets_only_settings_the_add_on_reads():
    settings = (REPO_ROOT / "addon" / "farmhand" / "settings.py").read_text()
    lines = (NODE / "worker.env").read_text().splitlines()
    keys = [line.split("=", 1)[0].lstrip("#") for line in lines
            if line.startswith(("FARMHAND_", "#FARMHAND_"))]
    assert "FARMHAND_BACKEND_URL" in keys
    assert [k for k in keys if f'"{k}"' not in settings] == []


@needs_blender
def test_user_install_puts_the_add_on_where_blender_b_imports_it(built, tmp_path):
    scripts = tmp_path / "scripts"
    result = install(built.legacy_zip, BLENDER_USER_SCRIPTS=scripts)
    assert result.returncode == 0, result.stdout + result.stderr
    package = scripts / "addons" / "farmhand"
    assert f"Farmhand {VERSION} (farmhand_core {VERSION}) installed at {package}" in result.stdout
    assert (package / "vendor" / "farmhand_core" / "__init__.py").is_file()


@needs_blender
def test_user_install_without_blender_user_scripts_uses_the_versioned_config_dir(built, tmp_path):
    result = install(built.legacy_zip, HOME=tmp_path, XDG_CONFIG_HOME=tmp_path / "cfg")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "cfg" / "blender" / "3.4" / "scripts" / "addons" / "farmhand" /
            "__init__.py").is_file()


@needs_blender
def test_service_install_stages_unit_env_file_and_add_on(built, tmp_path):
    root = tmp_path / "root"
    result = install("--service", built.legacy_zip, FARMHAND_DESTDIR=root)
    assert result.returncode == 0, result.stdout + result.stderr
    env = root / "etc" / "farmhand" / "worker.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o640
    assert env.read_text() == (NODE / "worker.env").read_text()
    unit = read_unit(root / "etc" / "systemd" / "system" / "farmhand-worker.service")
    assert f" -- {os.path.realpath(BLENDER)} -b " in unit["ExecStart"][0] or \
        f" -- {BLENDER} -b " in unit["ExecStart"][0]
    assert (root / "var" / "lib" / "farmhand" / "blender" / "scripts" / "addons" / "farmhand" /
            "__init__.py").is_file()
    # A second run keeps an edited env file.
    env.write_text("FARMHAND_BACKEND_URL=https://example.invalid\n")
    again = install("--service", built.legacy_zip, FARMHAND_DESTDIR=root)
    assert again.returncode == 0 and "kept existing" in again.stdout
    assert env.read_text() == "FARMHAND_BACKEND_URL=https://example.invalid\n"


def test_install_refuses_the_extension_zip_for_a_node(built, tmp_path):
    result = install(built.extension_zip, BLENDER_USER_SCRIPTS=tmp_path)
    assert result.returncode == 1
    assert "is the Blender >=4.2 extension; a node needs the legacy zip" in result.stderr


def test_install_refuses_a_missing_zip_and_a_missing_blender(tmp_path):
    missing = install(tmp_path / "nope.zip")
    assert missing.returncode == 1 and "nope.zip: no such file" in missing.stderr
    zip_path = tmp_path / "farmhand-0.1.0-legacy-linux-x64.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    no_blender = install("--blender", tmp_path / "no-blender", zip_path)
    assert no_blender.returncode == 1 and "Blender not found" in no_blender.stderr


@needs_blender
@pytest.mark.parametrize("content", [b"not a zip", b"PK\x05\x06" + b"\0" * 18])
def test_install_refuses_a_file_that_is_not_a_farmhand_add_on_zip(tmp_path, content):
    zip_path = tmp_path / "farmhand-0.1.0-legacy-linux-x64.zip"
    zip_path.write_bytes(content)
    result = install(zip_path, BLENDER_USER_SCRIPTS=tmp_path / "scripts")
    assert result.returncode == 1
    assert "is not a Farmhand add-on zip (no farmhand/__init__.py inside)" in result.stderr
    assert not (tmp_path / "scripts" / "addons" / "farmhand").exists()
