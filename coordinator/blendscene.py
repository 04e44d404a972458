"""The render resolution of a .blend's current scene, read from the file's SDNA at submission
(docs/protocol.md "Result checks"), so that the result checks know every frame's size before
the first one arrives.

Format (Blender source: ``makesdna.cc`` writes the ``DNA1`` block, ``readfile.cc`` reads it;
``DNA_scene_types.h`` ``RenderData``, ``DNA_fileglobal_types.h`` ``FileGlobal``):
- the file is walked block by block (coordinator/blendcheck.py: containers, header, blocks);
  kept are the ``GLOB`` block (``FileGlobal``: ``*curscene``, the scene the file was saved
  with, which a headless Blender renders), every ``SC`` block (a ``Scene``) with its old
  pointer, and ``DNA1`` (the SDNA: every struct's fields), each only up to a size bound;
- SDNA: ``"SDNA"``, ``"NAME"`` + count + NUL-terminated field names, ``"TYPE"`` + count + type
  names, ``"TLEN"`` + a 16-bit size per type, ``"STRC"`` + count + per struct (type index,
  field count, then (type index, name index) per field); each part 4-byte aligned, in the
  file's byte order. A field's size is the pointer size for ``*name``/``(*name)()``, else its
  type's size, times the product of its ``[n]`` array dimensions;
- ``Scene.r`` (a ``RenderData``) holds ``xsch``, ``ysch`` (pixels) and ``size`` (percent);
  Blender renders ``xsch * size / 100`` × ``ysch * size / 100`` (integer division,
  ``BKE_render_resolution``). With a render border cropped to it (``mode`` bits ``R_BORDER``
  1 << 9 and ``R_CROP`` 1 << 11) or multiview (``scemode`` ``R_MULTIVIEW`` 1 << 21) the frame
  size depends on more than that, so no resolution is given (the first accepted frame's is
  used, as before).

Hostile input: every read is bounds-checked, every count capped; anything unexpected gives
``None`` (no expectation), never an exception other than ``BlendRefused`` from the walk.
"""

from __future__ import annotations

import asyncio
import logging
import re
import struct

from .blendcheck import BlendRefused, BlendSniffer
from .kubo import KuboError

log = logging.getLogger("coordinator")

MAX_SDNA_BYTES = 8 << 20      # Blender 5.0's SDNA is ~0.5 MiB
MAX_SCENE_BYTES = 256 << 10   # a Scene struct is ~10 KiB
MAX_GLOB_BYTES = 64 << 10
MAX_SCENES = 64               # more scenes than this: no expectation (<= 16 MiB kept)
MAX_SDNA_ITEMS = 1 << 16      # names, types, structs, fields per struct
R_BORDER, R_CROP, R_MULTIVIEW = 1 << 9, 1 << 11, 1 << 21
_DIM = re.compile(r"\[(\d+)\]")
_KEPT = (b"GLOB", b"SC\0\0", b"DNA1")
_LIMIT = {b"GLOB": MAX_GLOB_BYTES, b"SC\0\0": MAX_SCENE_BYTES, b"DNA1": MAX_SDNA_BYTES}


class SdnaError(ValueError):
    """The SDNA block (or a struct read through it) is not what Blender writes."""


class Sdna:
    """A parsed ``DNA1`` block. ``structs``: type name -> [(field name, type name, offset,
    size)]; ``sizes``: type name -> bytes. Raises SdnaError on malformed data."""

    def __init__(self, data: bytes, pointer_size: int, little: bool):
        self.pointer_size = pointer_size
        self._end = "<" if little else ">"
        self._data = data
        self._pos = 0
        self._expect(b"SDNA")
        names = self._strings(b"NAME")
        types = self._strings(b"TYPE")
        self._expect(b"TLEN")
        lengths = [self._unpack("H") for _ in types]
        self._align()
        self._expect(b"STRC")
        self.sizes = dict(zip(types, lengths))
        self.structs: dict[str, list[tuple[str, str, int, int]]] = {}
        for _ in range(self._count()):
            type_index, nr_fields = self._unpack("H"), self._unpack("H")
            fields, offset = [], 0
            for _ in range(nr_fields):
                ftype, fname = self._unpack("H"), self._unpack("H")
                if ftype >= len(types) or fname >= len(names):
                    raise SdnaError("a struct field names a type or name beyond the tables")
                name = names[fname]
                size = self._field_size(name, lengths[ftype])
                fields.append((self._bare(name), types[ftype], offset, size))
                offset += size
            if type_index >= len(types):
                raise SdnaError("a struct's type is beyond the type table")
            self.structs[types[type_index]] = fields

    # -- reading ---------------------------------------------------------------------------

    def _unpack(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self._pos + size > len(self._data):
            raise SdnaError("the SDNA block ends early")
        value = struct.unpack_from(self._end + fmt, self._data, self._pos)[0]
        self._pos += size
        return value

    def _expect(self, tag: bytes) -> None:
        if self._data[self._pos:self._pos + 4] != tag:
            raise SdnaError(f"expected {tag.decode()} at byte {self._pos} of the SDNA block")
        self._pos += 4

    def _align(self) -> None:
        self._pos = (self._pos + 3) & ~3

    def _count(self) -> int:
        count = self._unpack("i")
        if not 0 <= count <= MAX_SDNA_ITEMS:
            raise SdnaError(f"an SDNA table claims {count} entries")
        return count

    def _strings(self, tag: bytes) -> list[str]:
        self._expect(tag)
        out = []
        for _ in range(self._count()):
            end = self._data.find(b"\0", self._pos)
            if end < 0:
                raise SdnaError(f"an SDNA {tag.decode()} string has no end")
            out.append(self._data[self._pos:end].decode("latin-1"))
            self._pos = end + 1
        self._align()
        return out

    # -- fields ----------------------------------------------------------------------------

    def _field_size(self, name: str, type_size: int) -> int:
        count = 1
        for dim in _DIM.findall(name):
            count *= int(dim)
        return (self.pointer_size if name.startswith(("*", "(*")) else type_size) * count

    @staticmethod
    def _bare(name: str) -> str:
        """``*curscene`` -> ``*curscene`` (pointer kept visible), ``name[64]`` -> ``name``."""
        return name.split("[", 1)[0]

    def field(self, struct_name: str, field_name: str) -> tuple[str, int, int]:
        """(type name, offset, size) of a field; SdnaError when absent."""
        for name, type_name, offset, size in self.structs.get(struct_name, ()):
            if name == field_name:
                return type_name, offset, size
        raise SdnaError(f"struct {struct_name} has no field {field_name}")

    def read_int(self, data: bytes, offset: int, type_name: str) -> int:
        """An integer field of type ``type_name`` (char, short, int, ...) at ``offset``."""
        fmt = {"char": "b", "uchar": "B", "short": "h", "ushort": "H", "int": "i",
               "uint": "I", "int8_t": "b", "uint8_t": "B", "int16_t": "h", "uint16_t": "H",
               "int32_t": "i", "uint32_t": "I"}.get(type_name)
        if fmt is None:
            raise SdnaError(f"a field of type {type_name} is not an integer")
        if offset < 0 or offset + struct.calcsize(fmt) > len(data):
            raise SdnaError("a field lies beyond its block")
        return struct.unpack_from(self._end + fmt, data, offset)[0]

    def read_pointer(self, data: bytes, offset: int) -> int:
        fmt = "Q" if self.pointer_size == 8 else "I"
        if offset < 0 or offset + self.pointer_size > len(data):
            raise SdnaError("a pointer lies beyond its block")
        return struct.unpack_from(self._end + fmt, data, offset)[0]


class SceneReader(BlendSniffer):
    """A BlendSniffer (feed the file's bytes with ``feed()``, then ``finish()``) that also
    keeps the blocks the current scene's resolution needs; then ``resolution()``."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[tuple[bytes, int, bytes]] = []    # (code, old pointer, data)
        self.scenes = 0

    def _take(self, code: bytes, old: int, length: int, head: int) -> bool:
        keep = code in _KEPT and length <= _LIMIT[code] and \
            (code != b"SC\0\0" or self.scenes < MAX_SCENES)
        if keep and length > len(self._buf) - head:
            return False    # wait for the whole block (bounded by _LIMIT)
        if keep:
            self.kept.append((code, old, bytes(self._buf[head:head + length])))
            self.scenes += code == b"SC\0\0"
        elif code == b"SC\0\0":
            self.scenes = MAX_SCENES + 1      # a scene we could not keep
        return True

    def resolution(self) -> list[int] | None:
        """[width, height] in pixels Blender renders the file's current scene at, or None
        (not found, a border crop or multiview, or anything malformed)."""
        try:
            return self._resolution()
        except (ValueError, struct.error, OverflowError, KeyError):
            return None     # SdnaError is a ValueError; so is int() of a 5,000-digit [n]

    def _resolution(self) -> list[int] | None:
        blocks = {code: data for code, _old, data in self.kept if code != b"SC\0\0"}
        scenes = [(old, data) for code, old, data in self.kept if code == b"SC\0\0"]
        if b"DNA1" not in blocks or not scenes or self.scenes > MAX_SCENES:
            return None
        sdna = Sdna(blocks[b"DNA1"], self.pointer_size, self.little)
        chosen = scenes[0][1] if len(scenes) == 1 else None
        if b"GLOB" in blocks:
            _t, offset, _s = sdna.field("FileGlobal", "*curscene")
            current = sdna.read_pointer(blocks[b"GLOB"], offset)
            chosen = next((data for old, data in scenes if old == current), chosen)
        if chosen is None:
            return None
        rtype, roffset, _rsize = sdna.field("Scene", "r")
        if rtype != "RenderData":
            raise SdnaError(f"Scene.r is a {rtype}, not RenderData")

        def value(name: str) -> int:
            type_name, offset, _size = sdna.field("RenderData", name)
            return sdna.read_int(chosen, roffset + offset, type_name)

        width, height, percent = value("xsch"), value("ysch"), value("size")
        if value("mode") & R_BORDER and value("mode") & R_CROP:
            return None
        if value("scemode") & R_MULTIVIEW:
            return None
        width, height = width * percent // 100, height * percent // 100
        if not (1 <= width <= 65536 and 1 <= height <= 65536):
            return None
        return [width, height]


READ_BATCH = 1 << 20          # bytes handed to the reader's thread at a time


async def read_resolution(kubo, cid: str, max_bytes: int, seconds: float) -> list[int] | None:
    """The current scene's render resolution of the .blend ``cid``, streamed from ``kubo``
    (coordinator/kubo.py) through a SceneReader in a worker thread; None when it cannot be
    told within ``max_bytes`` (the file's size bound) and ``seconds`` (kubo failing, a file
    that is not a whole .blend, a hostile SDNA). Logs why it gave None."""
    reader = SceneReader()

    async def walk() -> list[int] | None:
        batch = bytearray()
        async for chunk in kubo.cat_chunks(cid, max_bytes):
            batch += chunk
            if len(batch) >= READ_BATCH:
                await asyncio.to_thread(reader.feed, bytes(batch))
                batch.clear()
        await asyncio.to_thread(reader.feed, bytes(batch))
        await asyncio.to_thread(reader.finish)
        return await asyncio.to_thread(reader.resolution)

    try:
        return await asyncio.wait_for(walk(), seconds)
    except (KuboError, BlendRefused, asyncio.TimeoutError) as exc:
        why = str(exc) or f"not read within {seconds:.0f} s"
        log.info("asset %s: no resolution from its scene (%s); the first frame's is used",
                 cid, why[:200])
        return None


def scene_resolution(data: bytes) -> list[int] | None:
    """The current scene's render resolution of a whole .blend held in ``data`` (tests, small
    files); None when it cannot be told. Raises BlendRefused for what is not a whole .blend."""
    reader = SceneReader()
    reader.feed(data)
    reader.finish()
    return reader.resolution()
