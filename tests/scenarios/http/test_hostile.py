"""Hostile requests and responses, answered the way HAProxy 2.6 answers them (issue 9).

Found by hostile tests against lb with HAProxy 2.6.12 side by side; each
expectation below was checked on HAProxy 2.6.12 with the same bytes:

- an absolute-form target whose authority differs from Host is a 400; an
  authority equal to Host without case is the host rules see; a default
  port is dropped from the target and Host; without Host the request goes
  on as it is; a repeated identical Host is forwarded once;
- an HTTP/0.9 request (no version) is a 400;
- a response with a transfer-coding other than chunked, a head larger than
  tune.bufsize - tune.maxrewrite (even 64 MB of it: the worker's memory
  stays bounded) or more than tune.http.maxhdr fields is a 502 logged PH;
  Transfer-Encoding with Content-Length loses the length;
- a request pipelined behind an Upgrade the server declines is served.
"""

from __future__ import annotations

import socket
from typing import Iterator

import pytest

from tests.scenarios.http.httpkit import ERR_400, ERR_502, ResponseReader, connect, exchange, wait_log
from tests.scenarios.http.origins import Origin, RawServer
from tests.support import LbProcess, free_port

CONFIG = """
global
    nbproc 1
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    acl admin hdr(host) -i admin.example
    http-request return status 200 content-type text/plain lf-string "admin %[req.hdr(host)]\\n" if admin
    use_backend be_raw if {{ path_beg /raw }}
    default_backend be_origin
backend be_origin
    server o1 127.0.0.1:{origin}
backend be_raw
    server r1 127.0.0.1:{raw}
"""

RESPONSES: dict[str, bytes] = {}  # path -> what the raw server answers


def raw_server(conn: socket.socket) -> None:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            return
        head += chunk
    path = head.split(b" ", 2)[1].decode()
    answer = RESPONSES[path]
    if path == "/raw/huge-head":
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: ")
        filler = b"a" * 65536
        for _ in range(1024):  # 64 MiB of one header value, as long as lb reads
            conn.sendall(filler)
        return
    conn.sendall(answer)
    conn.recv(1)  # wait for lb to close


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LbProcess, int, Origin]]:
    origin = Origin("o1")
    raw = RawServer(raw_server)
    port = free_port()
    lb = LbProcess(tmp_path_factory.mktemp("hostile"), CONFIG.format(port=port, origin=origin.port, raw=raw.port))
    lb.start()
    yield lb, port, origin
    lb.stop()
    raw.close()
    origin.close()


def send(port: int, data: bytes) -> bytes:
    return exchange(port, data)


def one_response(port: int, data: bytes) -> bytes:
    """The raw bytes of the first response (the connection may stay open)."""
    with connect(port) as sock:
        sock.sendall(data)
        return ResponseReader(sock).next().raw


# -- the request target and Host ------------------------------------------------------------


def test_absolute_form_with_another_host_is_refused(setup: tuple[LbProcess, int, Origin]) -> None:
    lb, port, origin = setup
    origin.clear()
    answer = send(port, b"GET http://admin.example/secret HTTP/1.1\r\nHost: public.example\r\n\r\n")
    assert answer == ERR_400
    assert origin.seen() == []
    wait_log(lb, "<BADREQ>", " 400 ")


def test_absolute_form_authority_is_the_host_without_case(setup: tuple[LbProcess, int, Origin]) -> None:
    _lb, port, _origin = setup
    answer = send(port, b"GET http://ADMIN.example/secret HTTP/1.1\r\nHost: admin.example\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"admin admin.example\n")


def test_absolute_form_default_port_is_dropped(setup: tuple[LbProcess, int, Origin]) -> None:
    _lb, port, origin = setup
    origin.clear()
    answer = send(port, b"GET http://public.example:80/x HTTP/1.1\r\nHost: public.example:80\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    seen = origin.seen()[-1]
    assert seen.target == "http://public.example/x" and seen.all("host") == ["public.example"]


def test_absolute_form_without_host_goes_on_as_it_is(setup: tuple[LbProcess, int, Origin]) -> None:
    _lb, port, origin = setup
    origin.clear()
    answer = send(port, b"GET http://admin.example/secret HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert b"o1 http://admin.example/secret" in answer  # no Host: the admin ACL cannot match
    assert origin.seen()[-1].all("host") == []


def test_a_repeated_host_is_forwarded_once_and_a_different_one_refused(setup: tuple[LbProcess, int, Origin]) -> None:
    _lb, port, origin = setup
    origin.clear()
    answer = send(port, b"GET /h HTTP/1.1\r\nHost: a.example\r\nHost: A.example\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert origin.seen("/h")[-1].all("host") == ["a.example"]
    assert send(port, b"GET /h HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n") == ERR_400


def test_http09_request_is_refused(setup: tuple[LbProcess, int, Origin]) -> None:
    _lb, port, origin = setup
    origin.clear()
    assert send(port, b"GET /\r\n\r\n") == ERR_400
    assert origin.seen() == []


# -- responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path, response", [
    ("/raw/te-gzip", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabcdef"),
    ("/raw/te-gzip-chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    ("/raw/many-headers", b"HTTP/1.1 200 OK\r\n" + b"".join(b"X%d: a\r\n" % i for i in range(100))
     + b"Content-Length: 0\r\n\r\n"),
    ("/raw/big-head", b"HTTP/1.1 200 OK\r\nX: " + b"a" * 20000 + b"\r\nContent-Length: 0\r\n\r\n"),
], ids=["te-gzip", "te-gzip-chunked", "101-headers", "20k-header"])  # fmt: skip
def test_responses_haproxy_refuses_get_502_ph(setup: tuple[LbProcess, int, Origin], path: str, response: bytes) -> None:
    lb, port, _origin = setup
    RESPONSES[path] = response
    assert one_response(port, f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()) == ERR_502
    line = wait_log(lb, f"GET {path} ")
    assert " 502 " in line and " PH-- " in line


def test_one_header_less_is_relayed(setup: tuple[LbProcess, int, Origin]) -> None:
    _lb, port, _origin = setup
    RESPONSES["/raw/99-headers"] = (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X%d: a\r\n" % i for i in range(99))
                                    + b"Content-Length: 2\r\n\r\nok")  # fmt: skip
    answer = send(port, b"GET /raw/99-headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nok")


def test_chunked_with_a_length_loses_the_length(setup: tuple[LbProcess, int, Origin]) -> None:
    _lb, port, _origin = setup
    RESPONSES["/raw/te-cl"] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    answer = send(port, b"GET /raw/te-cl HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert answer == b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"


def worker_rss_kb(lb: LbProcess) -> int:
    (pid,) = lb.workers()
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def test_a_64mb_response_head_is_cut_short(setup: tuple[LbProcess, int, Origin]) -> None:
    lb, port, _origin = setup
    RESPONSES["/raw/huge-head"] = b""
    before = worker_rss_kb(lb)
    assert one_response(port, b"GET /raw/huge-head HTTP/1.1\r\nHost: t\r\n\r\n") == ERR_502
    wait_log(lb, "GET /raw/huge-head ", " PH-- ")
    # the worker read at most tune.bufsize plus one read before giving up: far below 64 MB
    assert worker_rss_kb(lb) - before < 16 * 1024


# -- pipelining behind a declined Upgrade ------------------------------------------------------


def test_request_pipelined_behind_a_declined_upgrade_is_served(setup: tuple[LbProcess, int, Origin]) -> None:
    _lb, port, origin = setup
    origin.clear()
    with connect(port) as sock:
        sock.sendall(b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                     b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n")  # fmt: skip
        reader = ResponseReader(sock)
        first, second = reader.next(), reader.next()
    assert first.status == 200 and first.body == b"o1 /ws\n"
    assert second.status == 200 and second.body == b"o1 /after\n"
    assert [seen.path for seen in origin.seen()] == ["/ws", "/after"]

