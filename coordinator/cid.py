"""CID syntax check (multiformats CID spec, github.com/multiformats/cid).

Only what a coordinator needs: is this string a well-formed CID of a UnixFS file/directory
(dag-pb) or raw block? Accepted: CIDv0 (base58btc, sha2-256 multihash, 46 characters
starting "Qm") and CIDv1 in multibase base32 ("b"/"B"), base58btc ("z") or base16 ("f"/"F")
with codec dag-pb (0x70) or raw (0x55) and a multihash whose declared length matches its digest.
"""

from __future__ import annotations

import base64
import binascii

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_CODECS = {0x70: "dag-pb", 0x55: "raw"}
_SHA2_256 = 0x12
_MAX_LEN = 256  # characters; real CIDs are ~46-70


class CidError(ValueError):
    """The string is not an accepted CID; the message says why."""


def _b58decode(text: str) -> bytes:
    num = 0
    for ch in text:
        if ch not in _B58_INDEX:
            raise CidError(f"character {ch!r} is not base58btc")
        num = num * 58 + _B58_INDEX[ch]
    raw = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + raw


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Unsigned LEB128 varint (multiformats unsigned-varint, at most 9 bytes)."""
    value = shift = 0
    for i in range(pos, min(pos + 9, len(data))):
        value |= (data[i] & 0x7F) << shift
        if not data[i] & 0x80:
            return value, i + 1
        shift += 7
    raise CidError("truncated or over-long varint")


def _check_multihash(data: bytes, pos: int) -> None:
    code, pos = _varint(data, pos)
    length, pos = _varint(data, pos)
    digest = data[pos:]
    if len(digest) != length:
        raise CidError(f"multihash declares {length} digest bytes but has {len(digest)}")
    if code == _SHA2_256 and length != 32:
        raise CidError("sha2-256 multihash must have a 32-byte digest")
    if length == 0:
        raise CidError("multihash digest is empty")


def _decode_multibase(text: str) -> bytes:
    prefix, body = text[0], text[1:]
    try:
        if prefix in "bB":
            body = body.upper()
            return base64.b32decode(body + "=" * (-len(body) % 8))
        if prefix == "z":
            return _b58decode(body)
        if prefix in "fF":
            return bytes.fromhex(body)
    except (binascii.Error, ValueError) as exc:
        raise CidError(f"bad multibase payload: {exc}") from None
    raise CidError(f"unsupported multibase prefix {prefix!r} (use base32 'b', base58btc 'z' "
                   "or base16 'f')")


def validate_cid(text: str) -> str:
    """Return ``text`` unchanged if it is an accepted CID; raise CidError saying why not."""
    if not isinstance(text, str) or not text:
        raise CidError("CID is empty")
    if len(text) > _MAX_LEN or not text.isascii():
        raise CidError("CID is too long or not ASCII")
    if len(text) == 46 and text.startswith("Qm"):
        data = _b58decode(text)
        if len(data) != 34 or data[0] != _SHA2_256 or data[1] != 32:
            raise CidError("CIDv0 must be a base58btc sha2-256 multihash")
        return text
    if text.startswith("Qm"):
        raise CidError("a CIDv0 ('Qm...') has exactly 46 base58btc characters")
    data = _decode_multibase(text)
    version, pos = _varint(data, 0)
    if version != 1:
        raise CidError(f"CID version {version} is not supported (only 0 and 1)")
    codec, pos = _varint(data, pos)
    if codec not in _CODECS:
        raise CidError(f"codec 0x{codec:x} is not dag-pb (0x70) or raw (0x55)")
    _check_multihash(data, pos)
    return text
