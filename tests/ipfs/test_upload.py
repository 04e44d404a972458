"""Upload through kubo's /api/v0/add (real kubo), and its failure paths."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request

import pytest

from localfarm import Kubo


def pinned(kubo, cid: str) -> bool:
    req = urllib.request.Request(f"{kubo.api_url}/api/v0/pin/ls?arg={cid}&type=recursive",
                                 method="POST")
    try:
        with urllib.request.urlopen(req) as resp:
            return cid in json.load(resp)["Keys"]
    except urllib.error.HTTPError:
        return False


@pytest.mark.parametrize("version", [0, 1])
def test_upload_file_round_trips_and_pins(ipfs, kubo, sample_files, tmp_path, version):
    path = sample_files["174_chunks_plus_1"]
    client = ipfs.Client([kubo.api_url], [], cid_version=version)
    cid = client.upload(path)
    assert cid == kubo.only_hash(path, f"--cid-version={version}")
    assert pinned(kubo, cid)
    out = client.download(cid, tmp_path)
    assert open(out, "rb").read() == path.read_bytes()


@pytest.mark.parametrize("version", [0, 1])
def test_upload_frames_directory_gives_the_directory_cid(ipfs, kubo, tmp_path, version):
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "frame_0010.png").write_bytes(b"\x89PNG ten" * 50_000)
    (frames / "frame_0009.png").write_bytes(b"\x89PNG nine")
    (frames / "Frame_0001 with space.png").write_bytes(b"")
    (frames / "nested").mkdir()
    (frames / "nested" / "x.exr").write_bytes(b"exr" * 1000)
    cid = ipfs.Client([kubo.api_url], [], cid_version=version).upload(frames)
    assert cid == kubo.only_hash(frames, f"--cid-version={version}")
    assert cid == ipfs.cid_of(frames, version)
    assert pinned(kubo, cid)
    listing = kubo.cli("ls", cid)
    assert "frame_0009.png" in listing and "Frame_0001 with space.png" in listing


def test_dead_first_rpc_url_falls_through_to_the_next(ipfs, kubo, sample_files):
    path = sample_files["one_byte"]
    cid = ipfs.Client(["http://127.0.0.1:9", kubo.api_url], [], timeout_s=2).upload(path)
    assert cid == kubo.only_hash(path)


def test_all_rpc_urls_dead_raises_network_error(ipfs, sample_files):
    with pytest.raises(ipfs.NetworkError):
        ipfs.Client(["http://127.0.0.1:9"], [], timeout_s=2).upload(sample_files["one_byte"])


def test_upload_without_rpc_url_is_invalid(ipfs, kubo, sample_files):
    with pytest.raises(ipfs.InvalidArgument):
        ipfs.Client([], [kubo.gateway_url]).upload(sample_files["one_byte"])


def test_node_with_other_import_settings_gives_cid_mismatch(ipfs, tmp_path, sample_files):
    """A real kubo whose Import.UnixFSChunker differs computes another CID: never submitted."""
    import subprocess
    from localfarm.paths import ipfs_binary
    repo = tmp_path / "repo"
    env = {"IPFS_PATH": str(repo), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(ipfs_binary()), "init", "--profile=test"], env=env, check=True,
                   capture_output=True)
    subprocess.run([str(ipfs_binary()), "config", "Import.UnixFSChunker", "size-1000"],
                   env=env, check=True, capture_output=True)
    with Kubo.start(repo) as odd:
        with pytest.raises(ipfs.CidMismatch, match=ipfs.cid_of(sample_files["chunk_plus_1"])):
            ipfs.Client([odd.api_url], []).upload(sample_files["chunk_plus_1"])


class StubAddApi:
    """A stub RPC API that answers /api/v0/add with HTTP 200, a partial NDJSON body and an
    X-Stream-Error trailer, as kubo does when an add fails mid-stream (a real kubo cannot be
    made to fail that way on demand)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.requests += 1
                conn.settimeout(5)
                data = b""
                try:
                    while b"--\r\n" not in data[-200:]:  # the multipart closing boundary
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                line = b'{"Name":"x","Bytes":1}\n'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\nTrailer: X-Stream-Error\r\n"
                    b"Connection: close\r\n\r\n"
                    + f"{len(line):x}\r\n".encode() + line + b"\r\n0\r\n"
                    b"X-Stream-Error: disk quota exceeded\r\n\r\n")

    def close(self):
        self.sock.close()


def test_stream_error_trailer_is_an_error_and_retried_once(ipfs, sample_files):
    stub = StubAddApi()
    try:
        with pytest.raises(ipfs.MalformedResponse, match="disk quota exceeded"):
            ipfs.Client([stub.url], []).upload(sample_files["one_byte"])
        assert stub.requests == 2
    finally:
        stub.close()
