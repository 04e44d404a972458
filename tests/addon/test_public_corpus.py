"""Public scenes nobody on this project wrote (tests/addon/corpus/README.md: Debian's
blender 3.4.1 package files, with sha256) through the worker's checks in every Blender of the
matrix (tests/matrix.py): each passes the audit and the camera/engine checks or fails
with the right kind, retryable flag and message; none is refused for a file it does not
need."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from blender_runner import render_with_harness
from matrix import cell_params

# Every cell: each has its own classification table (addon/farmhand/classified/).
BLENDERS = cell_params()

ROOT = Path("/usr/share/blender/scripts")
CORPUS = {
    "startup/bl_app_templates_system/2D_Animation/startup.blend":
        ("25b8def08a030f267f2b7c7c7baa2182eb62cefd67b509e7861655091ae8e51b", None),
    "startup/bl_app_templates_system/Sculpting/startup.blend":
        ("a6a34aaed752f75b20ddd6c024794634b179fef00abdf5ee1fbad78f70cce2c2", "no_camera"),
    "startup/bl_app_templates_system/VFX/startup.blend":
        ("632c50a8858a3893a044818e53572970a6ecf80fd3d33f70fd10c6bf016e7156", None),
    "startup/bl_app_templates_system/Video_Editing/startup.blend":
        ("02b0432069396c8f3fef0d11fe26f980df47b9e0b6fce8955be29310f6244723", None),
    "addons/materials_library_vx/sample_materials.blend":
        ("bad2b36843daf95f7396bd552939c05849d4e2552378378cdfb3fe203ea4e61c", "no_camera"),
    "addons/materials_library_vx/templates.blend":
        ("4ba7d3617469fb829540153e63a0f358706e75d5011a40cc9a060c1ef8770589", "no_camera"),
}


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_public_scene_passes_or_fails_with_the_right_kind(kind, name, tmp_path):
    path = ROOT / name
    sha256, expected = CORPUS[name]
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        pytest.skip(f"{path} absent or not the recorded file (corpus/README.md)")
    result = render_with_harness(kind, tmp_path, path, check_only=True, report=True)
    if expected is None:
        assert "error" not in result, result.get("traceback")
        assert "audit: " in result["checked"]
    else:
        assert (result.get("code"), result.get("retryable")) == (expected, False), result
        assert result["sent"]["error"] == ("failed: scene 'Scene' has no active camera: set one "
                                           "(Scene Properties > Scene > Camera), save and "
                                           "submit again")
