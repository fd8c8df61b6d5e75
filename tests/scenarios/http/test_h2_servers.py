"""HTTP/2 to servers (`server ... proto h2`) for HTTP/1.1 clients (issue 13): a real lb, an `h2` origin.

What the server receives is HAProxy's H1->H2 conversion (pseudo-headers,
Host as :authority, connection fields dropped, the body as DATA); what the
client receives is the server's answer in HTTP/1.1: with its length, or
chunked with the trailers when the server gives none.  Large bodies cross
the flow-control windows both ways, and keep-alive clients' requests share
server connections.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import pytest

from tests.scenarios.http.h2origin import H2Origin
from tests.scenarios.http.httpkit import ResponseReader, connect, exchange, request, wait_log
from tests.scenarios.http.origins import PATTERN, pattern_digest
from tests.support import LbProcess, free_port


class Lab:
    def __init__(self, directory: Path) -> None:
        self.origin = H2Origin()
        self.port = free_port()
        self.lb = LbProcess(directory, f"""
global
    nbproc 1
defaults
    mode http
    log stdout format raw local0
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{self.port}
    default_backend be
backend be
    server h2o 127.0.0.1:{self.origin.port} proto h2
""")  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("h2servers"))
    lab.lb.start()
    yield lab
    lab.lb.stop()
    lab.origin.close()


def dechunk(data: bytes) -> tuple[bytes, bytes]:
    """A chunked body and its trailer section."""
    pieces = []
    while True:
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if not size:
            return b"".join(pieces), data[: data.index(b"\r\n\r\n") + 2] if data != b"\r\n" else b""
        pieces.append(data[:size])
        data = data[size + 2 :]


def test_a_get_as_the_server_receives_it(lab: Lab) -> None:
    response = request(lab.port, "GET", "/hello?x=1", headers={"Connection": "keep-alive", "X-Custom": "v"})
    assert (response.status, response.body, response.header("content-length")) == (200, b"h2o /hello?x=1", "14")
    seen = lab.origin.requests[-1]
    assert seen.headers[:4] == [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"lb.test"),
                                (b":path", b"/hello?x=1")]  # fmt: skip
    names = [name for name, _ in seen.headers]
    assert b"x-custom" in names and b"connection" not in names and b"host" not in names
    assert " fe be/h2o " in wait_log(lab.lb, '"GET /hello?x=1 HTTP/1.1"')


def test_large_bodies_cross_the_windows_both_ways(lab: Lab) -> None:
    download = request(lab.port, "GET", "/big/download/300000")
    assert download.status == 200 and download.header("content-length") == "300000"
    assert hashlib.sha256(download.body).hexdigest() == pattern_digest(300000)
    upload = bytes(range(256)) * 800  # 200 KB: three times the initial window
    head = b"POST /up/echo HTTP/1.1\r\nHost: lb.test\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
    answer = exchange(lab.port, head % len(upload) + upload)
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"\r\ntransfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    body, trailers = dechunk(rest)
    assert body == upload and trailers == b"x-echo-size: 204800\r\n"  # the server's trailers
    assert bytes(lab.origin.requests[-1].body) == upload


def test_an_answer_without_length_ends_with_the_stream(lab: Lab) -> None:
    """Chunked to the client; the empty DATA frame that carries END_STREAM adds nothing,
    and the kept connection serves the next request."""
    with connect(lab.port) as sock:
        reader = ResponseReader(sock)
        for path in ("/n/nolength/3000", "/n/nolength/10", "/k/next"):
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: lb.test\r\n\r\n".encode())
            response = reader.next()
            assert response.status == 200
            if "nolength" in path:
                size = int(path.rsplit("/", 1)[1])
                assert response.header("transfer-encoding") == "chunked"
                assert response.body == PATTERN[:size]
            else:
                assert response.body == f"h2o {path}".encode()


def test_head_and_keep_alive_share_the_server_connection(lab: Lab) -> None:
    before = lab.origin.connections
    with connect(lab.port) as sock:
        reader = ResponseReader(sock)
        for method, path in (("HEAD", "/h/download/5000"), ("GET", "/k/1"), ("GET", "/k/2")):
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: lb.test\r\n\r\n".encode())
            response = reader.next(head_request=method == "HEAD")
            assert response.status == 200
            if method == "HEAD":
                assert response.header("content-length") == "5000" and response.body == b""
            else:
                assert response.body == f"h2o {path}".encode()
    assert lab.origin.connections - before <= 1  # streams of one session


def test_the_next_request_of_a_kept_connection_takes_a_new_stream(lab: Lab) -> None:
    """The response is complete by its length before the server's END_STREAM, which
    comes only after the next request: that request is served on a stream of its own."""
    with connect(lab.port) as sock:
        reader = ResponseReader(sock)
        for path in ("/late-end/1", "/late-end/2", "/k/after"):
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: lb.test\r\n\r\n".encode())
            response = reader.next()
            assert (response.status, response.body) == (200, f"h2o {path}".encode())


def test_after_a_goaway_the_next_requests_take_a_new_connection(lab: Lab) -> None:
    """The server answers, then goes away: the kept client connection's next
    request, with a body, goes on a stream of a new server connection."""
    with connect(lab.port) as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"GET /g/goaway/1 HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        assert reader.next().status == 200
        sock.sendall(b"POST /g/post HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 5\r\n\r\nhello")
        response = reader.next()
        assert (response.status, response.body) == (200, b"h2o /g/post")
    first, second = lab.origin.requests[-2:]
    assert bytes(second.body) == b"hello" and second.connection > first.connection
