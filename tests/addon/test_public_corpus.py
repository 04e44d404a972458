"""Public scenes nobody on this project wrote (tests/addon/corpus/README.md: Debian's
blender 3.4.1 package files, with sha256) through the worker's checks in every Blender of the
matrix (tests/matrix.py): each passes the audit and the camera/engine checks or fails
with the right kind, retryable flag and message; none is refused for a file it does not
need."""

from __future__ import annotations

import pytest

from blender_runner import render_with_harness
from matrix import cell_params
from public_corpus import SCENES

# Every cell: each has its own classification table (addon/farmhand/classified/).
BLENDERS = cell_params()

# Debian's blender package's scenes (tests/addon/public_corpus.py, with sha256); the
# openshot-qt scenes go through the real worker in tests/e2e/test_public_scenes.py.
CORPUS = {scene.name: scene for scene in SCENES if scene.source == "debian-blender"}


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_public_scene_passes_or_fails_with_the_right_kind(kind, name, tmp_path):
    scene = CORPUS[name]
    why = scene.missing()
    if why:
        pytest.skip(why)
    result = render_with_harness(kind, tmp_path, scene.file, check_only=True, report=True)
    expected = scene.expect and scene.expect[0]
    if expected is None:
        assert "error" not in result, result.get("traceback")
        assert "audit: " in result["checked"]
    else:
        assert (result.get("code"), result.get("retryable")) == (expected, False), result
        assert result["sent"]["error"] == ("failed: scene 'Scene' has no active camera: set one "
                                           "(Scene Properties > Scene > Camera), save and "
                                           "submit again")
