"""A real lb (2 workers) serving the stats page and the exporter, and HAProxy 2.6 on the same config (tests).

`CONFIG` runs unchanged under both, on the same two origin servers.  The
HTTP client is http.client, one connection per request, so that requests
spread over both workers.  `engine_serves_services()` says whether the
engine (workers/, the lead's) runs lb.services yet: until it does, the end
to end tests are skipped.
"""

from __future__ import annotations

import http.client
import importlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tests.runtime_api.lab import text
from tests.scenarios.http.origins import Origin
from tests.support import free_port, wait_until

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CONFIG = """
global
    nbthread 2
    maxconn 1000
    stats socket {dir}/admin.sock mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:{fe}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    default_backend be

backend be
    stick-table type ip size 1k expire 30s
    server a 127.0.0.1:{web1} check inter 300ms
    server b 127.0.0.1:{web2}

listen stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats
    stats refresh 10s
    stats show-legends
    stats admin if {{ src 127.0.0.1 }}

listen locked
    bind 127.0.0.1:{locked}
    stats auth admin:secret
    stats realm Lab\\ stats
"""


def engine_serves_services() -> bool:
    """True once the engine runs the stats page and use-service (the hook the lead wires)."""
    try:
        exchange = importlib.import_module("workers.http.services")
    except ImportError:
        return False
    return hasattr(exchange, "serve_service")


@dataclass
class Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name), None)


def fetch(port: int, target: str, method: str = "GET", body: bytes | None = None,
          headers: dict[str, str] | None = None) -> Reply:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent = dict(headers or {})
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, target, body=body, headers=sent)
        response = conn.getresponse()
        return Reply(response.status, response.reason, response.getheaders(), response.read())
    finally:
        conn.close()


class Setup:
    """One proxy's run of CONFIG (lb or HAProxy): its directory and ports."""

    def __init__(self, directory: Path, origins: list[Origin]) -> None:
        self.dir = directory
        self.origins = origins
        self.ports = {name: free_port() for name in ("fe", "stats", "locked")}

    def config(self) -> str:
        return CONFIG.format(dir=self.dir, web1=self.origins[0].port, web2=self.origins[1].port, **self.ports)

    @property
    def socket(self) -> str:
        return str(self.dir / "admin.sock")

    def cli(self, command: str) -> str:
        return text(self.socket, command)

    def stat(self) -> dict[tuple[str, str], dict[str, str]]:
        lines = self.cli("show stat").splitlines()
        names = lines[0][2:].split(",")
        return {(cells[0], cells[1]): dict(zip(names, cells, strict=False))
                for cells in (line.split(",") for line in lines[1:] if line)}  # fmt: skip

    def settled(self, predicate, what: str):  # type: ignore[no-untyped-def]
        """Workers publish their counters once a second: wait for the numbers to show."""
        return wait_until(lambda: predicate(self.stat()), timeout=10, what=what)


def traffic(port: int, count: int) -> None:
    for _ in range(count):
        assert fetch(port, "/").status == 200


def json_of(reply: Reply) -> list:
    return json.loads(reply.body)


def wait_checked(setup: Setup) -> None:
    wait_until(lambda: "L4OK" in setup.cli("show stat"), timeout=10, what="the first check")
    time.sleep(0)  # (the check result is shared memory: visible to every worker at once)
