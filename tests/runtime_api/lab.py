"""The runtime API lab: one configuration served by lb and by HAProxy 2.6 (tests, tools).

`CONFIG` runs unchanged under both (tests/runtime_api/test_side_by_side.py
compares their answers); `Lab` starts its backends on loopback.  `cli()`
is a raw client: one command, the answer's exact bytes, the close.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.scenarios.http.origins import Origin
from tests.support import TagServer, free_port

CONFIG = """
global
    nbthread 2
    maxconn 1000
    stats socket {dir}/admin.sock mode 600 level admin
    stats socket {dir}/oper.sock mode 600 level operator
    stats socket {dir}/user.sock mode 600 level user
    stats timeout 10s

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:{fe}
    maxconn 500
    default_backend be

backend be
    balance roundrobin
    cookie SRV insert indirect nocache
    server s1 127.0.0.1:{web1} check inter 300ms weight 10 cookie c1 maxqueue 7
    server s2 127.0.0.1:{web2} weight 5 maxconn 10 cookie c2
    server s3 127.0.0.1:{web3} backup disabled

backend be_static
    balance static-rr
    server st1 127.0.0.1:{web1}

listen tl
    mode tcp
    bind 127.0.0.1:{tl}
    server t1 127.0.0.1:{tcp}
"""

# Commands whose answers must be the same bytes from lb and HAProxy (on the admin socket).
SAME_ANSWERS = [
    "show backend", "get weight be/s1", "get weight be", "get weight", "get weight nope/s1", "get weight be/nope",
    "set weight be/s1", "set weight be/s1 abc", "set weight be/s1 300", "set weight be/s1 -1%",
    "set weight be/s1 10x", "set weight be_static/st1 50", "set server be/s1", "set server be/s1 foo",
    "set server be/s1 state", "set server be/s1 state foo", "set server be/s1 health foo",
    "set server be/s1 agent up", "set server be", "set server", "disable server be", "disable server nope/s1",
    "disable server be/nope", "enable agent be/s1", "enable health be/s2", "disable frontend nope",
    "disable frontend be", "disable frontend", "enable frontend fe", "set maxconn server be/s2",
    "set maxconn server be/s2 abc", "set maxconn server be/s2 5x", "set maxconn frontend fe",
    "set maxconn frontend nope 1", "set maxconn frontend fe -1", "set maxconn global", "set maxconn global 999999",
    "set maxconn", "set maxconn foo", "shutdown sessions", "shutdown sessions server be", "shutdown session",
    "shutdown session zz", "show env NOPE_NOT_SET", "show servers state nope", "show stat nope -1 -1",
    "show stat 99 -1 -1", "show stat 99 -1 -1 json", "show stat domain foo", "clear counters foo",
    "set timeout", "set timeout cli", "set timeout cli 0", "set timeout cli abc", "set timeout foo 1",
    "show cli level", "quit", "show errors nope",
]  # fmt: skip

# The same commands on a socket of level user: Permission denied or their answer.
USER_LEVEL = [
    "disable server be/s1", "enable server be/s1", "set server be/s1 state drain", "set weight be/s1 3",
    "set maxconn server be/s2 3", "set maxconn frontend fe 3", "set maxconn global 3", "disable frontend fe",
    "shutdown sessions server be/s1", "disable health be/s1", "clear counters", "clear counters all",
    "show env", "show errors", "show sess", "get weight be/s1", "show cli level", "operator",
]  # fmt: skip
OPERATOR_LEVEL = ["clear counters", "clear counters all", "set weight be/s1 3", "disable server be/s1",
                  "show cli level", "user"]  # fmt: skip


class Backends:
    """The servers of CONFIG (the third one is never started: it is `disabled`)."""

    def __init__(self) -> None:
        self.web = [Origin("web1"), Origin("web2")]
        self.web3_port = free_port()
        self.tcp = TagServer("tcp")

    def close(self) -> None:
        for origin in self.web:
            origin.close()
        self.tcp.close()


class Lab:
    """One proxy's run of CONFIG: its socket directory and its listening ports."""

    def __init__(self, directory: Path, backends: Backends) -> None:
        self.dir = directory
        self.backends = backends
        self.ports = {"fe": free_port(), "tl": free_port()}

    def config(self) -> str:
        web = self.backends.web
        return CONFIG.format(dir=self.dir, fe=self.ports["fe"], tl=self.ports["tl"], web1=web[0].port,
                             web2=web[1].port, web3=self.backends.web3_port, tcp=self.backends.tcp.port)  # fmt: skip

    def socket(self, level: str = "admin") -> str:
        return str(self.dir / {"admin": "admin.sock", "operator": "oper.sock", "user": "user.sock"}[level])


def cli(path: str, command: str | bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes (a command plus newline) and read until the server closes."""
    data = command if isinstance(command, bytes) else command.encode() + b"\n"
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(data)
        chunks = []
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    raise AssertionError(f"{path}: no close after {command!r}")


def text(path: str, command: str) -> str:
    """The answer of a command, without the final prompt newline."""
    answer = cli(path, command).decode("latin-1")
    return answer[:-1] if answer.endswith("\n") else answer
