"""Client connection handling: keep-alive, httpclose, Expect: 100-continue, HEAD, 204/304, HTTP/1.0, chunking.

One lb with two frontends: `fe` in the default mode (http-keep-alive,
`timeout http-keep-alive 1s`) and `fe_close` with `option httpclose`,
both in front of one recording origin.  Every expectation was checked
against HAProxy 2.6.12 on the same bytes: the connection header lb adds
or not, the interim 100 response, bodies absent from HEAD, 204 and 304
answers, HTTP/1.0 keep-alive negotiation on either side, and a chunked
response re-chunked with its framing intact (two raw servers play an
HTTP/1.0 server and a server sending trailers).  Clients: http.client and raw sockets.
"""

from __future__ import annotations

import http.client
from typing import Iterator

import pytest

from tests.scenarios.http.httpkit import ResponseReader, connect, exchange
from tests.scenarios.http.origins import Origin, RawServer
from tests.support import LbProcess, free_port

CONFIG = """
global
    nbproc 1
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 1s
frontend fe
    bind 127.0.0.1:{port}
    http-request redirect location /moved if {{ path /old }}
    http-request deny if {{ path /forbidden }}
    use_backend be_none if {{ path /unavailable }}
    use_backend be_old if {{ path /old-server }}
    use_backend be_trailers if {{ path /trailers }}
    default_backend be
frontend fe_close
    bind 127.0.0.1:{close_port}
    option httpclose
    default_backend be
backend be
    server s1 127.0.0.1:{origin}
backend be_none
    server s1 127.0.0.1:{origin} disabled
backend be_old
    server old 127.0.0.1:{old}
backend be_trailers
    server trailers 127.0.0.1:{trailers}
"""


def answer_each_request(response: bytes):
    """A raw server that sends `response` to every request head it reads."""

    def serve(conn) -> None:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
            while b"\r\n\r\n" in data:
                _, data = data.split(b"\r\n\r\n", 1)
                conn.sendall(response)

    return serve


class Setup:
    def __init__(self, lb: LbProcess, port: int, close_port: int, origin: Origin) -> None:
        self.lb, self.port, self.close_port, self.origin = lb, port, close_port, origin


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    origin = Origin("o1")
    old = RawServer(answer_each_request(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\n"
                                        b"Connection: keep-alive\r\nX-Spaced: value   \r\n\r\nok"))  # fmt: skip
    trailers = RawServer(answer_each_request(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                             b"2\r\nok\r\n0\r\nX-Checksum: 444bcb3a\r\n\r\n"))  # fmt: skip
    port, close_port = free_port(), free_port()
    lb = LbProcess(tmp_path_factory.mktemp("keepalive"), CONFIG.format(port=port, close_port=close_port,
                   origin=origin.port, old=old.port, trailers=trailers.port))  # fmt: skip
    try:
        lb.start()
        yield Setup(lb, port, close_port, origin)
    finally:
        lb.stop()
        origin.close()
        old.close()
        trailers.close()


def test_keep_alive_serves_many_requests_on_one_connection_each_way(setup: Setup) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", setup.port, timeout=10)
    for index in range(5):
        conn.request("GET", f"/ka/{index}")
        response = conn.getresponse()
        assert response.read() == f"o1 /ka/{index}\n".encode()
        assert response.getheader("Connection") is None
    conn.close()
    seen = setup.origin.seen("/ka/")
    assert len(seen) == 5
    assert len({(s.peer, s.connection) for s in seen}) == 1, "the server connection is kept alive too"
    assert all(s.header("Connection") is None for s in seen)


def test_idle_keep_alive_connection_is_closed_silently(setup: Setup) -> None:
    with connect(setup.port) as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"GET /idle HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        assert reader.next().status == 200
        # timeout http-keep-alive 1s: closed with no 408 (HAProxy answers nothing to an idle connection)
        assert reader.closed(timeout=10)


def test_option_httpclose_closes_after_each_response(setup: Setup) -> None:
    raw = exchange(setup.close_port, b"GET /closing HTTP/1.1\r\nHost: lb.test\r\n\r\n"
                                     b"GET /never HTTP/1.1\r\nHost: lb.test\r\n\r\n")  # fmt: skip
    assert raw.count(b"HTTP/1.1 200 ") == 1 and b"\r\nconnection: close\r\n" in raw
    assert raw.endswith(b"o1 /closing\n")
    assert setup.origin.seen("/closing")[-1].header("Connection") == "close"
    assert not setup.origin.seen("/never")


def test_expect_100_continue(setup: Setup) -> None:
    with connect(setup.port) as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        while b"\r\n\r\n" not in reader.buffer:
            assert reader._fill()
        assert reader.buffer == b"HTTP/1.1 100 Continue\r\n\r\n"  # nothing else before the body is sent
        reader.buffer = b""
        sock.sendall(b"hello world")
        response = reader.next()
    assert (response.status, response.body) == (200, b"hello world")
    assert setup.origin.seen("/echo")[-1].header("Expect") == "100-continue"


def test_head_204_and_304_carry_no_body_and_keep_the_connection(setup: Setup) -> None:
    with connect(setup.port) as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"HEAD /download/100 HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        head = reader.next(head_request=True)
        assert head.header("Content-Length") == "100" and head.raw.endswith(b"\r\n\r\n")
        for status in (204, 304):
            sock.sendall(f"GET /status/{status} HTTP/1.1\r\nHost: lb.test\r\n\r\n".encode())
            response = reader.next()
            assert response.status == status and response.raw.endswith(b"\r\n\r\n")
            assert response.header("Content-Length") is None and response.header("Transfer-Encoding") is None
        sock.sendall(b"GET /after-bodyless HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        assert reader.next().body == b"o1 /after-bodyless\n"
        assert reader.buffer == b"", "a bodyless response was followed by stray bytes"


def test_http10_client(setup: Setup) -> None:
    # no keep-alive asked: answered as HTTP/1.1 with connection: close, then closed
    raw = exchange(setup.port, b"GET /old-client HTTP/1.0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nconnection: close\r\n" in raw
    assert raw.endswith(b"o1 /old-client\n")
    # keep-alive asked: lb says keep-alive and serves the next request on the same connection
    raw = exchange(setup.port, b"GET /ka10/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ka10/2 HTTP/1.0\r\n\r\n")
    first, second = raw.split(b"o1 /ka10/1\n")
    assert b"\r\nconnection: keep-alive\r\n" in first
    assert b"\r\nconnection: close\r\n" in second and second.endswith(b"o1 /ka10/2\n")
    assert setup.origin.seen("/ka10/1")[-1].header("Connection") == "keep-alive"


def test_chunked_response_is_rechunked_intact(setup: Setup) -> None:
    with connect(setup.port) as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"GET /chunked HTTP/1.1\r\nHost: lb.test\r\n\r\nGET /chunked HTTP/1.0\r\n\r\n")
        response = reader.next()
        old_client = reader.next()
    assert response.header("Transfer-Encoding") == "chunked"
    assert response.body == old_client.body == b"first,second part,third\n"
    assert response.raw.lower().endswith(b"\r\n\r\n6\r\nfirst,\r\nc\r\nsecond part,\r\n6\r\nthird\n\r\n0\r\n\r\n")


def test_chunk_sizes_are_upper_case_hex_as_haproxy_writes_them(setup: Setup) -> None:
    with connect(setup.port) as sock:
        sock.sendall(b"GET /chunked HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        response = ResponseReader(sock).next()
    assert b"\r\n\r\n6\r\nfirst,\r\nC\r\nsecond part,\r\n" in response.raw


@pytest.mark.parametrize(("path", "status"), [("/old", 302), ("/forbidden", 403), ("/unavailable", 503)])
def test_local_replies_keep_the_connection_alive(setup: Setup, path: str, status: int) -> None:
    with connect(setup.port) as sock:
        reader = ResponseReader(sock)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: lb.test\r\n\r\n".encode())
        reply = reader.next()
        assert reply.status == status and reply.header("Connection") is None
        sock.sendall(b"GET /after-local HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        assert reader.next().body == b"o1 /after-local\n"


def test_http10_server_behind_an_http11_client(setup: Setup) -> None:
    with connect(setup.port) as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"GET /old-server HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        response = reader.next()
        assert response.raw.startswith(b"HTTP/1.0 200 OK\r\n") and response.body == b"ok"
        sock.sendall(b"GET /after-old HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        assert reader.next().body == b"o1 /after-old\n"  # the client connection stayed open


def test_http10_server_response_is_rewritten_as_haproxy_does(setup: Setup) -> None:
    with connect(setup.port) as sock:
        sock.sendall(b"GET /old-server HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        response = ResponseReader(sock).next()
    assert response.raw == (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=5\r\n"
                            b"x-spaced: value\r\nconnection: keep-alive\r\n\r\nok")  # fmt: skip


def test_response_trailers_are_forwarded(setup: Setup) -> None:
    with connect(setup.port) as sock:
        sock.sendall(b"GET /trailers HTTP/1.1\r\nHost: lb.test\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.endswith(b"\r\n\r\n2\r\nok\r\n0\r\nx-checksum: 444bcb3a\r\n\r\n")
