"""An origin that answers what the request target asks for (tests only; threads of the test process).

`CannedOrigin` serves keep-alive HTTP/1.1 on loopback; the query string of
each request describes the response, so one origin covers every header,
status and framing a test needs:

    status=203            the status (default 200; 204/304 have no body)
    h=Name:value          a header field (repeatable; `type` below is the usual one)
    type=text/html        the Content-Type (default text/plain; `type=` for none)
    size=N                body size (default 2400): TEXT repeated
    pattern=1             PATTERN bytes instead (incompressible-ish, for sha256 checks)
    frame=length|chunked|close|http10   how the body is delimited (default length)
    pieces=N              the body goes out in N sends (N chunks when chunked)
    gate=NAME             before piece i > 0, wait until the test calls open_gate(NAME, i);
                          abort_at_gate(NAME, i) closes the connection there instead
    trailer=1             a trailer field `x-check: 1` (chunked)

Every request is recorded (`requests`: target and header fields as
received), so a test can see what the proxy sent, e.g. whether it kept
Accept-Encoding.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from tests.scenarios.http.origins import PATTERN, RawServer

TEXT = b"".join(b"line %04d: the quick brown fox jumps over the lazy dog\n" % i for i in range(1000))
GATE_TIMEOUT = 20.0


def text_body(size: int, source: bytes = TEXT) -> bytes:
    """`size` bytes of `source` repeated."""
    return (source * (size // len(source) + 1))[:size]


@dataclass
class Received:
    method: str
    target: str
    headers: list[tuple[str, str]]

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]


class CannedOrigin:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._gates: dict[tuple[str, int], threading.Event] = {}
        self._aborted: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self.server = RawServer(self._serve)
        self.port = self.server.port

    def close(self) -> None:
        self.server.close()

    def received(self, marker: str) -> list[Received]:
        """The requests whose target contains `marker`."""
        with self._lock:
            return [r for r in self.requests if marker in r.target]

    def gate(self, name: str, index: int) -> threading.Event:
        with self._lock:
            return self._gates.setdefault((name, index), threading.Event())

    def open_gate(self, name: str, index: int) -> None:
        self.gate(name, index).set()

    def abort_at_gate(self, name: str, index: int) -> None:
        with self._lock:
            self._aborted.add((name, index))
        self.gate(name, index).set()

    # -- serving ---------------------------------------------------------------------

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ")[:2]
            headers = [(n, v.strip()) for n, _, v in (line.partition(":") for line in lines[1:])]
            length = sum(int(v) for n, v in headers if n.lower() == "content-length")
            while len(buffer) < length:
                buffer += conn.recv(65536)
            buffer = buffer[length:]
            with self._lock:
                self.requests.append(Received(method, target, headers))
            if not self._respond(conn, method, target):
                return

    def _respond(self, conn: socket.socket, method: str, target: str) -> bool:
        """Send the response the target asks for; False when the connection must close."""
        query = {k: v for k, v in parse_qs(urlsplit(target).query, keep_blank_values=True).items()}
        one = {k: v[-1] for k, v in query.items()}
        status = int(one.get("status", "200"))
        frame = one.get("frame", "length")
        size = int(one.get("size", "2400"))
        body = b"" if status in (204, 304) else text_body(size, PATTERN if one.get("pattern") else TEXT)
        fields = [tuple(h.split(":", 1)) for h in query.get("h", [])]
        content_type = one.get("type", "text/plain")
        if content_type:
            fields.insert(0, ("Content-Type", content_type))
        version = "1.0" if frame == "http10" else "1.1"
        head = [f"HTTP/{version} {status} Canned"] + [f"{n}: {v}" for n, v in fields]
        if frame == "chunked":
            head.append("Transfer-Encoding: chunked")
        elif frame != "close" and status not in (204, 304):
            head.append(f"Content-Length: {len(body)}")
        if frame == "close":
            head.append("Connection: close")
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if method != "HEAD":
            self._send_body(conn, body, frame, int(one.get("pieces", "1")), one.get("gate"), bool(one.get("trailer")))
        return frame not in ("close", "http10")

    def _send_body(self, conn: socket.socket, body: bytes, frame: str, pieces: int, gate: str | None,
                   trailer: bool) -> None:  # fmt: skip
        step = max(1, -(-len(body) // pieces)) if body else 1
        for index, start in enumerate(range(0, len(body), step)):
            if gate is not None and index > 0 and (not self.gate(gate, index).wait(GATE_TIMEOUT)
                                                   or (gate, index) in self._aborted):  # fmt: skip
                conn.shutdown(socket.SHUT_RDWR)  # the connection closes mid-body
                return
            piece = body[start : start + step]
            conn.sendall(b"%X\r\n%s\r\n" % (len(piece), piece) if frame == "chunked" else piece)
        if frame == "chunked":
            conn.sendall(b"0\r\n" + (b"x-check: 1\r\n" if trailer else b"") + b"\r\n")
