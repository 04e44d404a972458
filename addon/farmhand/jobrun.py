"""Turn one job (a verified .blend on disk) into rendered frames: two strategies.

- :func:`render_opened` (headless, ``bpy.app.background``): open the job file with
  ``bpy.ops.wm.open_mainfile(filepath=..., load_ui=False, use_scripts=False)``, its scenes
  left unevaluated until it is checked and neutralised, then render its active scene.
- :func:`render_appended` (GUI): the artist's open file is never discarded or changed.
  The job's scenes are appended with ``bpy.data.libraries.load``; the added IDs are checked
  and neutralised before any depsgraph evaluation; the first scene is rendered; then every
  ID the job added (scenes, objects, meshes, materials, images, libraries...) is removed.

``job`` is anything with ``.id .blend_path .work_dir .output_dir .frames .output_format``
(a ``farmhand_core.Job``).
"""

from __future__ import annotations

import os

import bpy

from . import audit
from .engine_id import engine_of
from .failures import JobFailure, JobRefused
from .log import log
from .render import RenderResult, render_frames
from .safety import all_ids, neutralise

# Engines Blender itself ships (a scene naming another needs an add-on's engine).
BUILTIN_ENGINES = frozenset({"CYCLES", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT",
                             "BLENDER_WORKBENCH"})


def check_renderable(scene) -> None:
    """Refuse what can never render here before the first frame: no active camera
    (``no_camera``, not retryable), a render engine this Blender lacks
    (``unsupported_engine``, retryable: another build may have it) or one no Blender ships
    (``unknown_engine``). The engine is the id the scene stores (:mod:`engine_id`: RNA shows
    EEVEE for an id it does not know, and Blender would render EEVEE). Raises JobFailure."""
    if scene.camera is None:
        raise JobFailure(f"scene '{scene.name}' has no active camera: set one (Scene "
                         "Properties > Scene > Camera), save and submit again",
                         code="no_camera")
    # an empty id (OpenShot's zoom_clapboard, saved by 2.7x) is Blender's default engine:
    # Blender renders it with its default engine (EEVEE): no scene error
    engine, available = engine_of(scene)
    if available:
        return
    if engine in BUILTIN_ENGINES:
        raise JobFailure(f"scene '{scene.name}' renders with {engine}, which Blender "
                         f"{bpy.app.version_string} on this worker does not have",
                         code="unsupported_engine")
    raise JobFailure(f"scene '{scene.name}' renders with {engine!r}, an add-on's engine "
                     "that Farmhand workers do not run: switch to Cycles, EEVEE or "
                     "Workbench, save and submit again", code="unknown_engine")


def _audit(job, ids=None, allow_absolute=False) -> str:
    """Neutralise, then audit (audit.audit); returns the log summary of both."""
    report = neutralise(ids)
    checked = audit.audit(job.work_dir, ids=ids, allow_absolute=allow_absolute)
    return f"{report.summary()}; {checked.summary()}"


# The job's scene is not evaluated while its file opens. open_mainfile evaluates the
# windows' scenes right after load_post (wm_file_read_post: "After load post, so ... the
# driver namespace can be filled before evaluating the depsgraph"), and with them what reads
# files (a Mesh Cache modifier, a Displace texture's image, an Alembic cache): 3.4 and 5.0
# opened files outside the job dir before the audit that then refused them (review of
# 2026-12-04). This load_post handler points every window at an empty scene of its own, so
# that evaluation reads nothing; render_opened audits, then gives the windows their scene
# back.
EMPTY_SCENE = "~farmhand: nothing evaluated before the audit"
_opening: dict = {"active": False, "scene": None, "empty": None, "windows": 0}


@bpy.app.handlers.persistent
def _evaluate_nothing_on_load(*_args) -> None:
    if not _opening["active"]:
        return
    wm = bpy.data.window_managers[0] if bpy.data.window_managers else None
    windows = list(wm.windows) if wm is not None else []
    _opening["windows"] = len(windows)
    if not windows:
        return
    _opening["scene"] = windows[0].scene.name if windows[0].scene else None
    empty = bpy.data.scenes.new(EMPTY_SCENE)  # ".001" if the job took the name
    _opening["empty"] = empty.name
    for window in windows:
        window.scene = empty


def _open_unevaluated(path: str) -> str | None:
    """``open_mainfile(path)`` with the job's scenes left unevaluated (see above); returns
    the name of the scene the file opens with (None: Blender's context decides)."""
    _opening.update(active=True, scene=None, empty=None, windows=0)
    bpy.app.handlers.load_post.append(_evaluate_nothing_on_load)
    try:
        bpy.ops.wm.open_mainfile(filepath=path, load_ui=False, use_scripts=False)
    finally:
        _opening["active"] = False
        if _evaluate_nothing_on_load in bpy.app.handlers.load_post:
            bpy.app.handlers.load_post.remove(_evaluate_nothing_on_load)
    return _opening["scene"]


def _give_windows_their_scene(name: str | None):
    """Undo :func:`_evaluate_nothing_on_load` once the audit passed; returns the scene to
    render."""
    scene = bpy.data.scenes.get(name) if name else None
    empty = bpy.data.scenes.get(_opening["empty"]) if _opening["empty"] else None
    if scene is not None and bpy.data.window_managers:
        for window in bpy.data.window_managers[0].windows:
            window.scene = scene
    if empty is not None and empty != scene:
        bpy.data.scenes.remove(empty)
    _opening["empty"] = None
    return scene if scene is not None else bpy.context.scene


def render_opened(job, device_type: str, on_frame=None, should_stop=None) -> RenderResult:
    """Headless strategy: open with nothing evaluated (:func:`_open_unevaluated`),
    neutralise and audit, then evaluate and render the file's scene. Raises JobRefused
    (unreadable file, audit.AuditRefusal, audit.MissingFiles), JobFailure
    (check_renderable), RenderFailed."""
    try:
        opened_scene = _open_unevaluated(job.blend_path)
    except RuntimeError as exc:
        raise JobRefused(f"Blender {bpy.app.version_string} could not open the job file "
                         f"({os.path.getsize(job.blend_path)} bytes): {exc}",
                         code="corrupt") from exc
    summary = _audit(job)
    log.info("job %s: opened %s (%d bytes); %s", job.id, os.path.basename(job.blend_path),
             os.path.getsize(job.blend_path), summary)
    scene = _give_windows_their_scene(opened_scene)
    check_renderable(scene)
    return render_frames(scene, job.frames, job.output_dir, job.output_format or "PNG",
                         device_type, on_frame=on_frame, should_stop=should_stop)


def _id_key(id_) -> tuple[str, int]:
    return (type(id_).__name__, id_.as_pointer())


class AppendedJob:
    """A job's scenes appended into the artist's open file, in short main-thread steps (the
    GUI worker runs one per timer turn so the window stays live):

    1. :meth:`append` -- ``bpy.data.libraries.load`` (the one long step: <= 0.5 s for the
       demo scene);
    2. :meth:`audit` -- Python drivers/File Output nodes removed, the capability audit
       (:mod:`audit`) and :func:`check_renderable` passed, the scene to render chosen
       (``self.scene``): the file's current scene (``job.scene``, read by the engine from
       the file's FileGlobal.curscene -- the scene a headless worker renders, having opened
       the file), else the first in file order;
    3. :meth:`discard` -- every ID the job added is removed, whatever happened before.

    Raises JobRefused (unreadable file, no scene, audit.AuditRefusal, audit.MissingFiles) or
    JobFailure (check_renderable).
    """

    def __init__(self, job):
        self.job = job
        self.before = {_id_key(i) for i in all_ids()}
        self.added: list = []
        self.scenes: list = []
        self.scene_names: frozenset[str] = frozenset()  # for render handlers (no RNA access)
        self.current = None  # the appended copy of the file's current scene (job.scene)
        self.scene = None

    def append(self) -> None:
        """Step 1: append every scene of the job file (with what they use)."""
        job = self.job
        try:
            with bpy.data.libraries.load(job.blend_path, link=False) as (data_from, data_to):
                names = list(data_from.scenes)
                data_to.scenes = list(names)
        except (OSError, RuntimeError) as exc:
            raise JobRefused(f"Blender {bpy.app.version_string} could not read the job file "
                             f"({os.path.getsize(job.blend_path)} bytes): {exc}",
                             code="corrupt") from exc
        # in file order, each appended under its own or a free name ("Scene" -> "Scene.001")
        appended = [(n, s) for n, s in zip(names, data_to.scenes) if s is not None]
        self.scenes = [s for _n, s in appended]
        self.scene_names = frozenset(s.name for s in self.scenes)
        wanted = getattr(job, "scene", "")  # the file's current scene, as the engine read it
        self.current = next((s for n, s in appended if wanted and n == wanted), None)
        self.added = [i for i in all_ids() if _id_key(i) not in self.before]

    def audit(self) -> None:
        """Step 2: check and neutralise what was appended; sets ``self.scene``."""
        job = self.job
        if not self.scenes:
            raise JobRefused("the job file contains no scene to render", code="corrupt")
        summary = _audit(job, ids=self.added, allow_absolute=True)
        log.info("job %s: appended %d scene(s), %d datablock(s) from %s; %s", job.id,
                 len(self.scenes), len(self.added), os.path.basename(job.blend_path), summary)
        scene = self.current or self.scenes[0]
        check_renderable(scene)
        if len(self.scenes) > 1:
            which = (f"the file's current scene '{job.scene}'" if self.current else
                     "the first scene (the file names no current one)")
            log.info("job %s: %d scenes; rendering %s, appended as '%s'", job.id,
                     len(self.scenes), which, scene.name)
        self.scene = scene

    def discard(self) -> int:
        """Step 3: remove every ID not there before :meth:`append`; returns how many."""
        self.scene = self.current = None
        self.scenes = []
        self.scene_names = frozenset()
        return remove_added(self.before)


def render_appended(job, device_type: str, on_frame=None, should_stop=None) -> RenderResult:
    """GUI strategy, blocking (see module doc; the GUI worker runs the same steps without
    blocking). Everything the job added is removed afterwards, whether the render succeeded
    or not. Raises what :class:`AppendedJob` and render_frames raise."""
    appended = AppendedJob(job)
    try:
        appended.append()
        appended.audit()
        return render_frames(appended.scene, job.frames, job.output_dir,
                             job.output_format or "PNG", device_type, on_frame=on_frame,
                             should_stop=should_stop)
    finally:
        appended.discard()


def _added_orphans(before: set) -> list:
    """(collection, ID) of every ID not in ``before`` that nothing uses any more (its users
    beyond a fake user: 0)."""
    out = []
    for name in sorted(dir(bpy.data), key=lambda n: (_REMOVE_FIRST.get(n, 9), n)):
        coll = getattr(bpy.data, name, None)
        if name in ("window_managers", "screens", "workspaces") or not (
                isinstance(coll, bpy.types.bpy_prop_collection) and hasattr(coll, "remove")):
            continue
        for id_ in coll:
            if not isinstance(id_, bpy.types.ID) or _id_key(id_) in before:
                continue
            if isinstance(id_, bpy.types.Library):
                # the file appended from: its one user is the library itself; unused once no
                # ID is linked from it any more (all of the job's were made local)
                if not any(i.library == id_ for i in all_ids()):
                    out.append((coll, id_))
            elif id_.users - int(id_.use_fake_user) <= 0:
                out.append((coll, id_))
    return out


def _not_pointed_at(orphans: list) -> list:
    """``orphans`` but those another ID still points at through a pointer Blender does not
    count as a user (a Boolean modifier's object, a constraint's target, a scene's camera):
    removed without unlinking, they would leave that pointer dangling (bpy 5.0 crashed in
    ``batch_remove`` right after, on a file whose fake-user object a Boolean modifier used:
    review of 2026-12-04). Blender's ``user_map`` lists every pointer, counted or not; an
    ID skipped here goes in a later round, once what points at it is gone, or through
    ``batch_remove`` (which unlinks)."""
    ids = [id_ for _coll, id_ in orphans if not isinstance(id_, bpy.types.Library)]
    if not ids:
        return orphans
    try:
        users = bpy.data.user_map(subset=ids)
    except (TypeError, RuntimeError, ReferenceError):
        return [(c, i) for c, i in orphans if isinstance(i, bpy.types.Library)]
    pointed = {_id_key(id_) for id_, by in users.items()
               if any(u.as_pointer() != id_.as_pointer() for u in by)}
    return [(c, i) for c, i in orphans if _id_key(i) not in pointed]


# users before what they use: a scene's camera and an object's parent are pointers without a
# user count, so what points is freed first and nothing is left pointing at freed memory
_REMOVE_FIRST = {"scenes": 0, "collections": 1, "objects": 2, "libraries": 99}


def remove_added(before: set) -> int:
    """Remove every ID not in ``before`` (keys from _id_key); returns how many.

    Unused ones first, one by one without unlinking (``remove(id, do_unlink=False)``, rounds
    until none is left: removing an ID frees its users of others): an unlinking removal
    (``batch_remove``, ``remove(id)``) makes Blender redraw every region of every window
    (``NC_WINDOW``), 0.3 s of a software-OpenGL window and the artist's 3D view re-sampled
    (issue 16); the job's scene itself is gone already (farm_render.delete_scene). What is
    still used after that (a cycle, a user outside the job) goes through ``batch_remove``."""
    removed = 0
    for _ in range(16):
        orphans = _not_pointed_at(_added_orphans(before))
        if not orphans:
            break
        progress = removed
        for coll, id_ in orphans:
            try:
                if isinstance(id_, bpy.types.Library):
                    id_.user_clear()
                coll.remove(id_, do_unlink=False)
                removed += 1
            except (RuntimeError, TypeError, ReferenceError):
                continue  # used after all, or gone with another: batch_remove below
        if removed == progress:
            break
    for _ in range(4):  # removing users can leave new zero-user IDs behind; repeat
        extra = [i for i in all_ids() if _id_key(i) not in before]
        if not extra:
            break
        log.info("%d added datablock(s) still in use after the unused ones were removed "
                 "(%s): unlinked and removed", len(extra),
                 ", ".join(f"{type(i).__name__} '{i.name}' ({i.users} users)"
                           for i in extra[:5]))
        bpy.data.batch_remove(extra)
        removed += len(extra)
    return removed
