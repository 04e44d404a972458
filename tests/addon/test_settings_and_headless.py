"""Worker settings (env vars, arguments after --) and the headless entry's exit codes for
problems found before any network use, in Debian's Blender 3.4 and the bpy 5.0.1 module;
the add-on registers and unregisters in both."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import blender_cells
from blender_runner import ADDON_PARENT, BLENDERS, REPO, blender_env, command

sys.path.insert(0, str(ADDON_PARENT))
from farmhand import settings as fs  # noqa: E402  (imports bpy: the 5.0.1 module)

HEADLESS = "import farmhand; farmhand.run_headless()"
CORE_PATH = os.environ.get("FARMHAND_CORE_PATH", str(REPO / "build" / "release" / "python"))


def test_arguments_override_environment_and_build_the_engine_config(tmp_path):
    env = {"FARMHAND_BACKEND_URL": "http://127.0.0.1:9/", "FARMHAND_IPFS_RPC":
           "http://127.0.0.1:5001, http://127.0.0.1:5002", "FARMHAND_DEVICE": "cuda",
           "FARMHAND_MAX_JOBS": "3", "FARMHAND_WORK_DIR": str(tmp_path / "w")}
    settings = fs.from_env_and_args(env, ["--backend", "http://127.0.0.1:8123", "--gateways",
                                          "http://127.0.0.1:8080", "--cid-version", "1"])
    config = settings.engine_config((3, 4, 1))
    assert config["backend_url"] == "http://127.0.0.1:8123"
    assert config["ipfs_rpc_urls"] == ["http://127.0.0.1:5001", "http://127.0.0.1:5002"]
    assert config["gateway_urls"] == ["http://127.0.0.1:8080"]
    assert config["blender_version"] == 304
    assert config["device_class"] == "CUDA"     # said on every poll (protocol.md "Matching")
    assert config["cid_version"] == 1
    assert config["work_dir"] == str(tmp_path / "w")
    assert config["max_job_bytes"] == 2 * 1024 ** 3
    assert (settings.device, settings.max_jobs, settings.online) == ("CUDA", 3, False)


@pytest.mark.parametrize("env,args,needle", [
    ({"FARMHAND_DEVICE": "TPU"}, [], "device 'TPU'"),
    ({"FARMHAND_MAX_JOBS": "many"}, [], "FARMHAND_MAX_JOBS='many'"),
    ({}, ["--backend", "ftp://127.0.0.1"], "must start with http://"),
    ({}, ["--cid-version", "2"], "CID version 2"),
    ({}, ["--frobnicate"], "unknown argument(s) --frobnicate"),
    # Values in the right type but outside the engine's ranges: refused here (exit 2), not
    # passed on to fail at engine start (exit 5).
    ({"FARMHAND_PREFETCH": "9"}, [], "prefetch 9 must be 0 to 8"),
    ({"FARMHAND_POLL_WAIT": "-5"}, [], "poll wait -5 must be 0 to 300"),
    ({}, ["--poll-wait", "301"], "poll wait 301 must be 0 to 300"),
    ({"FARMHAND_HEARTBEAT": "nan"}, [], "heartbeat interval nan must be 0.1 to 3600"),
    ({"FARMHAND_HEARTBEAT": "inf"}, [], "heartbeat interval inf must be 0.1 to 3600"),
    ({}, ["--heartbeat", "0"], "heartbeat interval 0.0 must be 0.1 to 3600"),
    ({"FARMHAND_MAX_JOB_BYTES": str(2 ** 64)}, [], "must be below 2^63"),
    ({"FARMHAND_KEY_FILE": "/tmp/a\0b"}, [], "key file path"),
])
def test_bad_settings_are_refused_with_the_name_of_the_setting(env, args, needle):
    with pytest.raises(fs.SettingsError) as err:
        fs.from_env_and_args(env, args)
    assert needle in str(err.value)


def _headless(kind, tmp_path, args, extra_env=None):
    env = blender_env(tmp_path)
    env["PYTHONPATH"] = str(ADDON_PARENT)
    env.update(extra_env or {})
    return subprocess.run(command(kind, None, args, expr=HEADLESS), env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", BLENDERS)
def test_headless_exits_2_on_a_bad_setting(kind, tmp_path):
    proc = _headless(kind, tmp_path, ["--device", "TPU"])
    assert proc.returncode == 2, proc.stderr
    assert "bad setting: device 'TPU'" in proc.stderr


def test_headless_in_bpy_module_exits_4_when_online_access_is_off(tmp_path):
    proc = _headless("bpy50", tmp_path, ["--backend", "http://127.0.0.1:9"])
    assert proc.returncode == 4, proc.stderr
    assert "online access is off" in proc.stderr


REGISTER = """
import bpy
import addon_utils
mod = addon_utils.enable('farmhand', default_set=True, handle_error=None)
prefs = bpy.context.preferences.addons['farmhand'].preferences
print('PREFS', type(prefs).bl_idname, prefs.backend_url, prefs.share_gpu, prefs.device)
print('PANEL', hasattr(bpy.types, 'FARMHAND_PT_status'))
from farmhand import ui
print('ADDRESS', ui._state['address'] or ui._state['address_error'])
addon_utils.disable('farmhand', default_set=True)
print('AFTER', hasattr(bpy.types, 'FARMHAND_PT_status'))
"""


@pytest.mark.parametrize("kind", BLENDERS)
def test_addon_registers_preferences_and_panel_and_unregisters(kind, tmp_path):
    scripts = tmp_path / "blender-scripts" / "addons"
    scripts.mkdir(parents=True)
    (scripts / "farmhand").symlink_to(ADDON_PARENT / "farmhand")
    env = blender_env(tmp_path)
    env["FARMHAND_CORE_PATH"] = CORE_PATH
    if blender_cells.cell(kind).is_module:  # the bpy module looks for legacy add-ons on sys.path
        env["PYTHONPATH"] = str(scripts)
    proc = subprocess.run(command(kind, None, [], expr=REGISTER), env=env,
                          capture_output=True, text=True, timeout=120)
    assert "PREFS farmhand http://127.0.0.1:8000 False CPU" in proc.stdout, proc.stderr
    assert "PANEL True" in proc.stdout
    assert "AFTER False" in proc.stdout
    key = tmp_path / "blender-config" / "farmhand" / "worker.key"
    assert key.is_file(), proc.stdout + proc.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    address = proc.stdout.split("ADDRESS ", 1)[1].split()[0]
    assert address.startswith("0x") and len(address) == 66, proc.stdout
