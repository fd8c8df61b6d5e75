"""`unique-id-format` + `unique-id-header`: each request gets an ID, sent to the server and logged as %ID.

The format is HAProxy's documented example; its hex parts are checked
against the client's address and port as the server saw them.
"""

from __future__ import annotations

import http.client
import re

from tests.scenarios.http.httpkit import wait_log
from tests.scenarios.http.origins import Origin
from tests.support import free_port

CONFIG = r"""
global
    nbproc 2
    log stdout format raw local0
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    unique-id-format %{{+X}}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    unique-id-header X-Unique-ID
    log-format "%ci:%cp %ID %{{+Q}}r"
    default_backend be
backend be
    server app 127.0.0.1:{app}
"""


def test_each_request_gets_an_id_sent_to_the_server_and_logged(lb_factory) -> None:
    origin = Origin("app")
    try:
        port = free_port()
        lb = lb_factory(CONFIG.format(port=port, app=origin.port))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        ids = []
        for path in ("/a", "/b"):
            conn.request("GET", path)
            assert conn.getresponse().read()
            ids.append(origin.seen(path)[0].header("x-unique-id"))
        client_port = conn.sock.getsockname()[1]
        conn.close()
        pattern = rf"7F000001:{client_port:04X}_7F000001:{port:04X}_[0-9A-F]{{8}}_[0-9A-F]{{4,}}:[0-9A-F]{{4,}}"
        assert all(re.fullmatch(pattern, value) for value in ids), ids
        assert ids[0] != ids[1]  # %rt differs per request
        line = wait_log(lb, f"127.0.0.1:{client_port} {ids[1]} ")
        assert line.endswith('"GET /b HTTP/1.1"')
    finally:
        origin.close()
