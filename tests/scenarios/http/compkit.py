"""Client side and shared setup of the compression scenario tests (tests only; run in the test process).

- `CONFIG`: the proxies both lb and HAProxy 2.6 run in these tests;
- `fetch`: one request on a new connection, the response read strictly
  (chunk framing, trailers) with its raw bytes;
- `decoded`: the body once its Content-Encoding is undone;
- `target`: a CannedOrigin target (tests/scenarios/http/canned.py);
- `HAProxy`: haproxy -db on a config, its log lines from stdout.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from tests.logs.e2e_support import HAPROXY, listening
from tests.support import wait_until

CONFIG = """global
    log stdout format raw local0
{global_extra}
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 20s
    timeout server 20s
frontend fe
    bind 127.0.0.1:{port}
    compression algo gzip deflate
    compression type text/plain text/html application/json
    use_backend be_offload if {{ path_beg /offload }}
    use_backend be_identity if {{ path_beg /identity }}
    use_backend be_raw if {{ path_beg /raw }}
    use_backend be_rules if {{ path_beg /rules }}
    default_backend be
frontend fe_plain
    bind 127.0.0.1:{plain_port}
    default_backend be
backend be
    server s1 127.0.0.1:{origin}
backend be_offload
    compression offload
    server s1 127.0.0.1:{origin}
backend be_identity
    compression algo identity
    server s1 127.0.0.1:{origin}
backend be_raw
    compression algo raw-deflate
    compression type text/
    server s1 127.0.0.1:{origin}
backend be_rules
    http-response set-header X-Rules yes
    http-response set-header ETag '"from-rule"' if {{ res.hdr(x-etag-rule) -m found }}
    server s1 127.0.0.1:{origin}
"""
WBITS = {"gzip": 16 + 15, "deflate": 15}


def target(path: str = "/canned", headers: tuple[str, ...] = (), **params: object) -> str:
    """`path?k=v&h=Name:value...`, each part URL-encoded."""
    parts = [f"{k}={quote(str(v), safe='')}" for k, v in params.items()]
    parts += [f"h={quote(h, safe='')}" for h in headers]
    return path + ("?" + "&".join(parts) if parts else "")


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # without the chunk framing
    raw: bytes
    chunks: list[bytes] = field(default_factory=list)
    trailers: list[bytes] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def fields(self) -> list[tuple[str, str]]:
        """The header fields except the date (for comparing two proxies)."""
        return [(n, v) for n, v in self.headers if n.lower() != "date"]


def read_reply(stream: BinaryIO, head_only: bool = False) -> Reply:
    """Read one response from a buffered socket file."""
    raw = [stream.readline()]
    status = int(raw[0].split(b" ")[1])
    headers = []
    while True:
        line = stream.readline()
        raw.append(line)
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name, value.strip()))
    reply = Reply(status, headers, b"", b"")
    names = {n.lower(): v for n, v in headers}
    if head_only or status in (204, 304):
        pass
    elif "chunked" in names.get("transfer-encoding", ""):
        while True:
            size_line = stream.readline()
            raw.append(size_line)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            chunk = stream.read(size + 2)
            raw.append(chunk)
            reply.chunks.append(chunk[:-2])
        while (line := stream.readline()) not in (b"\r\n", b""):
            reply.trailers.append(line.rstrip(b"\r\n"))
            raw.append(line)
        raw.append(line)
        reply.body = b"".join(reply.chunks)
    elif "content-length" in names:
        reply.body = stream.read(int(names["content-length"]))
        raw.append(reply.body)
    else:
        reply.body = stream.read()
        raw.append(reply.body)
    reply.raw = b"".join(raw)
    return reply


def fetch(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET",
          version: str = "1.1") -> Reply:  # fmt: skip
    """One request on a new connection."""
    lines = [f"{method} {path} HTTP/{version}", "Host: lb.test", "Connection: close"]
    lines += [f"{n}: {v}" for n, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        with sock.makefile("rb") as stream:
            return read_reply(stream, head_only=method == "HEAD")


def decoded(reply: Reply, raw_deflate: bool = False) -> bytes:
    """The body with its Content-Encoding undone (gzip, deflate: zlib or raw)."""
    encoding = reply.header("content-encoding")
    if encoding not in WBITS:  # none, or the server's own (passed as it is)
        return reply.body
    if encoding == "deflate" and raw_deflate:
        return zlib.decompress(reply.body, -15)
    return zlib.decompress(reply.body, WBITS[encoding])


class HAProxy:
    """`haproxy -db -f <config>`: log lines from its stdout."""

    def __init__(self, directory: Path, config: str, ports: tuple[int, ...]) -> None:
        path = directory / "haproxy.cfg"
        path.write_text(config)
        self.lines: list[str] = []
        self.proc = subprocess.Popen([HAPROXY or "haproxy", "-db", "-f", str(path)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: all(listening(p) for p in ports), 10, what="haproxy listening")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            self.lines.append(raw.decode("latin-1").rstrip("\n"))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def log_line(lines: list[str], marker: str, timeout: float = 10.0) -> str:
    """The log line of the request whose target holds `marker`."""
    return wait_until(lambda: next((line for line in list(lines) if marker in line), None), timeout,
                      what=f"a log line with {marker}")  # fmt: skip
