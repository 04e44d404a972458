"""Verified download from plain byte streams (kubo RPC `cat`, gateway `/ipfs/CID` with byte
ranges): the DAG's internal nodes come as verified blocks, each leaf is hashed as it passes.
Lying streams come from StubGateway's plain_* modes (stub_gateway.py: a stub because a real
gateway cannot be made to lie); every other part is real kubo.

`plain_min_bytes=0` puts these small files on the path a file of 128 MiB or more takes."""

from __future__ import annotations

import pytest

from conftest import CHUNK, pseudo_random_bytes
from stub_gateway import StubGateway

FLAGS = {"default": [], "raw-leaves": ["--raw-leaves"], "cidv1": ["--cid-version=1"],
         "size-1000": ["--chunker=size-1000"], "trickle": ["--trickle"]}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("plain") / "20_chunks_plus_7.bin"
    path.write_bytes(pseudo_random_bytes(20 * CHUNK + 7, seed=71))
    return path


@pytest.fixture(scope="module")
def two_levels(kubo, tmp_path_factory):
    """180 chunks + 5 bytes: a root over two internal nodes (174 leaves and 7 leaves)."""
    path = tmp_path_factory.mktemp("plain2") / "two_levels.bin"
    path.write_bytes(pseudo_random_bytes(180 * CHUNK + 5, seed=72))
    return path, kubo.add(path)


def plain(requests: list[str]) -> list[str]:
    return [r for r in requests if "format=" not in r and "/api/v0/" not in r
            or "/api/v0/cat" in r]


def blocks(requests: list[str]) -> list[str]:
    return [r for r in requests if "format=raw" in r or "block/get" in r]


def client(ipfs, rpc, gw, **kw):
    return ipfs.Client(rpc, gw, plain_min_bytes=0, **kw)


@pytest.mark.parametrize("flags", FLAGS.keys())
def test_gateway_download_is_the_root_block_then_the_plain_file(ipfs, kubo, small, tmp_path,
                                                                flags):
    cid = kubo.add(small, *FLAGS[flags])
    seen = []
    with StubGateway(kubo.gateway_url) as proxy:
        out = client(ipfs, [], [proxy.url]).download(
            cid, tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert open(out, "rb").read() == small.read_bytes()
    size = small.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert plain(proxy.requests) == [f"/ipfs/{cid}"]  # the whole file, one request
    assert blocks(proxy.requests)[0] == f"/ipfs/{cid}?format=raw"
    assert not any("format=car" in r for r in proxy.requests)
    if flags in ("default", "raw-leaves", "cidv1"):  # 21 leaves right under the root
        assert proxy.requests == [f"/ipfs/{cid}?format=raw", f"/ipfs/{cid}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [cid]


@pytest.mark.parametrize("flags", ["default", "cidv1"])
def test_rpc_download_is_the_root_block_then_cat(ipfs, kubo, small, tmp_path, flags):
    cid = kubo.add(small, *FLAGS[flags])
    with StubGateway(kubo.api_url) as proxy:
        out = client(ipfs, [proxy.url], []).download(cid, tmp_path)
    assert open(out, "rb").read() == small.read_bytes()
    assert proxy.requests == [f"/api/v0/block/get?arg={cid}",
                              f"/api/v0/cat?arg={cid}&progress=false"]


def test_two_levels_fetch_internal_nodes_then_stream_byte_ranges(ipfs, kubo, two_levels,
                                                                 tmp_path):
    path, cid = two_levels
    size = path.stat().st_size
    with StubGateway(kubo.gateway_url) as proxy:
        out = client(ipfs, [], [proxy.url], plain_streams=2).download(cid, tmp_path)
    assert open(out, "rb").read() == path.read_bytes()
    assert len(blocks(proxy.requests)) == 3  # the root and its two internal children
    assert plain(proxy.requests) == [f"/ipfs/{cid}"] * 2
    ranges = sorted(r for r in proxy.ranges if r)
    half = 91 * CHUNK  # 185 leaves (the last 5 bytes) split at about half the bytes
    assert ranges == [f"bytes=0-{half - 1}", f"bytes={half}-{size - 1}"]


def test_rpc_streams_byte_ranges_with_cat_offset_and_length(ipfs, kubo, two_levels, tmp_path):
    path, cid = two_levels
    size = path.stat().st_size
    with StubGateway(kubo.api_url) as proxy:
        out = client(ipfs, [proxy.url], [], plain_streams=2).download(cid, tmp_path)
    assert open(out, "rb").read() == path.read_bytes()
    half = 91 * CHUNK
    assert sorted(plain(proxy.requests)) == sorted([
        f"/api/v0/cat?arg={cid}&progress=false&offset=0&length={half}",
        f"/api/v0/cat?arg={cid}&progress=false&offset={half}&length={size - half}"])


@pytest.mark.parametrize("mode", ["plain_flip", "plain_truncate", "plain_foreign"])
def test_lying_stream_is_dropped_and_the_rest_streamed_from_the_next_source(
        ipfs, kubo, small, tmp_path, mode):
    cid = kubo.add(small)
    with StubGateway(kubo.gateway_url, mode, other_block=b"not the file") as stub, \
            StubGateway(kubo.gateway_url) as honest:
        out = client(ipfs, [], [stub.url, honest.url]).download(cid, tmp_path)
    assert open(out, "rb").read() == small.read_bytes()
    assert plain(stub.requests) == [f"/ipfs/{cid}"]  # asked once, then dropped
    rest = [r for r, p in zip(honest.ranges, honest.requests) if p == f"/ipfs/{cid}"]
    assert len(rest) == 1 and rest[0].startswith("bytes=")  # the rest of the file only
    first = int(rest[0][len("bytes="):].split("-")[0])
    assert first % CHUNK == 0 and (mode == "plain_foreign" or first > 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [cid]


@pytest.mark.parametrize("mode", ["plain_flip", "plain_truncate", "plain_foreign"])
def test_lying_stream_as_only_source_ends_block_by_block(ipfs, kubo, small, tmp_path, mode):
    cid = kubo.add(small)
    with StubGateway(kubo.gateway_url, mode, other_block=b"not the file") as stub:
        out = client(ipfs, [], [stub.url]).download(cid, tmp_path)
    assert open(out, "rb").read() == small.read_bytes()
    assert plain(stub.requests) == [f"/ipfs/{cid}"]
    assert len(blocks(stub.requests)) >= 2  # the root, then leaves one by one
    assert not any("format=car" in r for r in stub.requests)


def test_gateway_without_plain_files_falls_back_to_car_streams(ipfs, kubo, small, tmp_path):
    cid = kubo.add(small)
    with StubGateway(kubo.gateway_url, "plain_404") as stub:
        out = client(ipfs, [], [stub.url]).download(cid, tmp_path)
    assert open(out, "rb").read() == small.read_bytes()
    assert stub.requests == [f"/ipfs/{cid}?format=raw", f"/ipfs/{cid}",
                             f"/ipfs/{cid}?format=car&order=dfs"]


def test_over_size_is_refused_before_any_leaf_or_internal_node(ipfs, kubo, two_levels,
                                                                tmp_path):
    path, cid = two_levels
    with StubGateway(kubo.gateway_url) as proxy:
        with pytest.raises(ipfs.TooLarge):
            client(ipfs, [], [proxy.url], max_bytes=path.stat().st_size - 1).download(
                cid, tmp_path)
    assert proxy.requests == [f"/ipfs/{cid}?format=raw"]
    assert list(tmp_path.iterdir()) == []


def test_cancel_during_plain_stream_leaves_nothing(ipfs, kubo, two_levels, tmp_path):
    _, cid = two_levels
    calls = []

    def progress(done, total):
        calls.append(done)
        return len(calls) < 2

    with pytest.raises(ipfs.Cancelled):
        client(ipfs, [kubo.api_url], []).download(cid, tmp_path, progress=progress)
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("durable", [False, True])
def test_durable_or_not_the_file_appears_only_complete(ipfs, kubo, small, tmp_path, durable):
    cid = kubo.add(small)
    out = client(ipfs, [kubo.api_url], [], durable=durable).download(cid, tmp_path)
    assert open(out, "rb").read() == small.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [cid]


def test_plain_streams_must_be_positive(ipfs, kubo):
    with pytest.raises(ipfs.InvalidArgument, match="plain_streams"):
        client(ipfs, [kubo.api_url], [], plain_streams=0)
