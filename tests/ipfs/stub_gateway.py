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

A stub because a real gateway cannot be made to lie; every other part of these tests is real.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubGateway:
    def __init__(self, upstream: str, mode: str = "honest", other_block: bytes = b"",
                 hang_s: float = 30.0, blocks: dict[str, bytes] | None = None):
        self.upstream = upstream
        self.mode = mode
        self.other_block = other_block
        self.hang_s = hang_s
        self.blocks = blocks or {}
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # noqa: N802 (http.server API)
                stub.requests.append(self.path)
                if stub.mode == "hang":
                    time.sleep(stub.hang_s)
                    return
                if stub.mode == "blocks":
                    cid = self.path.split("/ipfs/", 1)[-1].split("?", 1)[0]
                    body = stub.blocks.get(cid)
                    self.send_response(200 if body is not None else 404)
                    self.send_header("Content-Length", str(len(body or b"")))
                    self.end_headers()
                    self.wfile.write(body or b"")
                    return
                req = urllib.request.Request(
                    stub.upstream + self.path,
                    headers={"Accept": self.headers.get("Accept", "")})
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        body = resp.read()
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
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.ipld.raw")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "StubGateway":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
