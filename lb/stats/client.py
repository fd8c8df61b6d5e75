"""A small client of lb's (or HAProxy's) stats socket (cli: lbctl status, server, top).

    from lb.stats.client import query, admin_socket_of, parse_csv
    address = admin_socket_of(config)            # "unix@/run/lb/admin.sock" | "ipv4@127.0.0.1:9999" | None
    text = query(address, "show stat", timeout=5.0)
    rows = parse_csv(text)                       # [{"pxname": "be", "svname": "s1", "status": "UP", ...}]

`query` sends one command (one-shot mode: the server answers and closes)
and returns the answer without the trailing prompt newline.  Failures
raise StatsSocketError (an LbError: `Error: ...` and exit status 1 in
lbctl) with the address and the reason.
"""

from __future__ import annotations

import csv
import io
import socket
import time

from lb.config.model import Config, StatsSocket
from lb.errors import LbError

LEVEL_RANK = {"user": 1, "operator": 2, "admin": 3}
MAX_ANSWER = 64 << 20  # a `show stat` of a huge configuration stays far below


class StatsSocketError(LbError):
    pass


def address_of(sock: StatsSocket) -> str:
    if sock.family == "unix":
        return f"unix@{sock.file}"
    host = f"[{sock.host}]" if sock.family == "ipv6" else sock.host
    return f"{sock.family}@{host}:{sock.port}"


def socket_of(config: Config, level: str = "user") -> str | None:
    """The first stats socket of `config` whose level allows `level` commands."""
    for sock in config.global_.stats_sockets:
        if LEVEL_RANK[sock.level] >= LEVEL_RANK[level]:
            return address_of(sock)
    return None


def admin_socket_of(config: Config) -> str | None:
    """The first stats socket of level admin (the one that may change servers)."""
    return socket_of(config, "admin")


def connect(address: str, timeout: float) -> socket.socket:
    if address.startswith(("ipv4@", "ipv6@")):
        family = socket.AF_INET6 if address.startswith("ipv6@") else socket.AF_INET
        host, _sep, port = address[5:].rpartition(":")
        target: object = (host.strip("[]"), int(port))
    else:
        family, target = socket.AF_UNIX, address.removeprefix("unix@")
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(target)  # type: ignore[arg-type]
    except OSError as exc:
        sock.close()
        reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise StatsSocketError(f"cannot connect to stats socket {address}: {reason}.") from None
    return sock


def query(address: str, command: str, timeout: float = 5.0) -> str:
    """Send `command` and return the answer (without the final prompt newline)."""
    deadline = time.monotonic() + timeout
    sock = connect(address, timeout)
    chunks, size = [], 0
    try:
        sock.sendall(command.encode("latin-1", "replace") + b"\n")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StatsSocketError(f"stats socket {address} did not answer {command!r} within {timeout:g}s.")
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                raise StatsSocketError(f"stats socket {address}: {exc.strerror or exc}.") from None
            if not data:
                break
            chunks.append(data)
            size += len(data)
            if size > MAX_ANSWER:
                raise StatsSocketError(f"stats socket {address}: answer larger than {MAX_ANSWER} bytes.")
    finally:
        sock.close()
    text = b"".join(chunks).decode("latin-1")
    return text[:-1] if text.endswith("\n") else text


def parse_csv(text: str) -> list[dict[str, str]]:
    """`show stat` CSV as dicts keyed by column name (the `-` separator dropped)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        raise StatsSocketError(f"not a show stat answer: {lines[0] if lines else text!r}")
    reader = csv.reader(io.StringIO("\n".join(lines[1:])))
    names = lines[0][2:].rstrip(",").split(",")
    rows = []
    for cells in reader:
        if cells:
            rows.append({name: value for name, value in zip(names, cells, strict=False) if name != "-"})
    return rows
