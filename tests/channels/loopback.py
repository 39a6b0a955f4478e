"""A real HTTP/1.1 server on 127.0.0.1 for adapter tests: it records what reaches it.

Routes: `/json`, `/text`, `/echo` (the request as JSON), `/status/<code>`,
`/flaky/<n>` (503 for the first n requests, then 200), `/sleep` (answers after 2 s or at
stop), `/big` (declared length over 1 MB), `/big-chunked` (chunked, no length),
`/redirect` (302 to /json), `/deep` (JSON nested too deep to parse).
"""

from __future__ import annotations

import json
import ssl
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BIG = 1024 * 1024 + 1


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Loopback:
    """Serves plain HTTP, or HTTPS with `tls` (recording the SNI names clients send)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Seen] = []
        self.sni: list[str | None] = []
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        if tls is not None:
            tls.sni_callback = lambda _socket, name, _context: self.sni.append(name)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def record(self, seen: Seen) -> int:
        """Record a request; how many requests this path has had, this one included."""
        with self._lock:
            self.requests.append(seen)
            self._counts[seen.path] += 1
            return self._counts[seen.path]


def _handler(server: Loopback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                self.command,
                self.path,
                {name.lower(): value for name, value in self.headers.items()},
                self.rfile.read(length),
            )
            count = server.record(seen)
            try:
                self._route(seen, count)
            except OSError:
                self.close_connection = True  # the client gave up (a timeout test)

        def _route(self, seen: Seen, count: int) -> None:
            path = seen.path
            if path == "/json":
                self._send(200, {"orderId": "o-1", "status": "queued", "lines": [1, 2]})
            elif path == "/text":
                self._send(200, "hello, world", "text/plain; charset=utf-8")
            elif path == "/echo":
                echo = {"method": seen.method, "headers": seen.headers, "body": seen.body.decode()}
                self._send(200, echo)
            elif path.startswith("/status/"):
                self._send(int(path.rsplit("/", 1)[1]), {"error": "as asked"})
            elif path.startswith("/flaky/"):
                failing = int(path.rsplit("/", 1)[1])
                self._send(503 if count <= failing else 200, {"try": count})
            elif path == "/sleep":
                server.released.wait(2)
                self._send(200, {"late": True})
            elif path == "/big":
                self._send(200, "x" * BIG, "text/plain")
            elif path == "/big-chunked":
                self._chunked(b"y" * 65536, BIG // 65536 + 1)
            elif path == "/redirect":
                self._send(302, "", "text/plain", {"Location": "/json"})
            elif path == "/deep":
                self._send(200, "[" * 100_000, "application/json")
            else:
                self._send(404, {"error": "no such route"})

        def _send(
            self,
            status: int,
            body: Any,
            content_type: str = "application/json",
            extra: dict[str, str] | None = None,
        ) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _chunked(self, chunk: bytes, times: int) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(times):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
