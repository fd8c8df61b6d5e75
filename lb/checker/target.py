"""What the checker needs to know about each checked server, resolved once at start (checker).

A CheckTarget joins a server line, its backend's compiled check program
and timeouts, and the shm index of the server (its position in
`Config.all_servers()`).  Host names in `addr` are resolved here, before
the loop starts, so the loop never blocks on DNS.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from lb.checker.model import CheckSettings, ConnectRule, Rule
from lb.checker.program import compile_program
from lb.config.model import Config, Proxy, Server
from lb.config.types import split_host_port


@dataclass
class CheckTarget:
    index: int  # shm server index
    backend: Proxy
    server: Server
    program: list[Rule]
    kind: str | None  # None | "tcp-check" | "httpchk"
    host: str  # default check destination: `addr` or the server address
    port: int  # `port`, port of `addr`, or the server port
    family: int
    proxy_version: int  # PROXY header version on default connects: 0 none, 1, 2
    explicit_proxy_version: int  # version used by `tcp-check connect send-proxy`
    inter: int
    fastinter: int | None
    downinter: int | None
    rise: int
    fall: int
    timeout_connect: int | None
    timeout_check: int | None
    log_health_checks: bool = False
    resolved: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.backend.name}/{self.server.name}"

    def destination(self, rule: ConnectRule) -> tuple[str, int, int]:
        """(host, port, family) a connect rule goes to (HAProxy tcpcheck_eval_connect)."""
        host, family = self.host, self.family
        if rule.addr:
            host, family = self.resolved.get(rule.addr, (rule.addr, self.family))
        port = rule.port or rule.addr_port or self.port
        return host, port, family

    def header_version(self, rule: ConnectRule) -> int:
        if rule.send_proxy:
            return self.explicit_proxy_version
        if rule.default or rule.implicit:
            return self.proxy_version
        return 0


def resolve(host: str) -> tuple[str, int]:
    """A literal address or a host name -> (ip, family); unresolvable names are kept (connect fails)."""
    try:
        info = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0]
        return str(info[4][0]), int(info[0])
    except (socket.gaierror, UnicodeError):
        return host, int(socket.AF_INET)


def build_target(index: int, backend: Proxy, server: Server) -> CheckTarget:
    settings = backend.areas.get("checks") or CheckSettings()
    program = settings.program or compile_program(settings)
    host, port, family = server.host, server.port, server.family
    if server.check_addr:
        addr_host, addr_port = split_host_port(server.check_addr)
        host, family = resolve(addr_host)
        port = int(addr_port) if addr_port else port
    if server.check_port:
        port = server.check_port
    redirected = bool(server.check_addr or server.check_port)
    version = 2 if server.send_proxy == 2 else 1
    default_version = version if (server.check_send_proxy or (server.send_proxy and not redirected)) else 0
    target = CheckTarget(
        index=index, backend=backend, server=server, program=program, kind=settings.kind,
        host=host, port=port, family=family, proxy_version=default_version, explicit_proxy_version=version,
        inter=server.inter, fastinter=server.fastinter, downinter=server.downinter,
        rise=server.rise, fall=server.fall,
        timeout_connect=backend.timeouts.connect, timeout_check=backend.timeouts.check,
        log_health_checks=backend.option("log-health-checks"),
    )
    for rule in program:
        if isinstance(rule, ConnectRule) and rule.addr:
            target.resolved[rule.addr] = resolve(rule.addr)
    return target


def build_targets(config: Config) -> list[CheckTarget]:
    """Every server with `check`, in shm order."""
    return [build_target(index, backend, server)
            for index, (backend, server) in enumerate(config.all_servers()) if server.check]
