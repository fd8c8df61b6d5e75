"""Real HTTP servers for the mode http scenario tests (tests only; threads of the test process).

- `Origin`: a threaded HTTP/1.1 server that records every request it
  receives (method, target, headers as sent on the wire, body digest, the
  TCP connection it came on) and answers by path (see `Origin`).
- `RawServer`: a listener that hands each accepted socket to a function,
  for servers that misbehave (garbage, silence, early close) or speak
  WebSocket.
- `PATTERN` and helpers: deterministic bodies of any size and their digests.

lb runs in its own processes (tests.support.LbProcess), so these threads
are real network peers on loopback.
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

# 64 KiB of deterministic bytes; big bodies repeat it.
PATTERN = bytes(range(256)) * 256


def pattern_stream(size: int, piece: int = len(PATTERN)) -> Iterator[bytes]:
    """`size` bytes of PATTERN repeated, in pieces of at most `piece` bytes."""
    sent = 0
    while sent < size:
        chunk = PATTERN[: min(piece, size - sent)]
        sent += len(chunk)
        yield chunk


def pattern_digest(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in pattern_stream(size):
        digest.update(chunk)
    return digest.hexdigest()


# -- origin server --------------------------------------------------------------------


@dataclass
class Seen:
    """One request as the origin received it."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]  # as on the wire, in order
    body_size: int
    body_sha256: str
    body: bytes  # kept when small (<= 1 MiB), else b""
    connection: int  # index of the TCP connection it arrived on (per origin)
    peer: tuple[str, int]

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class Origin:
    """A recording HTTP/1.1 origin.  Paths it answers (anywhere under a prefix, so
    that ACLs can route /api/upload or /one/delay/100 to it):

    .../download/N   N bytes of PATTERN with Content-Length (streamed)
    .../upload       reads the body, answers its size and sha256
    .../echo         answers the request body
    .../chunked      a chunked response of three chunks
    .../status/N     status N (204/304 without body)
    .../delay/MS     waits MS milliseconds, then the default answer
    .../health       200 "ok" (and not recorded unless record_health)
    anything else    200, body "<name> <target>\\n"
    Every answer carries `X-Server: <name>`.  `health_status` changes what
    /health... answers (for checks going down)."""

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0, record_health: bool = False) -> None:
        self.name = name
        self.requests: list[Seen] = []
        self.health_checks: list[Seen] = []
        self.health_status = 200
        self.record_health = record_health
        self.connections = 0
        self._lock = threading.Lock()
        self.server = _Server((host, port), self._handler())
        self.host, self.port = self.server.server_address[:2]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def seen(self, path_prefix: str = "") -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.target.startswith(path_prefix)]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def _record(self, seen: Seen) -> None:
        with self._lock:
            if seen.path.endswith("/health") and not self.record_health:
                self.health_checks.append(seen)
            else:
                self.requests.append(seen)

    def _new_connection(self) -> int:
        with self._lock:
            self.connections += 1
            return self.connections

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        origin = self

        class Handler(_OriginHandler):
            pass

        Handler.origin = origin
        return Handler


class _OriginHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    origin: Origin

    def setup(self) -> None:
        super().setup()
        self.connection_index = self.origin._new_connection()

    def log_message(self, *args: object) -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout):
            self.close_connection = True

    def __getattr__(self, name: str):  # do_GET, do_POST, ... all go to serve()
        if name.startswith("do_"):
            return self.serve
        raise AttributeError(name)

    def read_body(self) -> tuple[int, str, bytes]:
        digest, size, kept = hashlib.sha256(), 0, []
        for piece in self._body_pieces():
            digest.update(piece)
            size += len(piece)
            if size <= 1 << 20:
                kept.append(piece)
        return size, digest.hexdigest(), b"".join(kept) if size <= 1 << 20 else b""

    def _body_pieces(self) -> Iterator[bytes]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                yield self.rfile.read(size)
                self.rfile.readline(16)
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            piece = self.rfile.read(min(length, 1 << 16))
            if not piece:
                return
            length -= len(piece)
            yield piece

    def serve(self) -> None:
        size, digest, body = self.read_body()
        seen = Seen(self.command, self.path, self.request_version, list(self.headers.items()), size, digest, body,
                    self.connection_index, self.client_address)  # fmt: skip
        self.origin._record(seen)
        self.respond(seen)

    def respond(self, seen: Seen) -> None:
        path = seen.path
        if path.endswith("/health"):
            status = self.origin.health_status
            self.answer(status, b"ok\n" if status == 200 else b"down\n")
        elif "/download/" in path:
            size = int(path.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("X-Server", self.origin.name)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command != "HEAD":
                for chunk in pattern_stream(size):
                    self.wfile.write(chunk)
        elif path.endswith("/upload"):
            self.answer(200, f"{seen.body_size} {seen.body_sha256}\n".encode())
        elif path.endswith("/echo"):
            self.answer(200, seen.body)
        elif path.endswith("/chunked"):
            self.send_response(200)
            self.send_header("X-Server", self.origin.name)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                for part in (b"first,", b"second part,", b"third\n"):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
        elif "/status/" in path:
            self.answer(int(path.rsplit("/", 1)[1]), b"status body\n")
        else:
            if "/delay/" in path:
                time.sleep(int(path.rsplit("/", 1)[1]) / 1000)
            self.answer(200, f"{self.origin.name} {seen.target}\n".encode())

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("X-Server", self.origin.name)
        if status in (204, 304):
            self.end_headers()
            return
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# -- raw servers -----------------------------------------------------------------------


class RawServer:
    """Accepts connections and runs `serve(conn)` for each in a thread, then closes it."""

    def __init__(self, serve: Callable[[socket.socket], None], host: str = "127.0.0.1") -> None:
        self.serve = serve
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.received: list[bytes] = []  # first bytes read by `read_head`, per connection
        self.conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            self.serve(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def read_head(self, conn: socket.socket) -> bytes:
        """Read up to the end of a request head (and record it)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        self.received.append(data)
        return data

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        for conn in self.conns:
            try:
                conn.close()
            except OSError:
                pass
