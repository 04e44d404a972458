"""The capability audit: what a job file would make Blender read or write, found before
anything is evaluated, in every Blender (GUI and headless alike).

A job file comes from a stranger, and Blender reads and writes files through dozens of
features, more every release. So the audit is generated from RNA, not from a list of known
properties:

1. **Every file path.** Every datablock the job uses is walked with RNA introspection
   (``bl_rna.properties``): IDs, the structs nested in them (modifiers, constraints,
   particle settings, point caches, sequencer strips, fluid/ocean/bake settings...),
   collections of structs (node trees' nodes and their sockets' default values) and
   embedded IDs (material/world/light/scene node trees). Every string property whose
   subtype is ``FILE_PATH``, ``DIR_PATH`` or ``FILE_NAME`` is checked: an absolute path,
   one that climbs out of the job dir (``//../x``, also with Windows separators), or one
   relative to the worker's current directory refuses the job. A new Blender's new path
   property is caught by its subtype without a code change. Which struct types can reach a
   path property at all is worked out once per process from the RNA type graph
   (:func:`path_bearing_types`), so mesh vertices and the like are never visited.
2. **Features that read or write files during evaluation** (the classification in
   :mod:`capabilities`, kept per Blender version): Geometry Nodes import nodes and any node
   with a file-path socket or property (its path can be computed at run time), OSL script
   nodes, external IES textures, sequencer image/movie/sound strips, fluid, ocean and
   mesh-cache modifiers, Alembic/USD caches, OpenVDB volumes, external multires data,
   point caches on disk, Geometry Nodes bakes on disk, custom (OSL) cameras; and Python the
   render itself would run: Freestyle's Python Scripting mode (:func:`freestyle_scripts`).
3. **Missing external files** (issue 15): every image (UDIM tiles, sequences), sound,
   movie clip, font, linked library, cache file and volume that the scene uses and that is
   neither packed into the .blend nor present in the job dir is listed, with the fix.

Only used datablocks are audited (``users`` beyond a fake user): an orphan is never loaded
or evaluated. Raises :class:`failures.JobRefused` subclasses: :class:`AuditRefusal`
("refused: <feature> at <datablock>: <why>; ...", code ``refused_by_audit``) or
:class:`MissingFiles` (code ``missing_files``). Neither is retryable.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import bpy

from . import capabilities
from .failures import JobRefused

PATH_SUBTYPES = frozenset({"FILE_PATH", "DIR_PATH", "FILE_NAME"})
# UI, not scene data: never evaluated by a render.
SKIPPED_COLLECTIONS = frozenset({"window_managers", "screens", "workspaces"})
# (struct, property) paths that a render never reads or writes, or that Farmhand forces
# before rendering: RenderSettings.filepath (render.prepare_scene points it into the output
# dir); Image.filepath_raw (the same string as Image.filepath, checked there);
# ImagePackedFile.filepath (a packed tile's original name: its bytes are in the .blend);
# BlendData.filepath (the job file itself); LibraryWeakReference (where an appended asset came
# from: never opened). Everything else with a path subtype is checked.
IGNORED_PATHS = frozenset({("RenderSettings", "filepath"), ("Image", "filepath_raw"),
                           ("ImagePackedFile", "filepath"), ("BlendData", "filepath"),
                           ("LibraryWeakReference", "filepath"),
                           ("LibraryWeakReference", "id_name")})
# (struct, pointer) that the walk does not enter: Scene.tool_settings is editing state
# (brushes, paint and sculpt modes), never evaluated by a render, and no path property lies
# under it except in datablocks (brushes, images), which are audited on their own (checked in
# every cell by tests/addon/test_audit.py). Entering it crashes Blender: in the bpy 4.2
# module, reading ``tool_settings.uv_sculpt.tool_slots[0].brush`` of a file saved by Blender
# 3.4 segfaults (UV sculpt stopped being a paint mode in 4.x; the slot's brush pointer is
# stale), so every such job would take the worker down.
SKIPPED_POINTERS = frozenset({("Scene", "tool_settings")})
# ID types whose ``filepath`` names an input file a render loads, and their message names.
EXTERNAL_FILE_IDS = {"Image": "image", "Sound": "sound", "MovieClip": "movie clip",
                     "VectorFont": "font", "Library": "linked library",
                     "CacheFile": "cache file", "Volume": "volume"}
MAX_LISTED = 10  # files named in a message; the rest are counted

# The fix every audit refusal names (issue 15: a message a creator can act on).
AUDIT_FIX = ("a worker reads only the job's .blend and writes only its frames: remove or "
             "disable what is named, or pack what it reads (File > External Data > Pack "
             "Resources), save and submit again")


class AuditRefusal(JobRefused):
    """The job uses a feature that reads or writes files, or a path outside its job dir.
    ``problems``: [(feature, datablock, why)]. Not retryable: every worker refuses it."""

    code = "refused_by_audit"

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(f"{f} at {d}: {w}" for f, d, w in self.problems) +
                         " — " + AUDIT_FIX)


class MissingFiles(JobRefused):
    """External files the scene loads are neither packed nor in the job dir.
    ``files``: [(path as stored, datablock, note)]. Not retryable."""

    code = "missing_files"

    def __init__(self, files):
        self.files = list(files)
        super().__init__(missing_files_message(self.files))


def missing_files_message(files) -> str:
    """'3 external files are not packed: //wood.png (image 'Wood'), ... — File > External
    Data > Pack Resources, then submit again' for [(path, datablock, note)]."""
    shown = []
    for path, where, note in files[:MAX_LISTED]:
        shown.append(f"{path} ({where}{', ' + note if note else ''})")
    more = len(files) - MAX_LISTED
    listed = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    noun = "external file is" if len(files) == 1 else "external files are"
    return (f"{len(files)} {noun} not packed: {listed} — File > External Data > Pack "
            "Resources (and Pack Linked Libraries), then submit again")


@dataclass
class AuditReport:
    """What one audit looked at (for the job's log line and the bench)."""

    ids: int = 0
    structs: int = 0
    paths: int = 0
    external_files: int = 0
    seconds: float = 0.0
    problems: list = field(default_factory=list)
    missing: list = field(default_factory=list)

    def summary(self) -> str:
        return (f"audit: {self.ids} datablocks, {self.structs} structs, {self.paths} paths, "
                f"{self.external_files} external files checked in "
                f"{self.seconds * 1000:.1f} ms")


# --------------------------------------------------------------------------------------
# The RNA type graph: which struct types can reach a path property.

_PATH_BEARING: frozenset | None = None


def _rna_classes():
    """Every RNA struct class Blender registers (bpy.types), by identifier."""
    out = {}
    for _ in _collect_rna_classes(out):
        pass
    return out


def _collect_rna_classes(out: dict):
    """:func:`_rna_classes` into ``out``, yielding after each class (see :func:`warm_up`)."""
    for name in dir(bpy.types):
        cls = getattr(bpy.types, name, None)
        rna = getattr(cls, "bl_rna", None)
        if rna is not None:
            out[rna.identifier] = rna
        yield


def path_bearing_types() -> frozenset:
    """Identifiers of the RNA struct types from which a path property can be reached
    through pointers and collections (subclasses included: a ``Modifier`` collection may
    hold a ``MeshCacheModifier``). Worked out once per process (0.4-2 s of main-thread
    time, depending on the machine: the GUI worker does it in slices first, warm_up)."""
    for _ in _path_bearing_steps():
        pass
    return _PATH_BEARING


def _path_bearing_steps():
    """path_bearing_types' work, yielding after each small piece (one RNA class)."""
    global _PATH_BEARING
    if _PATH_BEARING is not None:
        return
    structs = {}
    yield from _collect_rna_classes(structs)
    family = {ident: {ident} for ident in structs}  # a type and all its subclasses
    for ident, rna in structs.items():
        base = rna.base
        while base is not None:
            family.setdefault(base.identifier, {base.identifier}).add(ident)
            base = base.base
    yield
    edges = {}
    bearing = set()
    for ident, rna in structs.items():
        targets = set()
        for prop in rna.properties:
            if prop.type == "STRING" and prop.subtype in PATH_SUBTYPES:
                if (ident, prop.identifier) not in IGNORED_PATHS:
                    bearing.add(ident)
            elif prop.type in {"POINTER", "COLLECTION"} and prop.fixed_type is not None:
                targets.add(prop.fixed_type.identifier)
        edges[ident] = targets
        yield
    # Node classes: sockets are created per node instance, so a node type's RNA has no
    # pointer to NodeSocketStringFilePath; every node may hold one.
    bearing |= _node_socket_types(structs)
    yield
    changed = True
    while changed:
        changed = False
        for ident, targets in edges.items():
            if ident in bearing:
                continue
            if any(family.get(t, {t}) & bearing for t in targets):
                bearing.add(ident)
                changed = True
        yield
    # A pointer or collection typed T leads to a path when T or any subclass of T does.
    if _PATH_BEARING is None:  # (a blocking call may have finished it meanwhile)
        _PATH_BEARING = frozenset(t for t, fam in family.items() if fam & bearing)


_warming = {"steps": None}


def warm_up(budget_s: float = 0.02) -> bool:
    """Do up to ``budget_s`` seconds of the audit's once-per-process preparation (the
    path-bearing RNA types); True once all of it is done. The GUI worker calls it once per
    timer turn before its first job so that no turn holds the main thread long."""
    if _PATH_BEARING is not None:
        return True
    if _warming["steps"] is None:
        _warming["steps"] = _path_bearing_steps()
    deadline = time.perf_counter() + budget_s
    for _ in _warming["steps"]:
        if time.perf_counter() >= deadline:
            return _PATH_BEARING is not None
    _warming["steps"] = None
    return _PATH_BEARING is not None


def _node_socket_types(structs) -> set:
    return {i for i in structs if i in ("NodeSocket", "Node", "NodeInputs", "NodeOutputs")}


# --------------------------------------------------------------------------------------
# The walk.


def audited_ids():
    """Every ID in ``bpy.data``, UI excluded, each once (Blender >= 4.5 reaches some IDs
    through more than one ``bpy.data`` collection). Unused IDs too: an ID with only a fake
    user is still evaluated when something points at it without counting a user (a Boolean
    modifier's object, a Shrinkwrap constraint's target, ``scene.camera``: a review of
    2026-12-04 read and wrote files outside the job dir through such an object in 3.4 and
    5.0), so "used" is no reason to skip one."""
    out = []
    seen = set()
    for name in dir(bpy.data):
        if name in SKIPPED_COLLECTIONS:
            continue
        coll = getattr(bpy.data, name, None)
        if not isinstance(coll, bpy.types.bpy_prop_collection):
            continue
        for item in coll:
            if isinstance(item, bpy.types.ID) and not isinstance(item, _UI_TYPES) \
                    and item.as_pointer() not in seen:
                seen.add(item.as_pointer())
                out.append(item)
    return out


# UI data (by type as well as by collection: newer Blenders reach screens through other
# collections too): a render never evaluates it, and its paths (studio lights inside
# Blender's own install, file browser folders) are the saving artist's UI state.
_UI_TYPES = (bpy.types.Screen, bpy.types.WindowManager, bpy.types.WorkSpace)


def _id_label(id_) -> str:
    kind = type(id_).bl_rna.name.lower()
    lib = f" (linked from '{id_.library.name}')" if getattr(id_, "library", None) else ""
    return f"{kind} '{id_.name}'{lib}"


def _is_packed(id_) -> bool:
    if getattr(id_, "packed_file", None) is not None:
        return True
    return bool(getattr(id_, "packed_files", None))


def _inside(path: str, root: str) -> bool:
    real = os.path.realpath(path)
    root = os.path.realpath(root)
    return real == root or real.startswith(root + os.sep)


def path_problem(raw: str, subtype: str, job_dir: str, library=None,
                 allow_absolute: bool = False) -> str | None:
    """Why the path ``raw`` (a path property's value) is not allowed, or None.

    ``subtype``: the property's RNA subtype. ``//`` paths are resolved against the .blend
    (or ``library``'s file); backslashes count as separators on every platform (a Windows
    worker would follow them). ``allow_absolute``: accept an absolute path that lies in
    ``job_dir`` (appended data has its relative paths made absolute by Blender).
    """
    if not raw:
        return None
    text = raw.replace("\\", "/")
    if subtype == "FILE_NAME":
        if "/" in text or text in (".", ".."):
            return f"the file name {raw!r} names a path"
        return None
    if text.startswith("//"):
        if not text.strip("/"):
            return None  # "//": the .blend's own directory, naming no file (a default)
        resolved = bpy.path.abspath(text, library=library) if library else \
            bpy.path.abspath(text)
        if not _inside(resolved, job_dir):
            return f"the path {raw!r} leaves the job directory"
        return None
    if os.path.isabs(text) or (len(text) > 1 and text[1] == ":") or text.startswith("//"):
        if allow_absolute and _inside(text, job_dir):
            return None
        return f"the absolute path {raw!r} is outside the job directory"
    return f"the path {raw!r} is relative to the worker's current directory"


class _Walker:
    def __init__(self, job_dir: str, allow_absolute: bool):
        self.job_dir = job_dir
        self.allow_absolute = allow_absolute
        self.bearing = path_bearing_types()
        self.classes = capabilities.for_running_blender()
        self.report = AuditReport()
        self.seen = set()
        self.blender_dirs = blender_dirs()

    # Feature checks on one struct (node, modifier, strip, cache...).
    def feature(self, struct, where: str) -> None:
        problem = capabilities.refusal(struct, self.classes)
        if problem is not None:
            feature, why = problem
            self.report.problems.append((feature, where, why))

    def plan(self, rna):
        """The properties of struct type ``rna`` worth visiting, computed once per type:
        [(identifier, "path", subtype, label) | (identifier, "pointer"|"collection")]."""
        ident = rna.identifier
        steps = _PLANS.get(ident)
        if steps is not None:
            return steps
        steps = []
        for prop in rna.properties:
            kind = prop.type
            if kind == "STRING":
                if prop.subtype in PATH_SUBTYPES and (ident, prop.identifier) not in \
                        IGNORED_PATHS:
                    steps.append((prop.identifier, "path", prop.subtype,
                                  f"{rna.name} {prop.name.lower()}"))
            elif kind in {"POINTER", "COLLECTION"}:
                target = prop.fixed_type
                if target is not None and target.identifier in self.bearing and \
                        prop.identifier != "rna_type":
                    steps.append((prop.identifier, kind.lower()))
        _PLANS[ident] = steps
        return steps

    def walk(self, struct, where: str, owner_id, depth: int = 0) -> None:
        key = struct.as_pointer()
        if key in self.seen or depth > 24:
            return
        self.seen.add(key)
        self.report.structs += 1
        self.feature(struct, where)
        library = getattr(owner_id, "library", None)
        for step in self.plan(struct.bl_rna):
            ident = step[0]
            if step[1] == "path":
                self.report.paths += 1
                if self._external_file_property(struct, ident):
                    continue  # checked as an external file (packed or missing)
                why = path_problem(getattr(struct, ident, ""), step[2], self.job_dir, library,
                                   self.allow_absolute)
                if why is not None:
                    self.report.problems.append((step[3], where, why))
            elif step[1] == "pointer":
                if (struct.bl_rna.identifier, ident) in SKIPPED_POINTERS:
                    continue
                value = getattr(struct, ident, None)
                if value is None or not hasattr(value, "bl_rna"):
                    continue
                if isinstance(value, bpy.types.ID) and not getattr(value, "is_embedded_data",
                                                                    False):
                    continue  # walked on its own
                self.walk(value, _nested(where, value, ident), owner_id, depth + 1)
            else:
                items = getattr(struct, ident, None)
                if items is None:
                    continue
                for item in items:
                    if isinstance(item, bpy.types.ID) or not hasattr(item, "bl_rna"):
                        continue
                    self.walk(item, _nested(where, item, ident), owner_id, depth + 1)

    @staticmethod
    def _external_file_property(struct, ident: str) -> bool:
        return ident == "filepath" and isinstance(struct, bpy.types.ID) and \
            type(struct).bl_rna.identifier in EXTERNAL_FILE_IDS


_PLANS: dict = {}


def _nested(where: str, struct, ident: str) -> str:
    name = getattr(struct, "name", "")
    kind = struct.bl_rna.name.lower()
    if isinstance(name, str) and name:
        return f"{where} / {kind} '{name}'"
    return f"{where} / {ident}"


# --------------------------------------------------------------------------------------
# External files.


def external_files(id_) -> list[str]:
    """The absolute paths ``id_`` (an image, sound, font...) would read, for its existence
    check: UDIM tiles one per tile that is not packed (``<UDIM>``, ``<UVTILE>``), a sequence
    or movie its first file (packed or not: Blender reads the files), others the file
    itself. [] for generated/viewer images, the built-in font and packed data."""
    kind = type(id_).bl_rna.identifier
    source = getattr(id_, "source", "") if kind == "Image" else ""
    # Packed data stands in for the file only where Blender reads it instead: a sequence or a
    # movie is always read from its files (Blender packs neither; a file claiming both is
    # forged), a UDIM image reads every tile that is not packed from its own file (seen
    # 2026-12-03 in 3.4 and bpy 5.0: a packed image switched to SEQUENCE or MOVIE, and a UDIM
    # image with one tile packed, read files outside the job dir through the audit). A
    # volume is read from its file path even when packed (BKE_volume_load has no packed
    # path; 3.4 and 5.0 opened a packed volume's file outside the job dir, review 2026-12-04).
    if _is_packed(id_) and source not in {"SEQUENCE", "MOVIE", "TILED"} and kind != "Volume":
        return []
    raw = id_.filepath
    if not raw:
        return []
    if kind == "Image":
        if source in {"GENERATED", "VIEWER"}:
            return []
        if source == "TILED":
            packed = {getattr(p, "tile_number", None) for p in id_.packed_files}
            paths = []
            for tile in id_.tiles:
                n = tile.number
                if n in packed:
                    continue  # this tile's bytes are in the .blend
                u, v = (n - 1001) % 10 + 1, (n - 1001) // 10 + 1
                paths.append(raw.replace("<UDIM>", str(n)).replace("<UVTILE>",
                                                                   f"u{u}_v{v}"))
            if not paths:
                return [] if packed else [bpy.path.abspath(raw)]
            raw_paths = paths
        else:
            raw_paths = [raw]
    elif kind == "VectorFont" and raw == "<builtin>":
        return []
    else:
        raw_paths = [raw]
    lib = getattr(id_, "library", None)
    return [bpy.path.abspath(p, library=lib) if lib else bpy.path.abspath(p)
            for p in raw_paths]


def blender_dirs() -> list[str]:
    """Blender's own installation dirs (its bundled asset libraries, e.g. the brush
    essentials Blender >= 4.3 links into every file it opens): read-only system files, not
    the job's external data."""
    out = []
    for kind in ("LOCAL", "SYSTEM"):
        try:
            path = bpy.utils.resource_path(kind)
        except (TypeError, ValueError):
            continue
        if path and os.path.isdir(path):
            out.append(os.path.realpath(path))
    return out


def _bundled(path: str, dirs) -> bool:
    real = os.path.realpath(path)
    return any(real.startswith(d + os.sep) for d in dirs)


def _check_external(id_, walker: _Walker, missing: list) -> None:
    kind = type(id_).bl_rna.identifier
    label = EXTERNAL_FILE_IDS.get(kind)
    if label is None:
        return
    paths = external_files(id_)
    if paths and all(_bundled(p, walker.blender_dirs) for p in paths):
        return  # Blender's own bundled assets
    where = f"{label} '{id_.name}'"
    for path in paths:
        walker.report.external_files += 1
        why = path_problem(id_.filepath, "FILE_PATH", walker.job_dir,
                           getattr(id_, "library", None), walker.allow_absolute)
        if why is not None:
            note = "outside the job directory"
            if "relative to the worker" in why:
                note = "not relative to the .blend"
            missing.append((id_.filepath, where, note))
            break
        if not os.path.exists(path):
            # as the creator wrote it ("//wood.png"), also where Blender made an appended
            # ID's path absolute (the GUI strategy, the headless audit before opening)
            missing.append((_shown(path, walker.job_dir), where, ""))


def _shown(path: str, job_dir: str) -> str:
    root = os.path.realpath(job_dir)
    real = os.path.realpath(path)
    return "//" + os.path.relpath(real, root) if real.startswith(root + os.sep) else path


# --------------------------------------------------------------------------------------
# Python the render itself would run.

def freestyle_scripts(scene) -> list:
    """[(feature, datablock, why)] for each view layer of ``scene`` whose Freestyle is in
    Python Scripting mode with a style module: Freestyle runs the module's text (a Text
    datablock of the file) as Python at render time, auto-run off or not (seen 2026-12-03:
    Debian's 3.4 with --disable-autoexec and bpy 5.0 both ran a module that wrote a file).
    Parameter Editor mode runs only Blender's own modules and is fine. The walker never
    reaches these (no path property lies under FreestyleSettings)."""
    problems = []
    for layer in getattr(scene, "view_layers", ()):
        settings = getattr(layer, "freestyle_settings", None)
        if settings is None or settings.mode != "SCRIPT":
            continue
        texts = [m.script.name for m in settings.modules if m.script is not None]
        if texts:
            problems.append((
                "Freestyle Python style module",
                f"view layer '{layer.name}' of scene '{scene.name}'",
                f"Freestyle's Python Scripting mode runs the file's text {texts[0]!r} as Python "
                "at render time, and no worker runs Python from a job: set View Layer "
                "Properties > Freestyle > Control Mode to Parameter Editor"))
    return problems


def view_suffixes(scene) -> list:
    """[(feature, where, why)] for each render view of ``scene`` whose file suffix names a
    path: Blender appends a view's suffix to the file name of every per-view file it writes
    (Stereoscopy with Individual views: ``frame_0001`` + suffix + ``.png``) or reads (a
    multi-view image with Individual views), following any ``/`` and ``..`` in it. A plain
    string (RNA subtype NONE, so the walker's path checks never see it); seen 2026-12-03:
    the suffix "/../../../x" wrote a PNG outside the job dir in 3.4 and bpy 5.0."""
    problems = []
    for view in getattr(scene.render, "views", ()):
        suffix = view.file_suffix.replace("\\", "/")
        if "/" in suffix or ".." in suffix or ":" in suffix:
            problems.append((
                "render view file suffix", f"scene '{scene.name}' / render view '{view.name}'",
                f"the suffix {view.file_suffix!r} names a path, and Blender adds it to the "
                "names of the files it writes and reads for that view: set Output Properties "
                "> Stereoscopy > the view's file suffix to plain letters (e.g. _L)"))
    return problems


# --------------------------------------------------------------------------------------
# Entry point.


def audit(job_dir: str, ids=None, allow_absolute: bool = False) -> AuditReport:
    """Audit the job's data before any depsgraph evaluation; returns the report.

    ``job_dir``: the job's directory (the only place paths may point to). ``ids``: the IDs
    to audit (GUI strategy: what the job appended); None = every ID in ``bpy.data`` but the
    UI's (:func:`audited_ids`: used or not).
    ``allow_absolute``: see :func:`path_problem`. Raises AuditRefusal (any file-reading
    feature or escaping path; reported first: it is about safety) or MissingFiles.
    """
    started = time.perf_counter()
    walker = _Walker(job_dir, allow_absolute)
    if ids is None:
        ids = audited_ids()
    else:  # each once (5.x lists some IDs in two bpy.data collections), UI excluded
        unique = {i.as_pointer(): i for i in ids if not isinstance(i, _UI_TYPES)}
        ids = list(unique.values())
    missing = []
    for id_ in ids:
        walker.report.ids += 1
        walker.walk(id_, _id_label(id_), id_)
        _check_external(id_, walker, missing)
        if isinstance(id_, bpy.types.Scene):
            walker.report.problems.extend(freestyle_scripts(id_))
            walker.report.problems.extend(view_suffixes(id_))
    report = walker.report
    report.missing = missing
    report.seconds = time.perf_counter() - started
    if report.problems:
        raise AuditRefusal(report.problems)
    if missing:
        raise MissingFiles(missing)
    return report
