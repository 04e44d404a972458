"""A UnixFS directory node built by the coordinator, byte for byte what ``ipfs add -r`` makes
for a flat directory of files (specs.ipfs.tech "UnixFS" and "DAG-PB"):

    PBNode { Links: [PBLink { Hash, Name, Tsize }, ...sorted by name bytes], Data: UnixFS{Type:
    Directory} }

encoded Links first, then Data (the canonical dag-pb order); its CID is CIDv0 (sha2-256) when
every child is CIDv0, as kubo's default import makes it, else CIDv1 dag-pb in base32.
"""

from __future__ import annotations

import base64
import hashlib

from .cid import _b58decode, _decode_multibase, validate_cid

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
UNIXFS_DIRECTORY_DATA = b"\x08\x01"      # UnixFS Data { Type: Directory }
HAMT_THRESHOLD = 256 * 1024              # kubo Import.UnixFSHAMTDirectorySizeThreshold default


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _varint(len(payload)) + payload


def cid_bytes(cid: str) -> bytes:
    """The binary form of a CID string (CIDv0: the multihash; CIDv1: version+codec+hash)."""
    validate_cid(cid)
    if cid.startswith("Qm"):
        return _b58decode(cid)
    return _decode_multibase(cid)


def b58encode(data: bytes) -> str:
    num = int.from_bytes(data, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def directory_node(entries: list[tuple[str, str, int]]) -> tuple[bytes, str]:
    """(block bytes, CID) of a directory of ``entries`` [(name, child CID, child Tsize)].
    Raises ValueError on a duplicate or empty name or a name with '/'."""
    names = [e[0] for e in entries]
    if len(set(names)) != len(names) or any(not n or "/" in n for n in names):
        raise ValueError("directory entry names must be unique, non-empty, without '/'")
    links = b""
    for name, cid, tsize in sorted(entries, key=lambda e: e[0].encode()):
        link = (_field(0x0A, cid_bytes(cid)) + _field(0x12, name.encode())
                + bytes([0x18]) + _varint(tsize))
        links += _field(0x12, link)
    block = links + _field(0x0A, UNIXFS_DIRECTORY_DATA)
    digest = b"\x12\x20" + hashlib.sha256(block).digest()
    if all(cid.startswith("Qm") for _, cid, _ in entries):
        return block, b58encode(digest)
    raw = b"\x01\x70" + digest
    return block, "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def estimated_size(entries: list[tuple[str, str, int]]) -> int:
    """kubo's estimate of a directory's size for its sharding decision: the sum of every
    link's name length and binary CID length."""
    return sum(len(name.encode()) + len(cid_bytes(cid)) for name, cid, _ in entries)


def same_multihash(a: str, b: str) -> bool:
    """True if two CIDs (any version) name the same sha2-256 digest."""
    return cid_bytes(a)[-32:] == cid_bytes(b)[-32:]

