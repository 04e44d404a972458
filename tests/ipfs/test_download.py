"""Verified download from real kubo (RPC API and gateway), and from lying or dead gateways
(StubGateway, see stub_gateway.py)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from stub_gateway import StubGateway


def leaf_block(kubo, root_cid: str) -> bytes:
    """The raw bytes of the first child block of `root_cid` (a real block of another CID)."""
    req = urllib.request.Request(f"{kubo.api_url}/api/v0/dag/get?arg={root_cid}", method="POST")
    with urllib.request.urlopen(req) as resp:
        node = json.load(resp)
    child = node["Links"][0]["Hash"]["/"]
    req = urllib.request.Request(f"{kubo.api_url}/api/v0/block/get?arg={child}", method="POST")
    with urllib.request.urlopen(req) as resp:
        return resp.read()


@pytest.fixture(scope="module")
def added(kubo, sample_files):
    """name -> (path, v0 CID, v1 CID) for files kubo holds."""
    out = {}
    for name in ("empty", "one_byte", "chunk_plus_1", "174_chunks_plus_1"):
        path = sample_files[name]
        out[name] = (path, kubo.add(path), kubo.add(path, "--cid-version=1"))
    return out


@pytest.mark.parametrize("name", ["empty", "one_byte", "chunk_plus_1", "174_chunks_plus_1"])
@pytest.mark.parametrize("version", [0, 1])
def test_download_from_rpc_writes_the_exact_bytes(ipfs, kubo, added, tmp_path, name, version):
    path, v0, v1 = added[name]
    cid = v0 if version == 0 else v1
    seen = []
    client = ipfs.Client([kubo.api_url], [])
    out = client.download(cid, tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert out == str(tmp_path / cid)
    assert (tmp_path / cid).read_bytes() == path.read_bytes()
    size = path.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert sorted(p.name for p in tmp_path.iterdir()) == [cid]  # no temp file left


def test_download_from_gateway_only_with_custom_filename(ipfs, kubo, added, tmp_path):
    path, v0, _ = added["chunk_plus_1"]
    out = ipfs.Client([], [kubo.gateway_url]).download(v0, tmp_path, filename="scene.blend")
    assert out == str(tmp_path / "scene.blend")
    assert (tmp_path / "scene.blend").read_bytes() == path.read_bytes()


@pytest.mark.parametrize("flags", [["--chunker=size-1000"], ["--trickle"],
                                   ["--trickle", "--chunker=size-1000", "--raw-leaves"]])
def test_other_chunkers_and_trickle_layout_download_and_verify(ipfs, kubo, sample_files,
                                                               tmp_path, flags):
    path = sample_files["174_chunks_plus_1"] if "--trickle" in flags and len(flags) == 1 \
        else sample_files["chunk_plus_1"]
    cid = kubo.add(path, *flags)
    assert cid != ipfs.cid_of(path, 0)  # really a different DAG than our importer builds
    out = ipfs.Client([kubo.api_url], []).download(cid, tmp_path)
    assert open(out, "rb").read() == path.read_bytes()


@pytest.mark.parametrize("mode", ["flip", "truncate", "other"])
def test_lying_gateway_is_dropped_and_next_source_used(ipfs, kubo, added, tmp_path, mode):
    path, v0, _ = added["chunk_plus_1"]
    with StubGateway(kubo.gateway_url, mode, other_block=leaf_block(kubo, v0)) as stub:
        out = ipfs.Client([], [stub.url, kubo.gateway_url]).download(v0, tmp_path)
        assert len(stub.requests) == 1  # asked once, then dropped
    assert open(out, "rb").read() == path.read_bytes()


@pytest.mark.parametrize("mode", ["flip", "truncate", "other"])
def test_only_a_lying_gateway_fails_verification_and_leaves_nothing(ipfs, kubo, added,
                                                                     tmp_path, mode):
    _, v0, _ = added["chunk_plus_1"]
    with StubGateway(kubo.gateway_url, mode, other_block=leaf_block(kubo, v0)) as stub:
        with pytest.raises(ipfs.BlockVerificationFailed, match="do not hash"):
            ipfs.Client([], [stub.url]).download(v0, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_over_size_is_refused_before_any_leaf_is_fetched(ipfs, kubo, added, tmp_path):
    path, v0, _ = added["174_chunks_plus_1"]
    size = path.stat().st_size
    with StubGateway(kubo.gateway_url, "honest") as stub:
        with pytest.raises(ipfs.TooLarge, match=str(size)):
            ipfs.Client([], [stub.url], max_bytes=size - 1).download(v0, tmp_path)
        assert len(stub.requests) == 1  # only the root block
    assert list(tmp_path.iterdir()) == []


def test_over_size_raw_root_is_refused(ipfs, kubo, added, tmp_path):
    _, _, v1 = added["one_byte"]
    with pytest.raises(ipfs.TooLarge):
        ipfs.Client([kubo.api_url], [], max_bytes=0).download(v1, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cid_nobody_serves_is_not_found_quickly(ipfs, kubo, tmp_path):
    missing = tmp_path / "never-added"
    missing.write_bytes(b"no node has these bytes " + str(time.time()).encode())
    cid = kubo.only_hash(missing)
    missing.unlink()
    start = time.monotonic()
    with pytest.raises(ipfs.NotFound, match=cid):
        ipfs.Client([kubo.api_url], [kubo.gateway_url], timeout_s=5).download(cid, tmp_path)
    assert time.monotonic() - start < 10
    assert list(tmp_path.iterdir()) == []


def test_hanging_source_times_out_then_next_source_serves(ipfs, kubo, added, tmp_path):
    path, v0, _ = added["one_byte"]
    with StubGateway(kubo.gateway_url, "hang", hang_s=5) as stub:
        start = time.monotonic()
        out = ipfs.Client([], [stub.url, kubo.gateway_url], timeout_s=2).download(v0, tmp_path)
        elapsed = time.monotonic() - start
    assert open(out, "rb").read() == path.read_bytes()
    assert 1.9 < elapsed < 8


def test_unreachable_sources_end_in_not_found(ipfs, tmp_path):
    with pytest.raises(ipfs.NotFound):
        ipfs.Client(["http://127.0.0.1:9"], ["http://127.0.0.1:9"], timeout_s=2).download(
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", tmp_path)


def test_progress_returning_false_cancels_and_leaves_nothing(ipfs, kubo, added, tmp_path):
    _, v0, _ = added["174_chunks_plus_1"]
    calls = []

    def progress(done, total):
        calls.append(done)
        return len(calls) < 3

    with pytest.raises(ipfs.Cancelled):
        ipfs.Client([kubo.api_url], []).download(v0, tmp_path, progress=progress)
    assert len(calls) == 3
    assert list(tmp_path.iterdir()) == []


def test_exception_in_progress_propagates_and_leaves_nothing(ipfs, kubo, added, tmp_path):
    _, v0, _ = added["chunk_plus_1"]

    def progress(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        ipfs.Client([kubo.api_url], []).download(v0, tmp_path, progress=progress)
    assert list(tmp_path.iterdir()) == []


def test_directory_cid_is_refused(ipfs, kubo, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "f").write_bytes(b"x")
    cid = kubo.add(d)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ipfs.InvalidArgument, match="directory"):
        ipfs.Client([kubo.api_url], []).download(cid, out_dir)
    assert list(out_dir.iterdir()) == []


def test_bad_arguments_are_rejected(ipfs, kubo, tmp_path):
    with pytest.raises(ipfs.InvalidArgument):
        ipfs.Client([], [])
    with pytest.raises(ipfs.InvalidArgument):
        ipfs.Client([kubo.api_url], [], cid_version=2)
    client = ipfs.Client([kubo.api_url], [])
    with pytest.raises(ipfs.CidInvalid):
        client.download("not-a-cid", tmp_path)
    with pytest.raises(ipfs.InvalidArgument):
        client.download("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", tmp_path,
                        filename="../escape")
    with pytest.raises(ipfs.IoError):
        client.download("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", tmp_path / "nodir")


def test_download_releases_the_gil(ipfs, kubo, added, tmp_path):
    """Another Python thread keeps running during a 45 MB download without a callback."""
    import threading
    _, v0, _ = added["174_chunks_plus_1"]
    done = threading.Event()
    worker = threading.Thread(
        target=lambda: (ipfs.Client([kubo.api_url], []).download(v0, tmp_path), done.set()))
    ticks = 0
    worker.start()
    while not done.is_set():
        ticks += 1
        done.wait(0.001)
    worker.join()
    assert (tmp_path / v0).stat().st_size == 174 * 262144 + 1
    assert ticks >= 10
