"""A minimal client of HAProxy's runtime API, the stats socket (cli).

Non-interactive use, as `socat` does it: connect, send one command line,
read the answer until the server closes.  Addresses are written as in a
`stats socket` line: a path (`/run/lb/admin.sock`, `unix@/run/...`), or
`ipv4@127.0.0.1:9999` / `ipv6@[::1]:9999`.

Stand-in until the stats-socket work (issue 10) lands its own client module;
the two are to be merged then.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

from lb.config.types import split_host_port
from lb.errors import EXIT_NOT_RUNNING, LbError, os_failure

TIMEOUT = 5.0  # seconds for one command, connect to close
MAX_ANSWER = 64 << 20  # a `show stat` of thousands of servers is a few MB


def parse_address(text: str) -> tuple[int, Any]:
    """(family, sockaddr) of a `stats socket` address; ValueError if malformed."""
    for prefix, family in (("ipv4@", socket.AF_INET), ("ipv6@", socket.AF_INET6)):
        if text.startswith(prefix):
            host, port = split_host_port(text[len(prefix):])
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"invalid stats socket address '{text}' (expects {prefix}ADDR:PORT)")
            return family, (host or "127.0.0.1", int(port))
    path = text[5:] if text.startswith("unix@") else text
    if not path:
        raise ValueError("empty stats socket path")
    return socket.AF_UNIX, path


def query(address: str, command: str, timeout: float = TIMEOUT) -> str:
    """Send `command`, return the whole answer.  LbError when the socket cannot
    be reached: exit 7 (nothing listens), 4 (permission), 1 otherwise."""
    family, sockaddr = parse_address(address)
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            sock.sendall(command.encode() + b"\n")
            return b"".join(receive_all(sock)).decode("utf-8", "replace")
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        error = os_failure(exc, f"cannot connect to the stats socket {address} (is lb running?)")
        error.exit_status = EXIT_NOT_RUNNING
        raise error from None
    except OSError as exc:
        raise os_failure(exc, f"stats socket {address}") from None


def receive_all(sock: socket.socket) -> Iterable[bytes]:
    size = 0
    while chunk := sock.recv(65536):
        size += len(chunk)
        if size > MAX_ANSWER:
            raise LbError(f"the answer of the stats socket exceeds {MAX_ANSWER >> 20} MB")
        yield chunk


def stats_socket_of(paths: list[str]) -> str:
    """The stats socket address of the configuration `paths`: the first at
    level admin (needed to change server states), else the first."""
    import lb.config

    config = lb.config.load(paths)
    if config.alerts:
        from lb.errors import ConfigError

        raise ConfigError(f"the configuration has errors (run lbctl check -f {' -f '.join(paths)})")
    sockets = config.global_.stats_sockets
    if not sockets:
        raise LbError("the configuration has no 'stats socket' line in its global section (or use --socket)")
    chosen = next((s for s in sockets if s.level == "admin"), sockets[0])
    return chosen.path
