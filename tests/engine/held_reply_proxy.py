"""HeldReplyProxy: a STUB for a network fault the real coordinator cannot produce on demand --
a reply that is late. An HTTP/1.1 reverse proxy in front of the real coordinator: every
request is forwarded at once (so the coordinator commits what it commits), and the replies
to requests whose path ends with a chosen suffix (e.g. ``/assign``) are held back until the
test lets them go. That is the window in which an engine stop used to cut a claim off after
the coordinator had committed it (docs/engine.md, "Stopping").

It also stands in for a coordinator *of another implementation* that lets through what ours
refuses: ``rewrite(path, body) -> body`` (None: off) changes each reply body before it goes
on (tests/e2e/test_render_faults.py: a job offered with output format TIFF, which the
reference coordinator refuses at submission)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
                  "te", "trailer", "upgrade", "proxy-connection", "content-encoding"}


class HeldReplyProxy:
    """``HeldReplyProxy(upstream_url)``; ``.url`` is what the engine talks to.

    ``hold(suffix)`` holds back the replies to requests whose path (without the query) ends
    with ``suffix``; ``arrived`` is set once such a reply came back from the coordinator and
    is being held; ``let_go()`` sends the held replies on. ``rewrite``: None, or
    ``f(path, body: bytes) -> bytes`` applied to every reply body (path without the query).
    ``close()`` stops the proxy (it lets any held reply go first)."""

    def __init__(self, upstream_url: str):
        self.upstream = httpx.Client(base_url=upstream_url, timeout=60)
        self.suffix = ""
        self.rewrite = None
        self.arrived = threading.Event()
        self._go = threading.Event()
        self._go.set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # the test's own output stays readable
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in _NOT_FORWARDED}
                try:
                    reply = proxy.upstream.request(self.command, self.path, content=body,
                                                   headers=headers)
                except httpx.TransportError:  # close() while a long-poll was in flight:
                    self.close_connection = True  # its client has gone too
                    return
                path = self.path.split("?", 1)[0]
                if proxy.suffix and path.endswith(proxy.suffix):
                    proxy.arrived.set()
                    proxy._go.wait()
                content = reply.content
                if proxy.rewrite is not None:
                    content = proxy.rewrite(path, content)
                self.send_response(reply.status_code)
                for k, v in reply.headers.items():
                    if k.lower() not in _NOT_FORWARDED:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def hold(self, suffix: str) -> None:
        self.suffix = suffix
        self.arrived.clear()
        self._go.clear()

    def let_go(self) -> None:
        self._go.set()

    def close(self) -> None:
        self.let_go()
        self.server.shutdown()
        self.server.server_close()
        self.upstream.close()
