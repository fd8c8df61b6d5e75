"""A slowloris client gets 408 under `timeout http-request 1s` while other clients are served.

One lb with a single worker (so the slow client and the others share one
event loop) and `timeout http-request 1s`.  The slow client trickles its
request head one byte every 50 ms, which would take several seconds;
lb must answer 408 with HAProxy's built-in page and close, because the
timeout covers the whole head and is not refreshed by each byte.  While
it trickles, other clients run complete requests on the same worker and
get their answers.  The origin never sees the slow request, and the
exchange is logged `cR--` with `<BADREQ>`.  An idle connection that sends
nothing gets the same 408.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Iterator

import pytest

from tests.scenarios.http.httpkit import ERR_408, connect, lb_before_origin, request, wait_log
from tests.scenarios.http.origins import Origin
from tests.support import LbProcess

CONFIG = """
global
    nbproc 1
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 1s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{origin}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LbProcess, int, Origin]]:
    with lb_before_origin(tmp_path_factory.mktemp("slowloris"), CONFIG) as (lb, port, origin):
        yield lb, port, origin


def trickle(sock: socket.socket, data: bytes, pause: float) -> tuple[bytes, int]:
    """Send `data` a byte at a time until lb answers or closes; (answer, bytes sent)."""
    answer, sent = b"", 0
    for byte in data:
        try:
            sock.send(bytes([byte]))
        except OSError:
            break
        sent += 1
        sock.settimeout(pause)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        answer += chunk
        break
    sock.settimeout(10)
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    return answer, sent


def test_slow_client_gets_408_while_others_are_served(setup) -> None:
    lb, port, origin = setup
    head = b"GET /slowloris HTTP/1.1\r\nHost: lb.test\r\nUser-Agent: " + b"s" * 100 + b"\r\n\r\n"
    served: list[bytes] = []
    done = threading.Event()

    def others() -> None:
        while not done.is_set():
            served.append(request(port, target=f"/fast/{len(served)}").body)

    worker = threading.Thread(target=others, daemon=True)
    with connect(port) as sock:
        client_port = sock.getsockname()[1]
        worker.start()
        answer, sent = trickle(sock, head, pause=0.05)
        done.set()
    worker.join(10)
    assert answer == ERR_408
    assert sent < len(head), "lb waited for the whole trickled head"
    assert len(served) >= 3 and all(body.startswith(b"o1 /fast/") for body in served)
    assert not origin.seen("/slowloris")
    line = wait_log(lb, f"127.0.0.1:{client_port} ", "<BADREQ>")  # the port alone: an earlier request may have had it
    assert " fe fe/<NOSRV> -1/-1/-1/-1/" in line and " 408 " in line and " cR-- " in line
    assert line.endswith('"<BADREQ>"')


def test_connection_that_sends_nothing_gets_408(setup) -> None:
    lb, port, origin = setup
    with connect(port) as sock:
        client_port = sock.getsockname()[1]
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer == ERR_408
    wait_log(lb, f"127.0.0.1:{client_port} ", " 408 ", " cR-- ")


def test_a_slow_but_complete_body_is_not_cut_by_http_request(setup) -> None:
    """timeout http-request covers the head only (no option http-buffer-request)."""
    lb, port, origin = setup
    body = b"x" * 30
    with connect(port) as sock:
        sock.sendall(b"POST /slow-body HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 30\r\nConnection: close\r\n\r\n")
        for index in range(0, len(body), 2):
            sock.sendall(body[index:index + 2])
            time.sleep(0.1)  # 1.5 s in all: longer than timeout http-request
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert origin.seen("/slow-body")[-1].body == body


def test_408_is_byte_exact_with_haproxy(setup) -> None:
    lb, port, origin = setup
    with connect(port) as sock:
        client_port = sock.getsockname()[1]
        sock.sendall(b"GET /partial HTTP/1.1\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer == (b"HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\n"
                      b"Connection: close\r\nContent-Type: text/html\r\n\r\n") + ERR_408.partition(b"\r\n\r\n")[2]
    assert " 408 0 - - cR-- " in wait_log(lb, f"127.0.0.1:{client_port} ", " 408 ")
