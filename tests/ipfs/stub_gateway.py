"""StubGateway: a tiny local trustless gateway for tests, standing in for a lying or dead one.

It forwards ``GET /ipfs/CID?format=raw`` to a real kubo gateway and then, depending on
``mode``, corrupts what it serves:

- ``"honest"``: serve the real block (used to count requests);
- ``"flip"``: flip one bit of the block;
- ``"truncate"``: drop the last byte;
- ``"other"``: serve a different block (``other_block``) with status 200;
- ``"hang"``: never answer within ``hang_s`` seconds;
- ``"blocks"``: serve only the blocks in ``blocks`` (CID text -> bytes), 404 for others:
  a hostile uploader's hand-made DAG.

CAR modes: single blocks (``?format=raw``) are served honestly, only the CAR stream
(``?format=car``) lies:

- ``"car_flip"``: flip one bit in the last byte of the CAR's fourth block;
- ``"car_truncate"``: cut the CAR 10 bytes before its end;
- ``"car_foreign"``: insert ``other_block`` (as a raw CIDv1 section, correctly hashed)
  after the CAR's fourth block: a valid block that is not part of the DAG;
- ``"car_garbage"``: answer a CAR request with ``other_block`` (not a CAR at all);
- ``"car_hang"``: never answer a CAR request within ``hang_s`` seconds.

Plain modes: blocks and CARs are served honestly, only the plain file (``GET /ipfs/CID``
without ``format=``; a ``Range`` header is forwarded, 206 and ``Content-Range`` passed
back) lies:

- ``"plain_flip"``: flip one bit in the middle of the plain body;
- ``"plain_truncate"``: cut the plain body 1000 bytes before its end (Content-Length too);
- ``"plain_foreign"``: serve ``other_block`` repeated to the same length instead;
- ``"plain_404"``: answer 404 to a plain request (a gateway that serves only
  verifiable responses).

``ranges`` records the ``Range`` header of each request ("" when none).

POST requests (the kubo RPC API) are forwarded to ``upstream`` unchanged and counted; give
the RPC URL as ``upstream`` for that.

A stub because a real gateway cannot be made to lie; every other part of these tests is real.
"""

from __future__ import annotations

import hashlib
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # 16 block requests connect at once; the default 5 drops SYNs
    daemon_threads = True


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def car_sections(car: bytes) -> list[tuple[int, int]]:
    """(start, end) of the header and of each section, varint prefixes included."""
    spans = []
    pos = 0
    while pos < len(car):
        length, data = _read_uvarint(car, pos)
        spans.append((pos, data + length))
        pos = data + length
    return spans


def raw_section(block: bytes) -> bytes:
    """A CAR section for `block` under its CIDv1 raw sha2-256 CID."""
    cid = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(block).digest()
    return _uvarint(len(cid) + len(block)) + cid + block


def corrupt_car(car: bytes, mode: str, other_block: bytes) -> bytes:
    spans = car_sections(car)  # [header, block 0, block 1, ...]
    if mode == "car_flip":
        end = spans[4][1]
        return car[:end - 1] + bytes([car[end - 1] ^ 0x01]) + car[end:]
    if mode == "car_truncate":
        return car[:-10]
    if mode == "car_foreign":
        end = spans[4][1]
        return car[:end] + raw_section(other_block) + car[end:]
    if mode == "car_garbage":
        return other_block
    return car


class StubGateway:
    def __init__(self, upstream: str, mode: str = "honest", other_block: bytes = b"",
                 hang_s: float = 30.0, blocks: dict[str, bytes] | None = None):
        self.upstream = upstream
        self.mode = mode
        self.other_block = other_block
        self.hang_s = hang_s
        self.blocks = blocks or {}
        self.requests: list[str] = []
        self.ranges: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # noqa: N802 (http.server API)
                stub.requests.append(self.path)
                stub.ranges.append(self.headers.get("Range", ""))
                is_car = "format=car" in self.path
                is_plain = "format=" not in self.path
                if stub.mode == "hang" or (stub.mode == "car_hang" and is_car):
                    time.sleep(stub.hang_s)
                    return
                if stub.mode == "plain_404" and is_plain:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if stub.mode == "blocks":
                    cid = self.path.split("/ipfs/", 1)[-1].split("?", 1)[0]
                    body = stub.blocks.get(cid)
                    self.send_response(200 if body is not None else 404)
                    self.send_header("Content-Length", str(len(body or b"")))
                    self.end_headers()
                    self.wfile.write(body or b"")
                    return
                forward = {"Accept": self.headers.get("Accept", "")}
                if self.headers.get("Range"):
                    forward["Range"] = self.headers["Range"]
                req = urllib.request.Request(stub.upstream + self.path, headers=forward)
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        body = resp.read()
                        status = resp.status
                        content_range = resp.headers.get("Content-Range")
                except urllib.error.HTTPError as err:
                    self.send_response(err.code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if stub.mode == "flip":
                    body = body[:-1] + bytes([body[-1] ^ 0x01])
                elif stub.mode == "truncate":
                    body = body[:-1]
                elif stub.mode == "other":
                    body = stub.other_block
                elif is_car:
                    body = corrupt_car(body, stub.mode, stub.other_block)
                elif is_plain and stub.mode == "plain_flip":
                    mid = len(body) // 2
                    body = body[:mid] + bytes([body[mid] ^ 0x01]) + body[mid + 1:]
                elif is_plain and stub.mode == "plain_truncate":
                    body = body[:-1000]
                elif is_plain and stub.mode == "plain_foreign":
                    body = (stub.other_block * (len(body) // len(stub.other_block) + 1))[
                        :len(body)]
                self.send_response(status if is_plain else 200)
                if is_plain and content_range:
                    self.send_header("Content-Range", content_range)
                self.send_header("Content-Type", "application/vnd.ipld.car" if is_car
                                 else "application/vnd.ipld.raw")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802 (http.server API): the kubo RPC, forwarded
                stub.requests.append(self.path)
                req = urllib.request.Request(stub.upstream + self.path, data=b"", method="POST")
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        body = resp.read()
                        status = resp.status
                except urllib.error.HTTPError as err:
                    body, status = err.read(), err.code
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "StubGateway":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
