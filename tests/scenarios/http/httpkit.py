"""Client-side helpers for the mode http scenario tests (tests only; run in the test process).

- `read_response` / `ResponseReader`: a strict HTTP/1 response reader that
  keeps the exact bytes, so chunk framing and header spelling can be checked.
- `request`, `exchange`: one request, or raw bytes, on a new connection.
- `ERR_*`: HAProxy 2.6's error pages as it sends them.
- `wait_log`: an httplog line of an lb process.
- `make_certificate`: a self-signed certificate made by the openssl CLI.

The servers (origins, raw servers) are in tests/scenarios/http/origins.py.
"""

from __future__ import annotations

import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.scenarios.http.origins import Origin
from tests.support import LbProcess, free_port, wait_until

# -- client side -------------------------------------------------------------------------


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes  # the exact bytes of this response (head and framed body)
    interim: list[bytes] = field(default_factory=list)  # raw 1xx heads before it

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]


class ResponseReader:
    """Reads HTTP/1 responses one after the other from a socket, keeping raw bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.sock.recv(1 << 20)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def _take_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"closed inside a line: {self.buffer[:200]!r}")
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError(f"closed {size - len(self.buffer)} bytes short")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def next(self, head_request: bool = False) -> Response:
        interim = []
        while True:
            raw_head, version, status, reason, headers = self._head()
            if 100 <= status < 200 and status != 101:
                interim.append(raw_head)
                continue
            break
        names = {n.lower(): v for n, v in headers}
        raw = [raw_head]
        if head_request or status in (204, 304) or status == 101:
            body = b""
        elif "chunked" in names.get("transfer-encoding", "").lower():
            pieces = []
            while True:
                line = self._take_line()
                raw.append(line + b"\r\n")
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    end = self._take_line()
                    raw.append(end + b"\r\n")
                    assert end == b"", f"trailers are not expected here: {end!r}"
                    break
                piece = self._take(size + 2)
                raw.append(piece)
                assert piece.endswith(b"\r\n"), "chunk not followed by CRLF"
                pieces.append(piece[:-2])
            body = b"".join(pieces)
        elif "content-length" in names:
            body = self._take(int(names["content-length"]))
            raw.append(body)
        else:
            while self._fill():
                pass
            body, self.buffer = self.buffer, b""
            raw.append(body)
        return Response(version, status, reason, headers, body, b"".join(raw), interim)

    def _head(self) -> tuple[bytes, str, int, str, list[tuple[str, str]]]:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"closed before a complete response head: {self.buffer[:300]!r}")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = [(n, v.strip()) for n, _, v in (line.partition(":") for line in lines[1:])]
        return head + b"\r\n\r\n", version, int(status), reason, headers

    def closed(self, timeout: float = 5.0) -> bool:
        """True when the peer closes with nothing more to read (within `timeout`)."""
        self.sock.settimeout(timeout)
        try:
            return not self.buffer and not self._fill()
        except (ConnectionResetError, socket.timeout):
            return False


def connect(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


def read_response(sock: socket.socket, head_request: bool = False) -> Response:
    return ResponseReader(sock).next(head_request)


def request(port: int, method: str = "GET", target: str = "/", headers: dict[str, str] | None = None,
            body: bytes = b"", host: str = "127.0.0.1", version: str = "1.1") -> Response:  # fmt: skip
    """One request on a new connection (closed afterwards)."""
    lines = [f"{method} {target} HTTP/{version}", "Host: lb.test"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    with connect(port, host) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return read_response(sock, head_request=method == "HEAD")


def exchange(port: int, data: bytes, host: str = "127.0.0.1", timeout: float = 10.0) -> bytes:
    """Send `data` on a new connection, then read everything until lb closes it."""
    with connect(port, host, timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


# -- lb helpers ------------------------------------------------------------------------------


def builtin_error(status: int, reason: str, text: str, connection: str | None = None) -> bytes:
    """HAProxy's built-in error page as HAProxy 2.6 sends it from a stream (semantics §2):
    header names lower-cased (HTX), the connection header, if any, last."""
    body = f"<html><body><h1>{status} {reason}</h1>\n{text}\n</body></html>\n".encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-length: {len(body)}\r\n"
            "cache-control: no-cache\r\ncontent-type: text/html\r\n")  # fmt: skip
    if connection:
        head += f"connection: {connection}\r\n"
    return head.encode() + b"\r\n" + body


def parser_error(status: int, reason: str, text: str) -> bytes:
    """An error HAProxy 2.6's H1 layer sends itself (bad request, timeout http-request): the raw
    message of src/http.c, header names as written there, connection: close before the type."""
    body = f"<html><body><h1>{status} {reason}</h1>\n{text}\n</body></html>\n".encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-length: {len(body)}\r\nCache-Control: no-cache\r\n"
            "Connection: close\r\nContent-Type: text/html\r\n")  # fmt: skip
    return head.encode() + b"\r\n" + body


ERR_400 = parser_error(400, "Bad request", "Your browser sent an invalid request.")
ERR_408 = parser_error(408, "Request Time-out", "Your browser didn't send a complete request in time.")
ERR_502 = builtin_error(502, "Bad Gateway", "The server returned an invalid or incomplete response.")
ERR_503 = builtin_error(503, "Service Unavailable", "No server is available to handle this request.")
ERR_504 = builtin_error(504, "Gateway Time-out", "The server didn't respond in time.")


def wait_log(lb: LbProcess, *parts: str, timeout: float = 10.0) -> str:
    """The first log line of `lb` (stdout) containing every one of `parts`."""

    def found() -> str | None:
        return next((line for line in list(lb.stdout_lines) if all(p in line for p in parts)), None)

    return wait_until(found, timeout, what=f"a log line with {parts}")


def make_certificate(directory: Path, names: tuple[str, ...] = ("lb.test",),
                     ips: tuple[str, ...] = ("127.0.0.1",)) -> tuple[Path, Path]:  # fmt: skip
    """A self-signed certificate: (PEM with certificate and key for `crt`, certificate alone for clients)."""
    key, cert, pem = directory / "site.key", directory / "site.crt", directory / "site.pem"
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{ip}" for ip in ips])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={san}"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    return pem, cert


@contextmanager
def lb_before_origin(work: Path, config: str) -> Iterator[tuple[LbProcess, int, Origin]]:
    """lb started in front of one Origin ("o1"): `config` is formatted with
    {port} (lb's bind) and {origin}; both are stopped on exit."""
    origin = Origin("o1")
    port = free_port()
    lb = LbProcess(work, config.format(port=port, origin=origin.port))
    try:
        lb.start()
        yield lb, port, origin
    finally:
        lb.stop()
        origin.close()
