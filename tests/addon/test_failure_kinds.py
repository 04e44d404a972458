"""The failure kinds (addon/farmhand/failures.py) against docs/protocol.md "Failure codes",
the classification of Blender's messages, the report text rules, and the scrubbing of the
worker's paths (addon/farmhand/scrub.py). Pure Python: these modules do not import bpy."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"farmhand_{name}",
                                                  REPO / "addon" / "farmhand" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


failures = _load("failures")
scrub = _load("scrub")


def _protocol_table():
    text = (REPO / "docs" / "protocol.md").read_text()
    section = text.split("## Failure codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (yes|no) \| (refused|failed) \|", section, re.M)
    return {code: (retry == "yes", word) for code, retry, word in rows}


def test_kinds_are_exactly_the_protocols_failure_codes():
    documented = _protocol_table()
    assert len(documented) >= 15
    assert {k: (v.retryable, v.word) for k, v in failures.KINDS.items()} == documented


@pytest.mark.parametrize("message,code", [
    ("Error: Cannot render, no camera\n", "no_camera"),
    ("System is out of GPU memory", "out_of_memory"),
    ("CUDA error: Out of memory in cuMemAlloc(&device_pointer, size)", "out_of_memory"),
    ("OptiX error: OPTIX_ERROR_LAUNCH_FAILURE", "gpu_error"),
    ("CUDA error: an illegal memory access was encountered", "gpu_error"),
    ("Failed to create render result", "render_error"),
])
def test_blenders_messages_are_classified(message, code):
    assert failures.classify_blender_error(message) == code


def test_report_text_has_one_word_and_no_trailing_whitespace():
    kind = failures.KINDS["no_camera"]
    assert failures.report_text(kind, "scene 'S' has no camera  \n\n") == \
        "failed: scene 'S' has no camera"
    refused = failures.KINDS["missing_files"]
    assert failures.report_text(refused, "refused: 1 external file  \nline 2 \n") == \
        "refused: 1 external file\nline 2"


def test_unknown_code_is_refused_at_construction():
    with pytest.raises(ValueError, match="unknown failure code 'nope'"):
        failures.JobFailure("x", code="nope")
    assert failures.JobFailure("x", code="no_camera").kind.retryable is False
    assert failures.JobRefused("x").kind.word == "refused"


def test_scrubber_replaces_job_work_home_and_user(tmp_path, monkeypatch):
    home = tmp_path / "home" / "alicecooper"
    job = home / ".cache" / "farmhand" / "job-10"
    job.mkdir(parents=True)
    monkeypatch.setenv("USER", "alicecooper")
    clean = scrub.Scrubber(str(job), home=str(home))
    text = (f"Image file {job}/../pbr_node/glTF2.blend does not exist\n"
            f"work {job.parent}/journal.json; config {home}/.config/blender\n"
            "owner alicecooper, alicecoopers-laptop kept, mail alicecooper@x")
    out = clean(text)
    assert out == ("Image file <job>/../pbr_node/glTF2.blend does not exist\n"
                   "work <work>/journal.json; config <home>/.config/blender\n"
                   "owner <user>, alicecoopers-laptop kept, mail <user>@x")
    assert str(home) not in out and "alicecooper," not in out


def test_scrubber_leaves_the_creators_paths_alone(tmp_path):
    clean = scrub.Scrubber(str(tmp_path / "w" / "job-1"), home=str(tmp_path / "h"))
    assert clean("//textures/wood.png and C:\\Users\\creator\\x.png") == \
        "//textures/wood.png and C:\\Users\\creator\\x.png"
