"""HTTP health checks end to end (`lbctl start`, a tcp backend in front of an http.server).

`option httpchk` with `http-check expect status 200` and `expect string
status:ready` chained: the server is UP while /ready answers 200
"status:ready", DOWN with HAProxy's reason when the body changes, and UP
again when it is ready.  Requests reach the backend with `Connection: close`.
"""

from __future__ import annotations

import re
import urllib.request

from tests.checker.helpers import CHECKS, HttpServer, down_line, lb_config as config, up_line
from tests.support import free_port


def test_httpchk_expect_chain(lb_factory):
    web = HttpServer({"/ready": (200, b"status:ready"), "/": (200, b"hello")})
    port = free_port()
    try:
        lb = lb_factory(config(port, f"""    option httpchk GET /ready HTTP/1.1
    http-check send hdr Host lb.test
    http-check expect status 200
    http-check expect string status:ready
    server web 127.0.0.1:{web.port} {CHECKS}"""))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            assert resp.read() == b"hello"
        checks = [r for r in web.requests if r[1] == "/ready"]
        assert checks and checks[0][0] == "GET" and checks[0][2]["connection"] == "close"
        assert checks[0][2]["host"] == "lb.test"
        web.routes["/ready"] = (200, b"status:draining")
        line = down_line(lb, "web")
        assert re.fullmatch(r'\[WARNING\]  \(\d+\) : Server be/web is DOWN, reason: Layer7 invalid response, '
                            r'info: "HTTP content check did not match", check duration: \d+ms\. 0 active and 0 '
                            r'backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.', line)
        web.routes["/ready"] = (200, b"status:ready")
        assert "reason: Layer7 check passed, code: 200," in up_line(lb, "web")
        web.routes["/ready"] = (503, b"")
        line = down_line(lb, "web", count=2)
        second = [l for l in lb.stderr_lines if l.startswith("[WARNING]") and "be/web is DOWN" in l][1]
        assert 'reason: Layer7 wrong status, code: 503, info: "Service Unavailable"' in second
    finally:
        web.close()
