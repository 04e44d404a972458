"""Blender refusing writes for the moment (addon/farmhand/busy.py), without Blender: the two
messages come verbatim from Debian Blender 3.4 in the GUI loop session (a job's audit and its
scene's removal refused while a render thread's Python overlapped the worker's turn)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))
from farmhand.busy import RetryWindow, is_refused_write  # noqa: E402

ID_WRITE = ("Writing to ID classes in this context is not allowed: Scene.002, Scene "
            "datablock, error setting CyclesRenderSettings.shading_system")
OPERATOR = ('Calling operator "bpy.ops.scene.delete" error, can\'t modify blend data in this '
            "state (drawing/rendering)")


# the same refusal in Blender 5.0 and later (bpy 5.0.1 and 5.2 modules)
OPERATOR_5 = ('Calling operator "bpy.ops.object.select_all" error, cannot modify blend data '
              "in this state (drawing/rendering)")


@pytest.mark.parametrize("exc, refused", [
    (AttributeError(ID_WRITE), True),
    (RuntimeError(OPERATOR), True),
    (RuntimeError(OPERATOR_5), True),
    # real errors stay errors: a missing attribute, another operator failure, another type
    (AttributeError("'CyclesRenderSettings' object has no attribute 'use_denoising2'"), False),
    (RuntimeError("Error: Cannot render, no camera"), False),
    (ValueError(ID_WRITE), False),
])
def test_only_blenders_two_write_refusals_count_as_not_now(exc, refused):
    assert is_refused_write(exc) is refused


def test_a_refused_step_is_retried_for_the_window_then_fails():
    window = RetryWindow(30.0)
    assert window.first
    assert window.allow(100.0) and not window.first
    assert window.allow(129.9)
    assert not window.allow(130.0)  # 30 s after the first refusal: fail as any error
    window.reset()                  # the step went through: the next refusal starts afresh
    assert window.first and window.allow(500.0) and window.since == 500.0
