"""Turn one job (a verified .blend on disk) into rendered frames: two strategies.

- :func:`render_opened` (headless, ``bpy.app.background``): open the job file with
  ``bpy.ops.wm.open_mainfile(filepath=..., load_ui=False, use_scripts=False)``, check it,
  neutralise it, render its active scene.
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

from .log import log
from .render import RenderResult, render_frames
from .safety import JobRejected, all_ids, check_external_paths, neutralise


def render_opened(job, device_type: str, on_frame=None, should_stop=None) -> RenderResult:
    """Headless strategy. Raises JobRejected (unsafe or unreadable file), RenderFailed."""
    try:
        bpy.ops.wm.open_mainfile(filepath=job.blend_path, load_ui=False, use_scripts=False)
    except RuntimeError as exc:
        raise JobRejected(f"Blender {bpy.app.version_string} could not open the job file "
                          f"({os.path.getsize(job.blend_path)} bytes): {exc}") from exc
    check_external_paths(job.work_dir)
    report = neutralise()
    log.info("job %s: opened %s (%d bytes); %s", job.id, os.path.basename(job.blend_path),
             os.path.getsize(job.blend_path), report.summary())
    scene = bpy.context.scene
    return render_frames(scene, job.frames, job.output_dir, job.output_format or "PNG",
                         device_type, on_frame=on_frame, should_stop=should_stop)


def _id_key(id_) -> tuple[str, int]:
    return (type(id_).__name__, id_.as_pointer())


class AppendedJob:
    """A job's scenes appended into the artist's open file, in short main-thread steps (the
    GUI worker runs one per timer turn so the window stays live):

    1. :meth:`append` -- ``bpy.data.libraries.load`` (the one long step: <= 0.5 s for the
       demo scene);
    2. :meth:`audit` -- external paths checked, Python drivers/File Output nodes removed,
       the scene to render chosen (``self.scene``);
    3. :meth:`discard` -- every ID the job added is removed, whatever happened before.

    Raises JobRejected (unsafe or unreadable file) or RuntimeError (no scene).
    """

    def __init__(self, job):
        self.job = job
        self.before = {_id_key(i) for i in all_ids()}
        self.added: list = []
        self.scenes: list = []
        self.scene = None

    def append(self) -> None:
        """Step 1: append every scene of the job file (with what they use)."""
        job = self.job
        try:
            with bpy.data.libraries.load(job.blend_path, link=False) as (data_from, data_to):
                data_to.scenes = list(data_from.scenes)
        except (OSError, RuntimeError) as exc:
            raise JobRejected(f"Blender {bpy.app.version_string} could not read the job file "
                              f"({os.path.getsize(job.blend_path)} bytes): {exc}") from exc
        self.scenes = [s for s in data_to.scenes if s is not None]
        self.added = [i for i in all_ids() if _id_key(i) not in self.before]

    def audit(self) -> None:
        """Step 2: check and neutralise what was appended; sets ``self.scene``."""
        job = self.job
        check_external_paths(job.work_dir, ids=self.added, allow_absolute=True)
        report = neutralise(self.added)
        if not self.scenes:
            raise RuntimeError(f"job file {job.blend_path} contains no scene to render")
        log.info("job %s: appended %d scene(s), %d datablock(s) from %s; %s", job.id,
                 len(self.scenes), len(self.added), os.path.basename(job.blend_path),
                 report.summary())
        if len(self.scenes) > 1:
            log.info("job %s: several scenes; rendering the first, '%s'", job.id,
                     self.scenes[0].name)
        self.scene = self.scenes[0]

    def discard(self) -> int:
        """Step 3: remove every ID not there before :meth:`append`; returns how many."""
        self.scene = None
        self.scenes = []
        return remove_added(self.before)


def render_appended(job, device_type: str, on_frame=None, should_stop=None) -> RenderResult:
    """GUI strategy, blocking (see module doc; the GUI worker runs the same steps without
    blocking). Everything the job added is removed afterwards, whether the render succeeded
    or not. Raises JobRejected, RenderFailed."""
    appended = AppendedJob(job)
    try:
        appended.append()
        appended.audit()
        return render_frames(appended.scene, job.frames, job.output_dir,
                             job.output_format or "PNG", device_type, on_frame=on_frame,
                             should_stop=should_stop)
    finally:
        appended.discard()


def remove_added(before: set) -> int:
    """Remove every ID not in ``before`` (keys from _id_key); returns how many."""
    removed = 0
    for _ in range(4):  # removing users can leave new zero-user IDs behind; repeat
        extra = [i for i in all_ids() if _id_key(i) not in before]
        if not extra:
            break
        bpy.data.batch_remove(extra)
        removed += len(extra)
    return removed
