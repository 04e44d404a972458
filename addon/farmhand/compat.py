"""Every Blender API difference the add-on meets between Blender 3.4 and 5.2, in one place.

Farmhand runs in Debian's Blender 3.4, the 4.2 and 4.5 LTS, 5.0 and 5.1+ (5.2 LTS, Python
3.13). Code elsewhere in the add-on (and the tests' scene builders) asks this module instead
of testing ``bpy.app.version`` itself. Each helper names the release that changed the API
(source: the Blender release notes, "Python API" section of each version) and is pinned by a
test in the matrix cell where the difference shows (tests/addon/test_compat.py).

- 4.2: EEVEE was rewritten and its engine id became ``BLENDER_EEVEE_NEXT``; 5.0 renamed it
  back to ``BLENDER_EEVEE``. A file saved with EEVEE by 3.4 opens as EEVEE Next in 4.2-4.5.
  :data:`EEVEE`, :func:`engine_family`.
- 4.4: the Video Sequencer's ``Sequence`` types became ``Strip`` and
  ``SequenceEditor.sequences``/``sequences_all`` became ``strips``/``strips_all``; 5.0
  removed the old names. :func:`sequencer_strips`, :func:`new_strips_collection`.
- 4.4: slotted actions. An action's F-curves live in
  ``action.layers[].strips[].channelbags[].fcurves``; ``Action.fcurves`` is a legacy view
  for the first slot and is gone in 5.0. :func:`action_fcurves`.
- 5.0: the compositor is a node group (``scene.compositing_node_group``, a NodeTree ID that
  several scenes may share); ``scene.node_tree`` and ``scene.use_nodes`` are gone. The File
  Output node keeps its id (``CompositorNodeOutputFile``) but its path became ``directory`` +
  ``file_name`` (was ``base_path``). :func:`compositor_tree`, :func:`new_compositor_tree`,
  :func:`set_file_output_path`.
- bpy module 4.2-4.5 (not the Blender binary, not 5.0+): a ``bpy.app.timers`` timer still
  registered when the process exits crashes it (4.2.23: SIGSEGV) or hangs it forever (4.5.15:
  a condition variable destroyed under a waiting thread). :func:`register_timer` unregisters
  its timers at interpreter exit there.
- bpy module 4.2-4.5 (not the binary, not 5.0+): Blender's own exit
  (``WM_exit``) runs only when Python frees the ``bpy`` module at interpreter shutdown. The
  Python-driver namespace (``bpy.app.driver_namespace``, made by the first driver Blender
  evaluates, even the restricted evaluation of a job file's driver that the add-on then
  removes) holds ``bpy`` in a C global that only ``WM_exit`` releases, so the module is never
  freed and static destructors run on a Blender that never exited: 4.2.23 crashes (SIGSEGV);
  in 4.5.15 the audio device's state destroys a condition variable its "delayed close"
  thread still waits on and the process hangs forever after its last line (Blender bug
  #146640, fixed in 5.0). An exit hook drops ``bpy`` from the driver namespace
  (:data:`BPY_PINNED_AT_EXIT`).
- 5.0: .blend files carry a 17-byte header (``BLENDER17-01v0500``); 3.4-4.5 wrote 12 bytes
  (``BLENDER-v304``). The core reads both (farmhand_core.blend) and refuses a file newer
  than the running Blender before Blender opens it, so nothing here deals with headers.
"""

from __future__ import annotations

import atexit

import bpy

VERSION: tuple[int, int, int] = tuple(bpy.app.version)

#: This Blender's EEVEE engine id (``scene.render.engine``).
EEVEE = "BLENDER_EEVEE_NEXT" if (4, 2) <= VERSION[:2] < (5, 0) else "BLENDER_EEVEE"

_FAMILIES = {"BLENDER_EEVEE": "EEVEE", "BLENDER_EEVEE_NEXT": "EEVEE",
             "BLENDER_WORKBENCH": "WORKBENCH", "CYCLES": "CYCLES"}


def engine_family(engine_id: str) -> str:
    """``"EEVEE"`` for either EEVEE id, ``"CYCLES"``, ``"WORKBENCH"``; any other engine
    (an add-on's) is returned unchanged."""
    return _FAMILIES.get(engine_id, engine_id)


def compositor_tree(scene):
    """The scene's compositor node tree, or None when it has none.

    5.0+: ``scene.compositing_node_group`` (a NodeTree ID). Before: ``scene.node_tree``
    (embedded in the scene), used only when ``scene.use_nodes`` is on.
    """
    if hasattr(scene, "compositing_node_group"):
        return scene.compositing_node_group
    if not getattr(scene, "use_nodes", False):
        return None
    return scene.node_tree


def new_compositor_tree(scene):
    """Give ``scene`` a compositor with a Render Layers node; returns the node tree.

    5.0+: a new ``CompositorNodeTree`` node group assigned to the scene. Before: turning
    ``scene.use_nodes`` on creates the embedded tree (with Render Layers and Composite).
    """
    if hasattr(scene, "compositing_node_group"):
        tree = bpy.data.node_groups.new(f"{scene.name} Compositor", "CompositorNodeTree")
        scene.compositing_node_group = tree
    else:
        scene.use_nodes = True
        tree = scene.node_tree
    if not any(n.bl_idname == "CompositorNodeRLayers" for n in tree.nodes):
        tree.nodes.new("CompositorNodeRLayers")
    return tree


def set_file_output_path(node, path: str) -> None:
    """Point a compositor File Output node at ``path`` (a directory plus a name prefix).

    5.0+: ``node.directory`` and ``node.file_name``. Before: ``node.base_path``."""
    if hasattr(node, "directory"):
        head, tail = path.rsplit("/", 1) if "/" in path else ("", path)
        node.directory = head or "//"
        node.file_name = tail
    else:
        node.base_path = path


def file_output_path(node) -> str:
    """Where a compositor File Output node writes (the inverse of set_file_output_path)."""
    if hasattr(node, "directory"):
        return node.directory.rstrip("/") + "/" + node.file_name
    return node.base_path


def new_strips_collection(scene):
    """The collection new strips are added to (``.new_image()``, ``.new_movie()``...) of
    ``scene``'s sequence editor, created when missing.

    4.4+: ``sequence_editor.strips``. Before: ``sequence_editor.sequences``."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def sequencer_strips(scene) -> list:
    """Every strip of ``scene``'s Video Sequencer, meta strips' contents included (empty when
    the scene has no sequence editor).

    4.4+: ``sequence_editor.strips_all``. Before: ``sequence_editor.sequences_all``."""
    editor = scene.sequence_editor
    if editor is None:
        return []
    return list(editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all)


def action_fcurves(action) -> list:
    """Every F-curve of ``action``, over all its slots.

    4.4+ (slotted actions): ``action.layers[].strips[].channelbags[].fcurves``. Before:
    ``action.fcurves``. (4.4-4.5 still offer ``action.fcurves``, but only for the first
    slot; 5.0 removed it.)"""
    layers = getattr(action, "layers", None)
    if layers is None:
        return list(action.fcurves)
    out = []
    for layer in layers:
        for strip in layer.strips:
            for bag in getattr(strip, "channelbags", ()):
                out.extend(bag.fcurves)
    return out


#: True in the ``bpy`` module builds whose exit breaks on a pending timer (see module doc).
TIMERS_BREAK_EXIT = (4, 2) <= VERSION[:2] < (5, 0) and not bpy.app.binary_path


def _unregister_at_exit(function) -> None:
    if bpy.app.timers.is_registered(function):
        bpy.app.timers.unregister(function)


def register_timer(function, first_interval: float = 0.0, persistent: bool = False) -> None:
    """``bpy.app.timers.register(function, first_interval=..., persistent=...)`` (seconds),
    plus, where :data:`TIMERS_BREAK_EXIT`, an exit hook that unregisters it if still pending,
    so the process can exit (0, not a crash or a hang)."""
    bpy.app.timers.register(function, first_interval=first_interval, persistent=persistent)
    if TIMERS_BREAK_EXIT:
        atexit.register(_unregister_at_exit, function)


#: True in the ``bpy`` module builds whose exit crashes or hangs while the driver namespace
#: holds the ``bpy`` module (4.2-4.5; see the module doc). Where True, importing this module
#: registers :func:`_unpin_bpy_at_exit` with :mod:`atexit`.
BPY_PINNED_AT_EXIT = (4, 2) <= VERSION[:2] < (5, 0) and not bpy.app.binary_path


def _unpin_bpy_at_exit() -> None:
    # Runs before Python's module teardown: without this reference the bpy module is freed
    # there and Blender's WM_exit joins the audio thread before static destructors run.
    bpy.app.driver_namespace.pop("bpy", None)


if BPY_PINNED_AT_EXIT:
    atexit.register(_unpin_bpy_at_exit)
