"""mode http with every server marked down by its checks: clients get HAProxy's 503, or the errorfile."""

from __future__ import annotations

import socket

import pytest

from tests.checker.helpers import CHECKS, HttpServer, down_line
from tests.support import free_port, wait_until

BUILTIN_503 = (b"HTTP/1.1 503 Service Unavailable\r\n", b"<html><body><h1>503 Service Unavailable</h1>\n"
               b"No server is available to handle this request.\n</body></html>\n")


def http_config(port: int, web_port: int, extra: str = "") -> str:
    return f"""
global
    nbproc 2
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
{extra}
    option httpchk GET /health
    server web 127.0.0.1:{web_port} {CHECKS}
"""


def get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        return data


@pytest.mark.parametrize("errorfile", [False, True])
def test_all_servers_down_gives_503(lb_factory, tmp_path, errorfile):
    web = HttpServer({"/health": (200, b"ok"), "/": (200, b"hello")})
    port = free_port()
    page = tmp_path / "503.http"
    page.write_bytes(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nback soon\n")
    try:
        lb = lb_factory(http_config(port, web.port, f"    errorfile 503 {page}" if errorfile else ""))
        assert get(port).endswith(b"hello")
        web.routes["/health"] = (500, b"")
        down_line(lb, "web")
        wait_until(lambda: any("has no server available" in l for l in lb.stderr_lines), 10.0)
        served = [r for r in web.requests if r[1] == "/"]
        answer = get(port)
        if errorfile:
            assert answer.startswith(b"HTTP/1.0 503 Service Unavailable\r\n") and answer.endswith(b"back soon\n")
        else:
            assert answer.startswith(BUILTIN_503[0]) and answer.endswith(BUILTIN_503[1])
        assert [r for r in web.requests if r[1] == "/"] == served  # the request never reached the server
    finally:
        web.close()
