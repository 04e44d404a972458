"""Verified download through one CAR stream (kubo RPC `dag/export`, gateway `?format=car`),
and its fallback to block-by-block when the stream lies (StubGateway's car_* modes, see
stub_gateway.py: a stub because a real gateway cannot be made to lie)."""

from __future__ import annotations

import time
import urllib.request

import pytest

from conftest import CHUNK, pseudo_random_bytes
from stub_gateway import StubGateway

FLAGS = {"default": [], "size-1000": ["--chunker=size-1000"], "raw-leaves": ["--raw-leaves"],
         "cidv1": ["--cid-version=1"]}


@pytest.fixture(scope="module")
def file_20_chunks(tmp_path_factory):
    path = tmp_path_factory.mktemp("car") / "20_chunks_plus_7.bin"
    path.write_bytes(pseudo_random_bytes(20 * CHUNK + 7, seed=77))
    return path


def car_and_raw(requests: list[str]) -> tuple[list[str], list[str]]:
    car = [r for r in requests if "format=car" in r or "dag/export" in r]
    raw = [r for r in requests if "format=raw" in r or "block/get" in r]
    return car, raw


@pytest.mark.parametrize("flags", FLAGS.keys())
def test_rpc_download_is_the_root_block_then_one_car_stream(ipfs, kubo, file_20_chunks,
                                                            tmp_path, flags):
    cid = kubo.add(file_20_chunks, *FLAGS[flags])
    with StubGateway(kubo.api_url) as proxy:  # counts the RPC calls, forwards them unchanged
        out = ipfs.Client([proxy.url], []).download(cid, tmp_path)
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    assert proxy.requests == [f"/api/v0/block/get?arg={cid}",
                              f"/api/v0/dag/export?arg={cid}&progress=false"]


@pytest.mark.parametrize("flags", FLAGS.keys())
def test_gateway_download_is_the_root_block_then_one_car_stream(ipfs, kubo, file_20_chunks,
                                                                tmp_path, flags):
    cid = kubo.add(file_20_chunks, *FLAGS[flags])
    with StubGateway(kubo.gateway_url) as proxy:
        out = ipfs.Client([], [proxy.url]).download(cid, tmp_path, filename="scene.blend")
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    assert proxy.requests == [f"/ipfs/{cid}?format=raw", f"/ipfs/{cid}?format=car&order=dfs"]


@pytest.mark.parametrize("flags", FLAGS.keys())
def test_car_download_from_real_kubo_rpc_and_gateway(ipfs, kubo, file_20_chunks, tmp_path,
                                                     flags):
    cid = kubo.add(file_20_chunks, *FLAGS[flags])
    seen = []
    out = ipfs.Client([kubo.api_url], []).download(
        cid, tmp_path, filename="rpc.bin", progress=lambda d, t: seen.append((d, t)))
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    size = file_20_chunks.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    out = ipfs.Client([], [kubo.gateway_url]).download(cid, tmp_path, filename="gw.bin")
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gw.bin", "rpc.bin"]


def test_repeated_blocks_missing_from_a_deduplicated_car_still_download(ipfs, kubo, tmp_path):
    """kubo's CAR holds each block once; a file of zeros names one leaf 12 times."""
    path = tmp_path / "zeros.bin"
    path.write_bytes(bytes(12 * CHUNK) + b"tail")
    cid = kubo.add(path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with StubGateway(kubo.api_url) as proxy:
        out = ipfs.Client([proxy.url], []).download(cid, out_dir)
    assert open(out, "rb").read() == path.read_bytes()
    assert len(proxy.requests) == 2  # root + CAR: repeats came from the recent-block cache


@pytest.mark.parametrize("mode", ["car_flip", "car_truncate", "car_foreign"])
def test_lying_car_is_rejected_and_next_source_serves_block_by_block(ipfs, kubo,
                                                                     file_20_chunks, tmp_path,
                                                                     mode):
    cid = kubo.add(file_20_chunks)
    foreign = pseudo_random_bytes(1000, seed=5)
    with StubGateway(kubo.gateway_url, mode, other_block=foreign) as stub, \
            StubGateway(kubo.gateway_url) as honest:
        out = ipfs.Client([], [stub.url, honest.url]).download(cid, tmp_path)
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    assert stub.requests == [f"/ipfs/{cid}?format=raw", f"/ipfs/{cid}?format=car&order=dfs"]
    car, raw = car_and_raw(honest.requests)
    assert car == []  # blocks had come from the stub's CAR: the rest block by block
    assert 1 <= len(raw) <= 20  # the blocks not yet written, nothing twice


@pytest.mark.parametrize("mode", ["car_flip", "car_truncate", "car_foreign"])
def test_lying_car_as_only_source_falls_back_to_its_verified_blocks(ipfs, kubo,
                                                                    file_20_chunks, tmp_path,
                                                                    mode):
    cid = kubo.add(file_20_chunks)
    with StubGateway(kubo.gateway_url, mode, other_block=b"foreign") as stub:
        out = ipfs.Client([], [stub.url]).download(cid, tmp_path)
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    car, raw = car_and_raw(stub.requests)
    assert len(car) == 1 and len(raw) >= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [cid]


def test_stream_failing_before_any_block_goes_to_the_next_source_car(ipfs, kubo,
                                                                     file_20_chunks, tmp_path):
    cid = kubo.add(file_20_chunks)
    with StubGateway(kubo.gateway_url, "car_garbage", other_block=b"<html>nope</html>") as first, \
            StubGateway(kubo.gateway_url) as second:
        out = ipfs.Client([], [first.url, second.url]).download(cid, tmp_path)
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    assert first.requests == [f"/ipfs/{cid}?format=raw", f"/ipfs/{cid}?format=car&order=dfs"]
    assert second.requests == [f"/ipfs/{cid}?format=car&order=dfs"]  # its CAR, no block


def test_stalled_car_stream_times_out_and_falls_back(ipfs, kubo, file_20_chunks, tmp_path):
    cid = kubo.add(file_20_chunks)
    with StubGateway(kubo.gateway_url, "car_hang", hang_s=6) as stub:
        start = time.monotonic()
        # (the timeout bounds each block request too, and a source that fails one is
        # dropped: 3 s, not 1 s, so that one slow block on a loaded machine cannot fail it)
        out = ipfs.Client([], [stub.url], timeout_s=3).download(cid, tmp_path)
        elapsed = time.monotonic() - start
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    car, raw = car_and_raw(stub.requests)
    assert len(car) == 1 and len(raw) == 22  # the root, then its 21 children one by one
    assert 2.9 < elapsed < 12


def test_over_size_is_refused_before_the_car_is_requested(ipfs, kubo, file_20_chunks,
                                                          tmp_path):
    cid = kubo.add(file_20_chunks)
    with StubGateway(kubo.api_url) as proxy:
        with pytest.raises(ipfs.TooLarge):
            ipfs.Client([proxy.url], [], max_bytes=20 * CHUNK).download(cid, tmp_path)
    assert proxy.requests == [f"/api/v0/block/get?arg={cid}"]
    assert list(tmp_path.iterdir()) == []


def test_cancel_during_car_stream_leaves_nothing(ipfs, kubo, file_20_chunks, tmp_path):
    cid = kubo.add(file_20_chunks)
    calls = []

    def progress(done, total):
        calls.append(done)
        return len(calls) < 5

    with pytest.raises(ipfs.Cancelled):
        ipfs.Client([kubo.api_url], []).download(cid, tmp_path, progress=progress)
    assert len(calls) == 5
    assert list(tmp_path.iterdir()) == []


def test_car_false_fetches_block_by_block(ipfs, kubo, file_20_chunks, tmp_path):
    cid = kubo.add(file_20_chunks)
    with StubGateway(kubo.gateway_url) as proxy:
        out = ipfs.Client([], [proxy.url], car=False).download(cid, tmp_path)
    assert open(out, "rb").read() == file_20_chunks.read_bytes()
    car, raw = car_and_raw(proxy.requests)
    assert car == [] and len(raw) == 22  # the root and its 21 leaves


@pytest.fixture(scope="module")
def two_subtrees(kubo, tmp_path_factory):
    """2 x 174 chunks + 1 with raw leaves: the root has two 45.6 MB subtrees and a 1-byte
    leaf."""
    path = tmp_path_factory.mktemp("car2") / "two_subtrees.bin"
    path.write_bytes(pseudo_random_bytes(2 * 174 * CHUNK + 1, seed=9))
    return path, kubo.add(path, "--raw-leaves")


def test_rpc_streams_large_subtrees_as_parallel_cars_one_per_child(ipfs, kubo, two_subtrees,
                                                                   tmp_path):
    path, cid = two_subtrees
    with StubGateway(kubo.api_url) as proxy:
        out = ipfs.Client([proxy.url], []).download(cid, tmp_path)
    assert open(out, "rb").read() == path.read_bytes()
    car, raw = car_and_raw(proxy.requests)
    assert raw == [f"/api/v0/block/get?arg={cid}"]
    assert len(car) == 3 and all(cid not in r for r in car)  # one per child, not the root


def test_gateway_streams_a_large_file_as_parallel_byte_range_cars(ipfs, kubo, two_subtrees,
                                                                  tmp_path):
    path, cid = two_subtrees
    size = path.stat().st_size
    seen = []
    with StubGateway(kubo.gateway_url) as proxy:
        out = ipfs.Client([], [proxy.url]).download(
            cid, tmp_path, progress=lambda d, t: seen.append(d))
    assert open(out, "rb").read() == path.read_bytes()
    assert seen == sorted(seen) and seen[-1] == size
    car, raw = car_and_raw(proxy.requests)
    assert raw == [f"/ipfs/{cid}?format=raw"]
    step = 4 << 20
    want = [f"/ipfs/{cid}?format=car&order=dfs&dag-scope=entity&entity-bytes={a}:"
            f"{min(a + step, size) - 1}" for a in range(0, size, step)]
    assert sorted(car) == sorted(want) and len(want) == 22


def test_lying_range_car_falls_back_block_by_block(ipfs, kubo, two_subtrees, tmp_path):
    path, cid = two_subtrees
    with StubGateway(kubo.gateway_url, "car_flip") as stub, \
            StubGateway(kubo.gateway_url) as honest:
        out = ipfs.Client([], [stub.url, honest.url]).download(cid, tmp_path)
    assert open(out, "rb").read() == path.read_bytes()
    car, raw = car_and_raw(honest.requests)
    assert car == [] and len(raw) >= 1


def test_failure_after_falling_back_names_the_car_failure_too(ipfs, kubo, file_20_chunks,
                                                              tmp_path):
    """A stub that has only the root block and answers the CAR request with that block
    (not a CAR): the CAR is refused, block by block then finds no child either."""
    cid = kubo.add(file_20_chunks)
    root = urllib.request.urlopen(urllib.request.Request(
        f"{kubo.api_url}/api/v0/block/get?arg={cid}", method="POST")).read()
    with StubGateway(kubo.gateway_url, "blocks", blocks={cid: root}) as stub:
        with pytest.raises(ipfs.NotFound, match=r"before that: car gateway .*CAR header is not"):
            ipfs.Client([], [stub.url], timeout_s=2).download(cid, tmp_path)
    assert f"/ipfs/{cid}?format=car&order=dfs" in stub.requests
    assert list(tmp_path.iterdir()) == []
