"""The capability audit (addon/farmhand/audit.py) and the failure kinds of jobs that cannot
render, in every Blender of the matrix (tests/matrix.py), both strategies: every job
file here is refused or fails before a frame is written, with the right code, retryable
flag and a message naming the feature and the fix; what would reach the coordinator never
holds the worker's paths or user name."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import blender_cells  # scripts/ (tests/conftest.py puts it on sys.path)
import pytest

from blender_runner import (ADDON_PARENT, DEBIAN_BLENDER, REPO, command, blender_env,
                            render_with_harness, run_bpy_script)
from matrix import cell_params

# Every cell: each has its own classification table (addon/farmhand/classified/).
BLENDERS = cell_params()
# Blenders with the Geometry Nodes Import nodes (4.5+) and Sample Sound Frequencies (5.2+).
IMPORT_NODES = cell_params(min_series=(4, 5))
SOUND_NODE = cell_params(min_series=(5, 2))

MAKE = Path(__file__).with_name("make_audit_files.py")
CLASSIFY = REPO / "scripts" / "classify_capabilities.py"


@pytest.fixture(scope="module")
def own_files(tmp_path_factory):
    """A function cell name -> dir of the audit files saved by that cell's Blender (made
    once per cell)."""
    made = {}

    def files(kind):
        if kind not in made:
            tmp = tmp_path_factory.mktemp(f"auditfiles-{kind}")
            proc = run_bpy_script(kind, MAKE, [str(tmp / "files")], tmp)
            assert (tmp / "files" / "vse.blend").is_file(), proc.stdout + proc.stderr
            made[kind] = tmp / "files"
        return made[kind]

    return files


@pytest.fixture(scope="module")
def audit_files(tmp_path_factory):
    """{"old": dir of files saved by 3.4 (or 5.0 without Debian's Blender), "new": dir of
    files saved by bpy 5.0 (gn_import.blend)}."""
    tmp = tmp_path_factory.mktemp("auditfiles")
    out = {}
    for key, kind in (("old", "blender34" if DEBIAN_BLENDER else "bpy50"), ("new", "bpy50")):
        run_bpy_script(kind, MAKE, [str(tmp / key)], tmp)
        assert (tmp / key / "vse.blend").is_file(), key
        out[key] = tmp / key
    return out


def _no_frames(result):
    return not result["output_dir"].exists() or not list(result["output_dir"].iterdir())


REFUSALS = [
    ("vse.blend", r"strip 'IMAGE' at scene 'Scene' / .*'Secret': an image strip reads "
                  r"image files"),
    ("fluid.blend", r"modifier 'FLUID' at object 'Cube' / fluid modifier 'Fluid': a fluid "
                    r"simulation reads and writes its cache directory"),
    ("meshcache.blend", r"modifier 'MESH_CACHE' at object 'Cube' / .*'Cache': reads an "
                        r"MDD/PC2 file"),
    ("ies.blend", r"node 'ShaderNodeTexIES' at .*light 'Sun' / .* in external mode reads an "
                  r"\.ies file"),
    ("pointcache.blend", r"point cache on disk at object 'Cube' / .*writes and reads "
                         r"simulation data on disk"),
    ("escape_dir.blend", r"at object 'Cube' / .*: the absolute path '/tmp/farmhand-paint-"
                         r"escape/' is outside the job directory"),
    # Python from the file, run by the render itself (auto-run off or not): before the
    # audit refused it, every cell ran the text and wrote //freestyle_ran
    # a view's file suffix is appended to per-view file names: with Individual views the
    # suffix "/../../x" wrote a PNG outside the job dir (review, 2026-12-03)
    ("view_suffix.blend", r"render view file suffix at scene 'Scene' / render view 'left': "
                          r"the suffix '/\.\./\.\./x_L' names a path"),
    # an object with only a fake user is evaluated through a Boolean modifier all the same;
    # a packed volume is read from its path (review of 2026-12-04: both read files outside)
    ("fake_user_cache.blend", r"modifier 'MESH_CACHE' at object 'Hidden' / .*'Cache': reads "
                              r"an MDD/PC2 file"),
    ("packed_volume.blend", r"OpenVDB volume at volume 'Smoke': reads \.vdb files during "
                            r"evaluation, from its file path even when packed"),
    ("freestyle_script.blend", r"Freestyle Python style module at view layer 'ViewLayer' of "
                               r"scene 'Scene': Freestyle's Python Scripting mode runs the "
                               r"file's text 'style.py' as Python at render time"),
]


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("name,pattern", REFUSALS)
def test_features_that_read_or_write_files_are_refused_before_evaluation(
        kind, name, pattern, audit_files, tmp_path):
    result = render_with_harness(kind, tmp_path, audit_files["old"] / name, frames=[1],
                                 report=True)
    assert result.get("error_type") == "AuditRefusal", result
    assert re.search(pattern, result["error"]), result["error"]
    assert (result["code"], result["retryable"]) == ("refused_by_audit", False)
    assert result["sent"]["error"].startswith("refused: ")
    assert result["sent"]["code"] == "refused_by_audit"
    assert _no_frames(result)
    assert not (result["work_dir"] / "freestyle_ran").exists()
    assert "FREESTYLE SCRIPT RAN" not in result["log"]


@pytest.mark.parametrize("kind", BLENDERS)
def test_refusal_is_the_same_in_the_gui_strategy_and_leaves_the_artists_file(
        kind, audit_files, tmp_path):
    from blender_runner import make_job_files
    artist = make_job_files(tmp_path / "artist")["files"] / "artist.blend"
    result = render_with_harness(kind, tmp_path, audit_files["old"] / "meshcache.blend",
                                 frames=[1], strategy="appended", artist=str(artist))
    assert result.get("error_type") == "AuditRefusal", result
    assert "modifier 'MESH_CACHE'" in result["error"]
    assert result["before"] == result["after"]


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("name", ["fake_user_cache.blend", "packed_volume.blend"])
def test_fake_user_objects_and_packed_volumes_are_refused_in_the_gui_strategy_too(
        kind, name, audit_files, tmp_path):
    from blender_runner import make_job_files
    artist = make_job_files(tmp_path / "artist")["files"] / "artist.blend"
    result = render_with_harness(kind, tmp_path, audit_files["old"] / name, frames=[1],
                                 strategy="appended", artist=str(artist))
    assert result.get("error_type") == "AuditRefusal", result
    assert ("modifier 'MESH_CACHE' at object 'Hidden'" in result["error"]
            or "OpenVDB volume at volume 'Smoke'" in result["error"]), result["error"]
    assert result["before"] == result["after"]


@pytest.mark.parametrize("kind", BLENDERS)
def test_a_scene_named_like_the_workers_empty_scene_still_renders(kind, audit_files, tmp_path):
    # the headless worker opens a job with its windows on an empty scene of its own, named
    # "~farmhand: nothing evaluated before the audit"; a job's scene of that name once lost
    # to it ("StructRNA of type Scene has been removed", review of 2026-12-04)
    result = render_with_harness(kind, tmp_path, audit_files["old"] / "empty_scene_name.blend",
                                 frames=[1])
    assert result.get("error") is None, result
    assert len(result["paths"]) == 1, result


@pytest.mark.parametrize("kind", BLENDERS)
def test_an_object_used_through_an_uncounted_pointer_renders_and_is_removed_cleanly(
        kind, audit_files, tmp_path):
    # The job's Boolean modifier points at a fake-user object without counting a user: the
    # cleanup once removed that object first, leaving the pointer dangling (bpy 5.0 crashed
    # in batch_remove right after, 3 runs of 4). Now: rendered, everything removed, alive.
    from blender_runner import make_job_files
    artist = make_job_files(tmp_path / "artist")["files"] / "artist.blend"
    for attempt in range(3):
        result = render_with_harness(kind, tmp_path / str(attempt),
                                     audit_files["old"] / "fake_user_boolean.blend",
                                     frames=[1], strategy="appended", artist=str(artist))
        assert result.get("error") is None, result
        assert len(result["paths"]) == 1 and result["before"] == result["after"], result
        assert result["returncode"] == 0, result


@pytest.mark.parametrize("kind", IMPORT_NODES)
def test_geometry_nodes_import_text_cannot_read_the_worker_key(kind, own_files, tmp_path):
    # issue 9: Import Text on //../../worker.key leaked the key into the rendered frame
    secret = tmp_path / "worker.key"
    secret.write_text("SECRET")
    result = render_with_harness(kind, tmp_path, own_files(kind) / "gn_import.blend",
                                 frames=[1], report=True)
    assert result.get("error_type") == "AuditRefusal", result
    assert "node 'GeometryNodeImportText' at node tree 'Leak'" in result["error"] or \
        "node 'GeometryNodeImportText' at geometry node tree 'Leak'" in result["error"], \
        result["error"]
    assert "takes a file path (Path)" in result["error"]
    assert _no_frames(result)


@pytest.mark.parametrize("kind", SOUND_NODE)
def test_a_sound_sampled_by_geometry_nodes_is_audited_as_an_external_file(
        kind, own_files, tmp_path):
    # blender-5.2.json classifies Sample Sound Frequencies safe because the Sound datablock
    # it samples is audited: used through the node's socket alone, it still is.
    result = render_with_harness(kind, tmp_path, own_files(kind) / "gn_sound.blend",
                                 frames=[1], report=True)
    assert result.get("error_type") == "MissingFiles", result
    assert result["error"].startswith("1 external file is not packed: //../../secret.wav "
                                      "(sound 'Secret', outside the job directory)"), \
        result["error"]
    assert _no_frames(result)


@pytest.mark.parametrize("kind", BLENDERS)
def test_missing_textures_and_udim_tiles_refuse_the_job_naming_files_and_fix(
        kind, audit_files, tmp_path):
    result = render_with_harness(kind, tmp_path, audit_files["old"] / "missing.blend",
                                 frames=[1], report=True)
    assert result.get("error_type") == "MissingFiles", result
    assert (result["code"], result["retryable"]) == ("missing_files", False)
    error = result["error"]
    assert error.startswith("4 external files are not packed: "), error
    for shown in ("//wood.png (image 'Wood')", "//rough.png (image 'Rough')",
                  "//tile.1001.png (image 'Tiles')", "//tile.1002.png (image 'Tiles')"):
        assert shown in error
    assert error.endswith("— File > External Data > Pack Resources (and Pack Linked "
                          "Libraries), then submit again")
    assert result["sent"]["error"] == "refused: " + error
    assert _no_frames(result)


@pytest.mark.parametrize("kind", BLENDERS)
@pytest.mark.parametrize("name,image", [("packed_sequence.blend", "Decoy"),
                                        ("packed_movie.blend", "Decoy"),
                                        ("udim_part_packed.blend", "Tiles")])
def test_packed_images_blender_reads_from_disk_are_checked_as_files(kind, name, image,
                                                                    audit_files, tmp_path):
    # A sequence or movie is read from its files even where packed bytes exist, a UDIM image
    # reads each unpacked tile: each read a file outside the job dir (review, 2026-12-03)
    result = render_with_harness(kind, tmp_path, audit_files["old"] / name, frames=[1],
                                 report=True)
    assert result.get("error_type") == "MissingFiles", result
    assert (result["code"], result["retryable"]) == ("missing_files", False)
    outside = str(audit_files["old"] / "outside")
    assert f"(image '{image}', outside the job directory)" in result["error"], \
        result["error"]
    assert outside in result["error"]
    assert _no_frames(result)


@pytest.mark.parametrize("kind", BLENDERS)
def test_cache_result_is_turned_off_so_nothing_lands_in_the_temp_dir(kind, audit_files,
                                                                     tmp_path):
    # Render > Performance > Cache Result wrote <temp>/cached_RR_<file>_<scene name>_<md5>.exr,
    # following "/" and ".." in the job-chosen scene name (review, 2026-12-03)
    temp = tmp_path / "blender-temp"
    temp.mkdir()
    result = render_with_harness(kind, tmp_path, audit_files["old"] / "render_cache.blend",
                                 frames=[1], env={"TMPDIR": str(temp)})
    assert "error" not in result, result.get("traceback")
    assert sorted(p.name for p in result["output_dir"].iterdir()) == ["frame_0001.png"]
    cached = [str(p) for p in tmp_path.rglob("cached_RR_*")] + \
        [str(p) for p in tmp_path.rglob("*.exr")]
    assert cached == []
    assert "Cache Result turned off in 1 scene(s)" in result["log"]


@pytest.mark.parametrize("kind", BLENDERS)
def test_packed_texture_renders(kind, audit_files, tmp_path):
    result = render_with_harness(kind, tmp_path, audit_files["old"] / "packed.blend",
                                 frames=[1])
    assert "error" not in result, result.get("traceback")
    assert sorted(p.name for p in result["output_dir"].iterdir()) == ["frame_0001.png"]
    assert re.search(r"audit: \d+ datablocks, \d+ structs, \d+ paths, 1 external files "
                     r"checked", result["log"]) is None  # packed: not an external file
    assert "audit: " in result["log"]


@pytest.mark.parametrize("kind", BLENDERS)
def test_scene_without_camera_fails_not_retryable_with_the_fix(kind, audit_files, tmp_path):
    result = render_with_harness(kind, tmp_path, audit_files["old"] / "nocamera.blend",
                                 frames=[1], report=True, log_tail=f"job dir {tmp_path}")
    assert (result.get("code"), result.get("retryable")) == ("no_camera", False), result
    assert "has no active camera" in result["error"]
    sent = result["sent"]
    assert sent["error"] == "failed: " + result["error"]
    assert sent["error"] == sent["error"].rstrip()
    assert str(tmp_path) not in sent["log_tail"] and "<work>" in sent["log_tail"]
    assert _no_frames(result)


@pytest.mark.parametrize("kind", BLENDERS)
def test_every_node_modifier_and_strip_type_of_this_blender_is_classified(kind, tmp_path):
    proc = run_bpy_script(kind, CLASSIFY, ["--check"], tmp_path)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["exact"], result
    assert result["unclassified"] == {"nodes": [], "modifiers": [], "strips": []}, result
    assert result["path_nodes_marked_safe"] == []
    # every verdict says where it comes from, and a person reviewed every drafted one
    assert result["unsourced"] == result["unreviewed"] == \
        {"nodes": [], "modifiers": [], "strips": []}, result
    assert proc.returncode == 0
    assert {"FLUID", "MESH_CACHE", "MESH_SEQUENCE_CACHE"} <= set(result["refused"]["modifiers"])
    assert {"IMAGE", "MOVIE", "SOUND"} == set(result["refused"]["strips"])
    assert {"ShaderNodeScript", "ShaderNodeTexIES"} <= set(result["refused"]["nodes"])
    if blender_cells.cell(kind).series >= (4, 5):
        assert {"GeometryNodeImportOBJ", "GeometryNodeImportText", "GeometryNodeImportVDB",
                "GeometryNodeImportCSV"} <= set(result["refused"]["nodes"])
    assert result["counts"]["nodes"] > 300


PROBE = Path(__file__).with_name("skipped_pointers_probe.py")


@pytest.mark.parametrize("kind", BLENDERS)
def test_the_pointers_the_audit_skips_hide_no_path_property(kind, tmp_path):
    # audit.SKIPPED_POINTERS: Scene.tool_settings is not walked (the bpy 4.2 module
    # segfaults reading its UV sculpt tool slot's brush in a 3.4 file); nothing under it
    # holds a path except datablocks, which the audit walks on their own.
    proc = run_bpy_script(kind, PROBE, [], tmp_path)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    result = json.loads(lines[-1][len("RESULT "):])
    assert "modifiers.filepath" in result.pop("control: Object.modifiers")  # Mesh Cache
    assert result == {"Scene.tool_settings": []}


def _addon_without_table(tmp_path, series):
    """A copy of the add-on (its native core linked, not copied) that ships no
    classification for Blender ``series``: what a worker on a newer Blender than the
    add-on knows (e.g. 5.3) runs."""
    parent = tmp_path / "addon-copy"
    source = ADDON_PARENT / "farmhand"
    shutil.copytree(source, parent / "farmhand",
                    ignore=shutil.ignore_patterns("vendor", "__pycache__"))
    if (source / "vendor").exists():
        (parent / "farmhand" / "vendor").symlink_to(source / "vendor")
    table = parent / "farmhand" / "classified" / f"blender-{series[0]}.{series[1]}.json"
    table.unlink()
    return parent, sorted(p.stem[len("blender-"):] for p in table.parent.glob("*.json"))


@pytest.mark.parametrize("kind", BLENDERS)
def test_a_blender_without_a_classification_refuses_every_job_and_says_why(
        kind, audit_files, tmp_path):
    # A newer Blender than the add-on knows fails closed: no older table vouches for it.
    series = blender_cells.cell(kind).series
    parent, known = _addon_without_table(tmp_path, series)
    result = render_with_harness(kind, tmp_path, audit_files["old"] / "packed.blend",
                                 frames=[1], report=True, addon_parent=str(parent))
    assert result.get("error_type") == "NotClassified", result
    assert (result["code"], result["retryable"]) == ("unclassified_blender", True)
    name = f"{series[0]}.{series[1]}"
    assert result["error"] == (
        f"this worker's Blender {name} has no capability classification in its Farmhand "
        f"add-on (classified: {', '.join(known)}), so the audit cannot vouch for what its "
        "node, modifier and strip types read or write: update the Farmhand add-on, or "
        "share with a classified Blender (a maintainer makes the table with "
        "scripts/classify_capabilities.py --draft, see docs/security.md)")
    assert name not in known and len(known) == 4
    assert result["sent"]["error"] == "refused: " + result["error"]
    assert result["sent"]["code"] == "unclassified_blender"
    assert _no_frames(result)



@pytest.mark.parametrize("kind", BLENDERS)
def test_a_headless_worker_on_an_unclassified_blender_claims_nothing_and_exits_7(
        kind, tmp_path):
    # Every job would be refused (and cost its attempt): the worker does not start sharing.
    series = blender_cells.cell(kind).series
    parent, _known = _addon_without_table(tmp_path, series)
    env = blender_env(tmp_path)
    env["PYTHONPATH"] = str(parent)
    proc = subprocess.run(
        command(kind, None, ["--online", "--backend", "http://127.0.0.1:9",
                             "--work-dir", str(tmp_path / "work")],
                expr="import farmhand; farmhand.run_headless()"),
        env=env, capture_output=True, text=True, timeout=180)
    name = f"{series[0]}.{series[1]}"
    assert proc.returncode == 7, proc.stderr[-3000:]
    assert f"not sharing: this worker's Blender {name} has no capability classification" \
        in proc.stderr, proc.stderr[-3000:]
    assert "the engine could not start" not in proc.stderr
    assert not (tmp_path / "work").exists()  # no engine: no key, no work dir, no claim


START_SHARING = """
import bpy
import addon_utils
addon_utils.enable('farmhand', default_set=True, handle_error=None)
if hasattr(bpy.app, 'online_access'):
    bpy.context.preferences.system.use_online_access = True
from farmhand import sharing, ui
prefs = bpy.context.preferences.addons['farmhand'].preferences
prefs.backend_url = 'http://127.0.0.1:9'
print('START_ERROR', ui.start_from_prefs(prefs))
print('WORKER', sharing.worker())
"""


@pytest.mark.parametrize("kind", cell_params(names=("blender34", "bpy50")))
def test_share_my_gpu_on_an_unclassified_blender_says_why_and_starts_nothing(kind, tmp_path):
    series = blender_cells.cell(kind).series
    parent, _known = _addon_without_table(tmp_path, series)
    env = blender_env(tmp_path)
    env["PYTHONPATH"] = str(parent)
    proc = subprocess.run(command(kind, None, [], expr=START_SHARING), env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    name = f"{series[0]}.{series[1]}"
    assert f"START_ERROR this worker's Blender {name} has no capability classification" \
        in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "WORKER None" in proc.stdout
