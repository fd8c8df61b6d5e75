"""Data-driven HTTP/1 request cases sent through a real lb to a recording server.

Each valid/NNN.http is sent on its own connection to one lb (one worker,
default keep-alive); the server behind it parses what arrives byte for
byte and the request it saw (method, target, version, headers in order
as written on the wire, de-chunked body) must equal valid/NNN.py.  Each
invalid/NNN.http must get the status in invalid/NNN.py and the server
must get nothing.  Expectations were checked against HAProxy 2.6.12 on
the same bytes; a case whose .py sets `xfail` documents a difference
from it (strict: the marker must go once lb is fixed).  See cases.py
for the file format.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Iterator

import pytest

from tests.http.requests.cases import HERE, load
from tests.scenarios.http.httpkit import ResponseReader, connect
from tests.scenarios.http.origins import RawServer
from tests.support import LbProcess, free_port

CONFIG = """
global
    nbproc 1
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{server}
"""


class Recorder:
    """A keep-alive HTTP/1.1 server that records each request exactly as it arrives, and answers 200 "ok"."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.trailers: list[list[bytes]] = []  # trailer lines of each chunked request, kept apart
        self.lock = threading.Lock()
        self.raw = RawServer(self.serve)

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def serve(self, conn: socket.socket) -> None:
        stream = conn.makefile("rb")
        while True:
            line = stream.readline(65536)
            if not line:
                return
            method, target, version = line.rstrip(b"\r\n").decode("latin-1").split(" ")
            headers = []
            while (line := stream.readline(65536)) not in (b"\r\n", b""):
                name, _, value = line.rstrip(b"\r\n").partition(b":")
                headers.append((name.decode("latin-1"), value[1:].decode("latin-1")))
            body, trailers = self.read_body(stream, {n.lower(): v for n, v in headers})
            with self.lock:
                self.trailers.append(trailers)
                self.requests.append({"method": method, "uri": target, "version": version,
                                      "headers": headers, "body": body})  # fmt: skip
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    @staticmethod
    def read_body(stream: Any, headers: dict[str, str]) -> tuple[bytes, list[bytes]]:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, trailers = b"", []
            while size := int(stream.readline(1024).split(b";")[0], 16):
                body += stream.read(size)
                stream.readline(16)
            while (line := stream.readline(65536)) not in (b"\r\n", b""):
                trailers.append(line.rstrip(b"\r\n"))
            return body, trailers
        return stream.read(int(headers.get("content-length", 0))), []


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Recorder]]:
    recorder = Recorder()
    port = free_port()
    lb = LbProcess(tmp_path_factory.mktemp("requests"), CONFIG.format(port=port, server=recorder.raw.port))
    try:
        lb.start()
        yield port, recorder
    finally:
        lb.stop()
        recorder.raw.close()


def cases(kind: str) -> list[Any]:
    return [pytest.param(raw, expected, id=case_id,
                         marks=[pytest.mark.xfail(strict=True, reason=reason)] if reason else [])
            for case_id, raw, expected, reason in load(kind)]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), cases("valid"))
def test_valid_request_reaches_the_server_as_expected(proxy, raw: bytes, expected: dict[str, Any]) -> None:
    port, recorder = proxy
    before = recorder.count()
    with connect(port) as sock:
        sock.sendall(raw)
        response = ResponseReader(sock).next()
    assert (response.status, response.body) == (200, b"ok")
    assert recorder.count() == before + 1, "forwarded exactly once"
    assert recorder.requests[-1] == expected


@pytest.mark.parametrize(("raw", "expected"), cases("invalid"))
def test_invalid_request_is_refused(proxy, raw: bytes, expected: dict[str, Any]) -> None:
    port, recorder = proxy
    before = recorder.count()
    with connect(port) as sock:
        sock.sendall(raw)
        reader = ResponseReader(sock)
        response = reader.next()
        assert reader.closed(), "lb closes after refusing a request"
    assert response.status == expected["status"]
    assert recorder.count() == before, "the server got a refused request"


def test_case_files_come_in_pairs() -> None:
    for kind in ("valid", "invalid"):
        stems = {path.stem for path in (HERE / kind).iterdir() if path.suffix in (".http", ".py")}
        for stem in stems:
            assert (HERE / kind / f"{stem}.http").exists() and (HERE / kind / f"{stem}.py").exists(), stem
        assert len(stems) >= 15


def test_request_trailers_are_forwarded(proxy) -> None:
    port, recorder = proxy
    with connect(port) as sock:
        sock.sendall(b"POST /trailers HTTP/1.1\r\nHost: lb.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"3\r\nabc\r\n0\r\nX-Checksum: 900150983cd24fb0\r\n\r\n")  # fmt: skip
        assert ResponseReader(sock).next().status == 200
    assert recorder.requests[-1]["body"] == b"abc"
    assert recorder.trailers[-1] == [b"x-checksum: 900150983cd24fb0"]
