"""timeout server is server *inactivity*, and a slow client is judged by timeout client.

A client sends its body in pieces over longer than `timeout server`:
every piece lb writes to the server counts as activity, so the request
completes with 200 (HAProxy refreshes the timeout on I/O in both
directions). A client that stops reading a download for longer than
`timeout server` makes lb pause the server (backpressure); that silence
is the client's, so the download resumes intact.
"""

from __future__ import annotations

import hashlib
import socket
import time

from tests.scenarios.http.origins import Origin, pattern_digest
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


def test_a_client_pausing_its_download_is_judged_by_timeout_client(lb_factory) -> None:
    """While the client does not read, lb stops reading the server (backpressure): the
    server's silence then is not a server timeout; the download resumes intact."""
    origin = Origin("app")
    try:
        port = free_port()
        lb_factory(CONFIG.format(port=port, app=origin.port))
        size = 8 << 20
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sock.sendall(b"GET /download/%d HTTP/1.1\r\nHost: t\r\n\r\n" % size)
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(4096)
            time.sleep(2.5)  # longer than timeout server, shorter than timeout client
            body = head.split(b"\r\n\r\n", 1)[1]
            digest = hashlib.sha256(body)
            received = len(body)
            while received < size:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
                received += len(chunk)
        assert received == size
        assert digest.hexdigest() == pattern_digest(size)
    finally:
        origin.close()
