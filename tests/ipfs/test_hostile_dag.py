"""DAGs a hostile uploader can build (every block hashes correctly, the sizes lie) are
rejected before their bytes are used. Blocks are hand-made here and served by a
StubGateway in "blocks" mode (real kubo would serve them too, but cannot be made to serve
a block it refuses to add; the stub keeps each case to exactly the bytes under test)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from stub_gateway import StubGateway


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_varint(num: int, value: int) -> bytes:
    return varint(num << 3) + varint(value)


def field_bytes(num: int, value: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(value)) + value


def cid_v1(codec: int, block: bytes) -> tuple[str, bytes]:
    """(text, binary) CIDv1 sha2-256 of `block` (multiformats/cid)."""
    binary = b"\x01" + varint(codec) + b"\x12\x20" + hashlib.sha256(block).digest()
    return "b" + base64.b32encode(binary).decode().lower().rstrip("="), binary


def file_node(children: list[bytes], filesize: int | None, blocksizes: list[int],
              data: bytes | None = None) -> bytes:
    unixfs = field_varint(1, 2)
    if data is not None:
        unixfs += field_bytes(2, data)
    if filesize is not None:
        unixfs += field_varint(3, filesize)
    for s in blocksizes:
        unixfs += field_varint(4, s)
    links = b"".join(field_bytes(2, field_bytes(1, c) + field_bytes(2, b"")) for c in children)
    return links + field_bytes(1, unixfs)


def serve_and_download(ipfs, kubo, tmp_path, root: bytes, leaves: dict[str, bytes],
                       **client_kw):
    root_cid, _ = cid_v1(0x70, root)
    blocks = dict(leaves, **{root_cid: root})
    with StubGateway(kubo.gateway_url, "blocks", blocks=blocks) as stub:
        return ipfs.Client([], [stub.url], **client_kw).download(root_cid, tmp_path)


@pytest.fixture
def leaf():
    block = b"abc"
    text, binary = cid_v1(0x55, block)
    return text, binary, block


def test_honest_hand_made_dag_downloads(ipfs, kubo, tmp_path, leaf):
    text, binary, block = leaf
    root = file_node([binary, binary], 7, [3, 3], data=b"x")
    out = serve_and_download(ipfs, kubo, tmp_path, root, {text: block})
    assert open(out, "rb").read() == b"xabcabc"


def test_child_larger_than_its_blocksize_is_rejected(ipfs, kubo, tmp_path, leaf):
    text, binary, block = leaf
    root = file_node([binary], 2, [2])
    with pytest.raises(ipfs.BlockVerificationFailed, match="holds 3 bytes, blocksizes says 2|"
                       "more bytes than its root declares"):
        serve_and_download(ipfs, kubo, tmp_path, root, {text: block})
    assert list(tmp_path.iterdir()) == []


def test_filesize_disagreeing_with_blocksizes_is_rejected(ipfs, kubo, tmp_path, leaf):
    text, binary, block = leaf
    root = file_node([binary], 10, [3])
    with pytest.raises(ipfs.BlockVerificationFailed, match="filesize 10"):
        serve_and_download(ipfs, kubo, tmp_path, root, {text: block})


def test_links_without_blocksizes_are_rejected(ipfs, kubo, tmp_path, leaf):
    text, binary, block = leaf
    root = file_node([binary], None, [])
    with pytest.raises(ipfs.BlockVerificationFailed, match="1 links but 0 blocksizes"):
        serve_and_download(ipfs, kubo, tmp_path, root, {text: block})


def test_understated_sizes_cannot_sneak_past_max_bytes(ipfs, kubo, tmp_path, leaf):
    """The root claims 2 bytes (under max_bytes=2) but its child holds 3: refused."""
    text, binary, block = leaf
    root = file_node([binary], 2, [2])
    with pytest.raises(ipfs.BlockVerificationFailed):
        serve_and_download(ipfs, kubo, tmp_path, root, {text: block}, max_bytes=2)
    assert list(tmp_path.iterdir()) == []


def test_garbage_dag_pb_block_is_rejected(ipfs, kubo, tmp_path):
    with pytest.raises(ipfs.BlockVerificationFailed, match="malformed"):
        serve_and_download(ipfs, kubo, tmp_path, b"\x0a\x05\x08", {})
