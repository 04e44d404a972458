"""Print this machine's Blender platform name (linux-x64, windows-x64, macos-arm64, ...).

The names are the ones `blender_manifest.toml` uses in ``platforms`` (Blender manual,
"Extensions > Getting started > Manifest": windows-x64, windows-arm64, macos-x64,
macos-arm64, linux-x64). Exit status 1 with a message on an unsupported machine.
"""

import platform
import sys

SYSTEMS = {"Linux": "linux", "Windows": "windows", "Darwin": "macos"}
MACHINES = {"x86_64": "x64", "amd64": "x64", "arm64": "arm64", "aarch64": "arm64"}


def blender_platform(system: str, machine: str) -> str:
    """Map ``platform.system()`` / ``platform.machine()`` to a Blender platform name.

    Raises KeyError for a system or CPU Blender publishes no extensions for."""
    return f"{SYSTEMS[system]}-{MACHINES[machine.lower()]}"


if __name__ == "__main__":
    try:
        print(blender_platform(platform.system(), platform.machine()))
    except KeyError:
        sys.exit(f"unsupported platform {platform.system()} {platform.machine()}: pass --platform")
