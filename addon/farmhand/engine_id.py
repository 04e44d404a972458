"""The render engine a scene really names, and whether this Blender has it.

RNA cannot tell either: ``scene.render.engine`` reads the stored id through the list of
registered engines and gives the FIRST one (EEVEE) for an id it does not know (Blender's
``rna_RenderSettings_engine_get``), and rendering such a scene silently falls back to EEVEE
too (``RE_engines_find``). So a scene made for an add-on's engine (LuxCore, Octane, ...)
would render as an EEVEE picture nobody asked for. And the static ``enum_items`` of the
property list only the built-in enum (3.4: EEVEE alone, not Workbench).

So this module reads the id as stored: ``RenderData.engine`` is ``char engine[32]``
(``DNA_scene_types.h``, every Blender 2.5+), at an offset inside ``scene.render``'s struct
that differs between versions. The offset is found once per process on a probe scene
(created and removed again, never saved): set its engine to Workbench, find that id's bytes,
confirm the same offset holds "CYCLES" after setting Cycles. Whether this Blender has an
engine is asked of Blender itself: assigning the id to the probe scene's enum raises
TypeError when no registered engine has it.

Both answers are kept for the process (:func:`engine_of`): creating, changing and removing
the probe scene is a redraw of every region of every window (a new and a removed ID, and an
engine change: ``ED_render_engine_changed``), which with software OpenGL held an artist's
window 0.26-0.31 s per job in the GUI worker (issue 16). An engine's answer is asked again
when the engines registered from Python (``bpy.types.RenderEngine`` subclasses: Cycles, an
add-on's) change, e.g. after the artist enabled an engine's add-on.
"""

from __future__ import annotations

import ctypes

import bpy

ENGINE_BYTES = 32  # sizeof(RenderData::engine)
MAX_OFFSET = 16 << 10  # RenderData is ~4-6 KiB (3.4 .. 5.2); the id lies well inside
_CHUNK = 64
_MARKERS = ("BLENDER_WORKBENCH", "CYCLES")
_offset: int | None = None
_available: dict[tuple[str, frozenset], bool] = {}  # (engine id, registered) -> has it
# asked by warm_up(); an id a Blender lacks is remembered as such (4.2-4.5 name EEVEE "_NEXT")
COMMON_ENGINES = ("CYCLES", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT", "BLENDER_WORKBENCH")


def _registered() -> frozenset:
    """The bl_idnames of the engines registered from Python (changes when an engine's
    add-on is enabled or disabled)."""
    return frozenset(getattr(c, "bl_idname", "")
                     for c in bpy.types.RenderEngine.__subclasses__())


def engine_of(scene) -> tuple[str, bool]:
    """(the engine id ``scene`` stores, whether this Blender has it); '' is Blender's
    default engine (available). Uses a probe scene only for what was not asked before in
    this process. Raises RuntimeError as :class:`EngineProbe` does."""
    if _offset is not None:
        engine = _stored_at(scene, _offset)
        known = _available.get((engine, _registered()))
        if not engine or known is not None:
            return engine, known is not False
    with EngineProbe() as probe:
        engine = probe.stored(scene)
        return engine, not engine or probe.available(engine)


def warm_up() -> None:
    """Find the id's offset and ask about the common engines now (one probe scene), so that
    the jobs after it need none. The GUI worker calls it before its first job."""
    registered = _registered()
    if _offset is not None and all((e, registered) in _available for e in COMMON_ENGINES):
        return
    with EngineProbe() as probe:
        probe._engine_offset()
        for engine in COMMON_ENGINES:
            probe.available(engine)


def _stored_at(scene, offset: int) -> str:
    raw = ctypes.string_at(scene.render.as_pointer() + offset, ENGINE_BYTES)
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


class EngineProbe:
    """A temporary scene to ask Blender about engines; a context manager (the scene is
    removed on exit). ``stored(scene)`` -> the id ``scene`` names as stored (str);
    ``available(engine_id)`` -> bool. Raises RuntimeError if the id's place in the struct
    cannot be found (never expected: tests/addon/test_job_rendering.py runs every cell)."""

    def __enter__(self) -> EngineProbe:
        self.scene = bpy.data.scenes.new("farmhand engine probe")
        return self

    def __exit__(self, *exc) -> None:
        bpy.data.scenes.remove(self.scene)

    def available(self, engine_id: str) -> bool:
        try:
            self.scene.render.engine = engine_id
            has = True
        except TypeError:  # "enum 'X' not found in ('BLENDER_EEVEE', ...)"
            has = False
        _available[(engine_id, _registered())] = has
        return has

    def stored(self, scene) -> str:
        return _stored_at(scene, self._engine_offset())

    def _engine_offset(self) -> int:
        global _offset
        if _offset is None:
            _offset = self._find_offset()
        return _offset

    def _find_offset(self) -> int:
        """Scan the probe's RenderData in small steps (never past the id once found: the
        id lies inside the struct, so no read leaves it)."""
        first, second = _MARKERS
        self.scene.render.engine = first
        base = self.scene.render.as_pointer()
        want = first.encode() + b"\0"
        seen, pos = b"", 0
        for start in range(0, MAX_OFFSET, _CHUNK):
            seen += ctypes.string_at(base + start, _CHUNK)
            at = seen.find(want, pos)
            while at >= 0:
                self.scene.render.engine = second
                if ctypes.string_at(base + at, len(second) + 1) == second.encode() + b"\0":
                    return at
                self.scene.render.engine = first
                pos = at + 1
                at = seen.find(want, pos)
        raise RuntimeError("could not find the render engine id in this Blender's "
                           "RenderData (farmhand/engine_id.py)")
