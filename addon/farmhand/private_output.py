"""Private, deterministic result files: nothing about the worker in what goes to strangers.

Blender writes its "stamp" metadata into every PNG and JPEG it saves: the .blend's local path
(``File``), the date, the render time, the host name (when enabled), and Cycles adds its own
``cycles.<view layer>.*`` timings whatever the stamp settings say. That leaks the artist's home
path and makes two renders of the same frame differ, so they never share a CID.

- :func:`disable_stamp` turns every ``use_stamp*`` option of a scene off (no burnt-in text, no
  stamp fields), generated from RNA so a new Blender's new option is covered too.
- :func:`strip_metadata` rewrites a written PNG without its text and time chunks (``tEXt``,
  ``zTXt``, ``iTXt``, ``tIME``; PNG spec, ISO/IEC 15948 §11.3) or a JPEG without its comment
  (COM) and application (APP1..APP15, e.g. Exif/XMP) segments (ITU T.81 §B.2.4). The pixels are
  untouched. OpenEXR headers are left as Blender writes them (see docs/addon.md).
"""

from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DROPPED = {b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def disable_stamp(render_settings) -> list[str]:
    """Set every writable boolean ``use_stamp*`` property of ``render_settings``
    (``scene.render``) to False; returns the names that were on."""
    turned_off = []
    for prop in render_settings.bl_rna.properties:
        name = prop.identifier
        if name.startswith("use_stamp") and prop.type == "BOOLEAN" and not prop.is_readonly:
            if getattr(render_settings, name):
                turned_off.append(name)
            setattr(render_settings, name, False)
    return turned_off


def _strip_png(data: bytes) -> bytes:
    out = [PNG_SIGNATURE]
    pos = len(PNG_SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("truncated PNG chunk header")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"truncated PNG chunk {kind!r}")
        if kind not in PNG_DROPPED:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)
    raise ValueError("PNG without its IEND chunk (cut short)")


def _strip_jpeg(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI marker)")
    out = [data[:2]]
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"JPEG marker expected at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data to the end
            if not data.endswith(b"\xff\xd9"):
                raise ValueError("JPEG without its end-of-image marker (cut short)")
            out.append(data[pos:])
            return b"".join(out)
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        end = pos + 2 + length
        if end > len(data):
            raise ValueError("truncated JPEG segment")
        if not (marker == 0xFE or 0xE1 <= marker <= 0xEF):  # keep APP0 (JFIF)
            out.append(data[pos:end])
        pos = end
    raise ValueError("JPEG without a start-of-scan segment")


def strip_metadata(path: str) -> int:
    """Rewrite the PNG or JPEG at ``path`` without metadata (see module doc); other files are
    left alone. Returns the number of bytes removed. Raises ValueError for a malformed file,
    one cut short included (a PNG without IEND, a JPEG without its EOI marker: what a full
    disk leaves)."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(PNG_SIGNATURE):
        clean = _strip_png(data)
    elif data.startswith(b"\xff\xd8"):
        clean = _strip_jpeg(data)
    else:
        return 0
    if clean != data:
        with open(path, "wb") as f:
            f.write(clean)
    return len(data) - len(clean)
