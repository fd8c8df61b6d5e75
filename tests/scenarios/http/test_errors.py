"""502, 503 and 504 from lb: HAProxy's exact built-in pages, errorfile overrides, and the log lines.

One lb routes by path to backends whose servers misbehave on purpose
(raw socket servers): closing without an answer, sending garbage or a
truncated head (502), never answering under `timeout server 1s` (504),
all servers `disabled`, health checks failing, a refused connection
(503), and the built-in 503 replaced by `errorfile 503` (the article's
file, etc/errors/503.http).  Each answer is compared byte for byte with
what HAProxy 2.6 sends (haproxy-semantics.md §2, checked against
HAProxy 2.6.12 on the same requests), and each exchange is matched with
its httplog line (termination state as HAProxy logs it).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.scenarios.http.httpkit import ERR_502, ERR_503, ERR_504, ResponseReader, connect, exchange, wait_log
from tests.scenarios.http.origins import Origin, RawServer
from tests.support import REPO, LbProcess, free_port, wait_until

CONFIG = """
global
    nbproc 1
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    use_backend be_close     if {{ path_beg /close }}
    use_backend be_garbage   if {{ path_beg /garbage }}
    use_backend be_half      if {{ path_beg /half }}
    use_backend be_silent    if {{ path_beg /silent }}
    use_backend be_disabled  if {{ path_beg /disabled }}
    use_backend be_down      if {{ path_beg /down }}
    use_backend be_errorfile if {{ path_beg /errorfile }}
    use_backend be_refused   if {{ path_beg /refused }}
    default_backend be_ok
backend be_ok
    server ok 127.0.0.1:{ok}
backend be_close
    server s1 127.0.0.1:{close}
backend be_garbage
    server s1 127.0.0.1:{garbage}
backend be_half
    server s1 127.0.0.1:{half}
backend be_silent
    timeout server 1s
    server s1 127.0.0.1:{silent}
backend be_disabled
    server s1 127.0.0.1:{ok} disabled
    server s2 127.0.0.1:{ok} disabled
backend be_down
    option httpchk GET /health
    server s1 127.0.0.1:{sick} check inter 300ms
backend be_errorfile
    errorfile 503 etc/errors/503.http
    server s1 127.0.0.1:{ok} disabled
backend be_refused
    retries 1
    server s1 127.0.0.1:{refused}
"""


def answer_then(action: Callable[[socket.socket], None]) -> Callable[[socket.socket], None]:
    def serve(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        action(conn)

    return serve


def garbage(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    time.sleep(0.2)


def silent(conn: socket.socket) -> None:
    time.sleep(5)


def half_head(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-")


class Lab:
    def __init__(self, directory: Path) -> None:
        self.ok = Origin("ok")
        self.sick = Origin("sick")
        self.sick.health_status = 500
        self.raw = {"close": RawServer(answer_then(lambda conn: None)), "garbage": RawServer(answer_then(garbage)),
                    "half": RawServer(answer_then(half_head)), "silent": RawServer(answer_then(silent))}  # fmt: skip
        self.port = free_port()
        ports = {name: server.port for name, server in self.raw.items()}
        self.lb = LbProcess(directory, CONFIG.format(port=self.port, ok=self.ok.port, sick=self.sick.port,
                                                     refused=free_port(), **ports))  # fmt: skip

    def close(self) -> None:
        self.lb.stop()
        self.ok.close()
        self.sick.close()
        for server in self.raw.values():
            server.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    setup = Lab(tmp_path_factory.mktemp("errors"))
    try:
        setup.lb.start()
        yield setup
    finally:
        setup.close()


def get(port: int, path: str, close: bool = True) -> tuple[bytes, int]:
    """Raw answer to `GET path` on a new connection, and the client port (to find the log line)."""
    with connect(port) as sock:
        client_port = sock.getsockname()[1]
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: lb.test\r\n{'Connection: close' if close else ''}\r\n\r\n".encode())
        if not close:
            return ResponseReader(sock).next().raw, client_port
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data, client_port


def closing(page: bytes) -> bytes:
    """A built-in page as sent when the connection closes after it (connection header last)."""
    head, _, body = page.partition(b"\r\n\r\n")
    return head + b"\r\nconnection: close\r\n\r\n" + body


@pytest.mark.parametrize(("path", "term"), [("/close", "SH--"), ("/garbage", "PH--"), ("/half", "SH--")])
def test_502_for_no_invalid_or_truncated_response(lab: Lab, path: str, term: str) -> None:
    raw, client = get(lab.port, path, close=False)
    assert raw == ERR_502
    name = path.strip("/")
    line = wait_log(lab.lb, f"127.0.0.1:{client} ")
    assert f" fe be_{name}/s1 0/0/" in line and f"/-1/" in line
    assert f" 502 209 - - {term} " in line and line.endswith(f'"GET {path} HTTP/1.1"')


def test_504_when_the_server_does_not_answer_within_timeout_server(lab: Lab) -> None:
    raw, client = get(lab.port, "/silent", close=False)
    assert raw == ERR_504
    line = wait_log(lab.lb, f"127.0.0.1:{client} ")
    assert " fe be_silent/s1 " in line and " 504 198 - - sH-- " in line


def test_503_when_every_server_is_disabled(lab: Lab) -> None:
    raw, client = get(lab.port, "/disabled")
    assert raw == closing(ERR_503)
    line = wait_log(lab.lb, f"127.0.0.1:{client} ")
    assert " fe be_disabled/<NOSRV> 0/-1/-1/-1/" in line and " 503 217 - - SC-- " in line


def test_503_once_health_checks_take_the_server_down(lab: Lab) -> None:
    wait_until(lambda: "Server be_down/s1 is DOWN" in lab.lb.stderr_text(), 10, what="be_down/s1 DOWN")
    raw, client = get(lab.port, "/down/x")
    assert raw == closing(ERR_503)
    assert not lab.sick.seen("/down")
    wait_log(lab.lb, f"127.0.0.1:{client} ", " fe be_down/<NOSRV> ", " 503 ", " SC-- ")


def test_503_when_the_connection_is_refused(lab: Lab) -> None:
    raw, client = get(lab.port, "/refused")
    assert raw == closing(ERR_503)
    line = wait_log(lab.lb, f"127.0.0.1:{client} ")
    assert " 0/0/-1/-1/" in line and " 503 217 - - SC-- " in line and " 1/1/0/0/1 0/0 " in line  # one retry


def test_a_refused_connection_is_logged_with_the_server_tried(lab: Lab) -> None:
    _, client = get(lab.port, "/refused")
    line = wait_log(lab.lb, f"127.0.0.1:{client} ")
    assert " fe be_refused/s1 0/0/-1/-1/" in line


def test_errorfile_503_replaces_the_builtin_page(lab: Lab) -> None:
    text = (REPO / "etc" / "errors" / "503.http").read_bytes()
    file_head, _, file_body = text.partition(b"\r\n\r\n")
    raw, client = get(lab.port, "/errorfile")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert body == file_body
    lines = head.split(b"\r\n")
    assert lines[0] == file_head.split(b"\r\n")[0] == b"HTTP/1.1 503 Service Unavailable"
    # the file's headers, names lower-cased as HAProxy (HTX) emits them; the connection header is lb's own
    file_headers = [line.split(b":", 1) for line in file_head.split(b"\r\n")[1:]]
    expected = [(n.lower(), v.strip()) for n, v in file_headers if n.lower() != b"connection"]
    got = [tuple(part.strip() for part in line.split(b":", 1)) for line in lines[1:]]
    assert got[:-1] == expected and got[-1] == (b"connection", b"close")
    wait_log(lab.lb, f"127.0.0.1:{client} ", " fe be_errorfile/<NOSRV> ", " 503 ", " SC-- ")


def test_the_client_connection_survives_a_502(lab: Lab) -> None:
    with connect(lab.port) as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"GET /close HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        assert reader.next().raw == ERR_502
        sock.sendall(b"GET /fine HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        assert reader.next().body == b"ok /fine\n"


def test_head_request_gets_the_error_head_only(lab: Lab) -> None:
    raw = exchange(lab.port, b"HEAD /close HTTP/1.1\r\nHost: lb.test\r\nConnection: close\r\n\r\n")
    assert raw == closing(ERR_502).partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
