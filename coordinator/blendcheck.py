"""Streaming .blend check for uploads: is this a Blender file, which Blender saved it, and is
it whole? Fed chunk by chunk as the upload streams through (nothing is held whole in memory).

Format (Blender source, ``BLO_core_bhead.hh``/``readfile.cc``; docs/protocol.md "Uploads"):
- optional compression: gzip (``1f 8b``, Blender < 3.0) or zstd (``28 b5 2f fd``, 3.0+);
- the file header: ``"BLENDER"`` + pointer size (``_`` = 4 bytes, ``-`` = 8) + endianness
  (``v`` little, ``V`` big) + 3 version digits (``304`` = 3.4), 12 bytes; or, Blender 5.0+,
  ``"BLENDER" "17" "-" "01" "v" "0500"`` (17 bytes, 8-byte pointers, 4 version digits);
- then blocks, each a block header (``code[4]``, ``len``, ``old`` pointer, ``SDNAnr``, ``nr``;
  20 bytes with 4-byte pointers, 24 with 8, 32 in the 5.0+ "large" layout where ``len`` and
  ``nr`` are 64-bit) followed by ``len`` bytes, until the block with code ``ENDB``.
A file that ends before ``ENDB`` (or in the middle of a block) is truncated or corrupt.
"""

from __future__ import annotations

import struct
import zlib

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAGIC = b"BLENDER"
SNIFF_BYTES = 64  # enough compressed bytes to tell the container apart
# A decompressed stream more than this many times its compressed size is a bomb, not a scene.
MAX_EXPANSION = 64


class BlendRefused(ValueError):
    """The upload is not an acceptable .blend. ``code``: stable snake_case id
    (``not_a_blend``, ``blend_corrupt``); the message says what was wrong and what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def version_name(version: int) -> str:
    """304 -> "3.4", 500 -> "5.0", 1002 -> "10.2"."""
    return f"{version // 100}.{version % 100}"


class BlendSniffer:
    """Feed the upload's bytes in order with ``feed()``, then ``finish()``.

    Attributes once known: ``version`` (int, 304 = 3.4), ``compression`` ("none", "gzip",
    "zstd"), ``blocks`` (count walked). Raises BlendRefused as soon as the bytes show a
    problem."""

    def __init__(self) -> None:
        self.compression: str | None = None
        self.version: int | None = None
        self.pointer_size = 0
        self.little = True
        self.large = False
        self.blocks = 0
        self.compressed_bytes = 0
        self.plain_bytes = 0
        self.ended = False
        self._pending = b""        # compressed bytes before the container is known
        self._buf = bytearray()    # plain bytes not yet parsed
        self._skip = 0             # plain bytes of the current block still to skip
        self._decoder = None

    # -- input ----------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        """Take the next bytes of the file."""
        self.compressed_bytes += len(chunk)
        if self.compression is None:
            self._pending += chunk
            if len(self._pending) < SNIFF_BYTES and not self._pending.startswith(MAGIC):
                return
            self._choose_container()
            chunk, self._pending = self._pending, b""
        self._plain(self._decode(chunk))

    def finish(self) -> "BlendSniffer":
        """The file is complete: raise BlendRefused unless it held a whole .blend."""
        if self.compression is None:
            self._choose_container()
            self._plain(self._decode(self._pending))
        if self.compression == "gzip" and not self._decoder.eof:
            raise BlendRefused("blend_corrupt", "the gzip stream ends early: the file is "
                               "truncated; save it again in Blender and upload the new file")
        if self.version is None:
            raise BlendRefused("not_a_blend", "the file is too short to be a .blend")
        if not self.ended:
            raise BlendRefused("blend_corrupt",
                               f"the file ends after {self.blocks} blocks without Blender's "
                               "end marker (ENDB): it is truncated or corrupt; save it again "
                               "in Blender and upload the new file")
        return self

    # -- containers -----------------------------------------------------------------------

    def _choose_container(self) -> None:
        head = self._pending
        if head.startswith(GZIP_MAGIC):
            self.compression = "gzip"
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif head.startswith(ZSTD_MAGIC):
            self.compression = "zstd"
            self._decoder = zstandard.ZstdDecompressor().decompressobj()
        elif head.startswith(MAGIC) or MAGIC.startswith(head):
            self.compression = "none"
        else:
            shown = head[:12].decode("latin-1").encode("unicode_escape").decode()
            raise BlendRefused("not_a_blend",
                               f"this is not a .blend file (it starts \"{shown}\", a Blender "
                               "file starts \"BLENDER\", or is gzip/zstd compressed); choose "
                               "the .blend you saved in Blender")

    def _decode(self, chunk: bytes) -> bytes:
        if self.compression == "none" or not chunk:
            return chunk
        try:
            if self.compression == "gzip":
                out = self._decoder.decompress(chunk)
            else:
                out = self._decode_zstd(chunk)
        except (zlib.error, zstandard.ZstdError) as exc:
            raise BlendRefused("blend_corrupt", f"the {self.compression} stream is corrupt "
                               f"({exc}); save the file again in Blender") from None
        if self.plain_bytes + len(out) > MAX_EXPANSION * max(self.compressed_bytes, 1 << 20):
            raise BlendRefused("blend_corrupt",
                               f"the {self.compression} stream expands more than "
                               f"{MAX_EXPANSION}x: not a scene Blender wrote")
        return out

    def _decode_zstd(self, chunk: bytes) -> bytes:
        """Blender 3.0+ writes zstd as many frames (plus a skippable seek-table frame;
        zstd format, RFC 8878 section 3.1). A decompressobj decodes one frame: the bytes
        after its end go to a fresh one -- in this chunk (its unused_data) or, when a chunk
        ends exactly where a frame does, in the next one."""
        out = b""
        while chunk:
            if self._decoder.eof:
                self._decoder = zstandard.ZstdDecompressor().decompressobj()
            out += self._decoder.decompress(chunk)
            chunk = self._decoder.unused_data if self._decoder.eof else b""
        return out

    # -- the plain .blend -----------------------------------------------------------------

    def _plain(self, data: bytes) -> None:
        self.plain_bytes += len(data)
        if self.ended or not data:
            return
        if self._skip:
            used = min(self._skip, len(data))
            self._skip -= used
            data = data[used:]
        self._buf += data
        if self.version is None and not self._header():
            return
        self._walk()

    def _header(self) -> bool:
        buf = self._buf
        if len(buf) < 12:
            return False
        if not buf.startswith(MAGIC):
            raise BlendRefused("not_a_blend", "the decompressed data does not start with "
                               "\"BLENDER\": this is not a Blender file")
        if chr(buf[7]).isdigit():
            if len(buf) < 17:
                return False
            head = bytes(buf[:17]).decode("latin-1")
            if head[7:9] != "17" or head[9] != "-" or head[10:12] != "01" or \
                    head[12] not in "vV" or not head[13:17].isdigit():
                raise BlendRefused("blend_corrupt", f"unknown .blend header \"{head!r}\": "
                                   "saved by a Blender this coordinator does not know")
            self.large, self.pointer_size, self.little = True, 8, head[12] == "v"
            self.version = int(head[13:17])
            size = 17
        else:
            head = bytes(buf[:12]).decode("latin-1")
            if head[7] not in "_-" or head[8] not in "vV" or not head[9:12].isdigit():
                raise BlendRefused("blend_corrupt", f"malformed .blend header {head!r}")
            self.pointer_size = 4 if head[7] == "_" else 8
            self.little = head[8] == "v"
            self.version = int(head[9:12])
            size = 12
        del buf[:size]
        return True

    def _walk(self) -> None:
        end = "<" if self.little else ">"
        if self.large:
            size, fmt = 32, end + "4siQqq"      # code, SDNAnr, old, len, nr
        elif self.pointer_size == 8:
            size, fmt = 24, end + "4siQii"      # code, len, old, SDNAnr, nr
        else:
            size, fmt = 20, end + "4siIii"
        buf = self._buf
        while len(buf) >= size:
            fields = struct.unpack_from(fmt, buf)
            code, old = fields[0], fields[2]
            length = fields[3] if self.large else fields[1]
            if length < 0:
                raise BlendRefused("blend_corrupt", f"block {self.blocks} has a negative "
                                   "length: the file is corrupt")
            if code == b"ENDB":
                self.blocks += 1
                self.ended = True
                del buf[:]
                return
            if not self._take(code, old, length, size):
                return      # the block is walked again once more bytes came
            self.blocks += 1
            available = len(buf) - size
            if length <= available:
                del buf[:size + length]
            else:
                self._skip = length - available
                del buf[:]
                return

    def _take(self, code: bytes, old: int, length: int, head: int) -> bool:
        """Called for each block before it is skipped: ``code`` (4 bytes), ``old`` (its
        pointer when saved), ``length`` (bytes of data), ``head`` (bytes of block header);
        ``self._buf`` holds the header and what has come of the data. False: not yet, walk
        this block again when more bytes came. Here: nothing to keep (subclasses keep
        blocks, e.g. blendscene.SceneReader)."""
        return True
