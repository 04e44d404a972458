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
"""

from __future__ import annotations

import ctypes

import bpy

ENGINE_BYTES = 32  # sizeof(RenderData::engine)
MAX_OFFSET = 16 << 10  # RenderData is ~4-6 KiB (3.4 .. 5.2); the id lies well inside
_CHUNK = 64
_MARKERS = ("BLENDER_WORKBENCH", "CYCLES")
_offset: int | None = None


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
        except TypeError:  # "enum 'X' not found in ('BLENDER_EEVEE', ...)"
            return False
        return True

    def stored(self, scene) -> str:
        offset = self._engine_offset()
        raw = ctypes.string_at(scene.render.as_pointer() + offset, ENGINE_BYTES)
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

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
