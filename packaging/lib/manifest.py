"""Write the ``blender_manifest.toml`` of the Farmhand extension (Blender >= 4.2).

Fields and rules: Blender manual, "Extensions > Getting started > Manifest" (schema 1.0.0)
and Blender's own checker, ``bl_pkg/cli/blender_ext.py validate``: tagline at most 64
characters and not ending in punctuation; permission reasons likewise short and without a
trailing period; ``wheels`` paths relative to the manifest, starting with ``./``.
"""

from __future__ import annotations

import json

EXTENSION_ID = "farmhand"
NAME = "Farmhand"
TAGLINE = "Share your GPU: render other artists' Blender jobs for rewards"
MAINTAINER = "Farmhand developers"
LICENSE = "SPDX:GPL-3.0-or-later"
BLENDER_VERSION_MIN = "4.2.0"
TAGS = ["Render", "System"]
# Why the add-on needs each permission (shown to the artist before install).
PERMISSIONS = {
    "network": "Fetches render jobs and uploads results (coordinator, IPFS)",
    "files": "Keeps a worker key, downloads job .blend files, writes renders",
}


def _toml_str(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes for this text.
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def render_manifest(version: str, platforms: list[str], wheel_names: list[str]) -> str:
    """The manifest text for ``version`` ("0.1.0"), Blender ``platforms`` (["linux-x64"])
    and wheel file names stored under ``./wheels/`` in the zip."""
    if len(TAGLINE) > 64:
        raise ValueError(f"tagline is {len(TAGLINE)} characters; Blender allows 64")
    for key, reason in PERMISSIONS.items():
        if len(reason) > 64 or reason.endswith("."):
            raise ValueError(f"permission {key!r}: reason must be <= 64 chars, no final period")
    lines = [
        'schema_version = "1.0.0"',
        "",
        f"id = {_toml_str(EXTENSION_ID)}",
        f"version = {_toml_str(version)}",
        f"name = {_toml_str(NAME)}",
        f"tagline = {_toml_str(TAGLINE)}",
        f"maintainer = {_toml_str(MAINTAINER)}",
        'type = "add-on"',
        f"tags = {_toml_list(TAGS)}",
        f"blender_version_min = {_toml_str(BLENDER_VERSION_MIN)}",
        f"license = {_toml_list([LICENSE])}",
        f"platforms = {_toml_list(platforms)}",
        f"wheels = {_toml_list(['./wheels/' + w for w in wheel_names])}",
        "",
        "[permissions]",
        *(f"{key} = {_toml_str(reason)}" for key, reason in PERMISSIONS.items()),
        "",
    ]
    return "\n".join(lines)
