"""timeout server is server *inactivity*: a slow upload the server keeps reading is not cut.

The client sends its body in pieces over longer than `timeout server`;
every piece lb writes to the server counts as activity, so the request
completes with 200 (HAProxy: the timeout is refreshed by I/O on the
server side in both directions).
"""

from __future__ import annotations

import socket
import time

from tests.scenarios.http.origins import Origin
from tests.support import free_port

CONFIG = """
global
    nbproc 1
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 1s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server app 127.0.0.1:{app}
"""


def test_a_slow_upload_outlives_timeout_server(lb_factory) -> None:
    origin = Origin("app")
    try:
        port = free_port()
        lb_factory(CONFIG.format(port=port, app=origin.port))
        pieces = [b"x" * 1000] * 5
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % sum(map(len, pieces)))
            for piece in pieces:  # 2.5 s in all, more than timeout server
                time.sleep(0.5)
                sock.sendall(piece)
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        assert origin.seen("/upload")[0].body_size == 5000
    finally:
        origin.close()
