"""PROXY protocol headers sent by health checks (checker).

HAProxy (haproxy-semantics.md §8, lab 2.6): a check to a `send-proxy-v2`
server sends the v2 LOCAL command with no address (`... 20 00 0000`); a check
to a `send-proxy` server sends a real v1 line built from the check socket
itself, e.g. `PROXY TCP4 127.0.0.1 127.0.0.1 57362 18200\\r\\n` (source =
the check's local address, destination = the server).
"""

from __future__ import annotations

import socket

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_LOCAL = V2_SIGNATURE + b"\x20\x00\x00\x00"  # version 2, LOCAL, AF_UNSPEC, length 0


def v1_line(local: tuple, peer: tuple, family: int) -> bytes:
    """`PROXY TCP4 <src> <dst> <sport> <dport>\\r\\n` from socket addresses."""
    proto = "TCP6" if family == socket.AF_INET6 else "TCP4"
    return f"PROXY {proto} {local[0]} {peer[0]} {local[1]} {peer[1]}\r\n".encode("ascii")


def check_header(version: int, sock: socket.socket) -> bytes:
    """The header a check sends first on `sock` (connected) for PROXY `version` 1 or 2."""
    if version == 2:
        return V2_LOCAL
    try:
        return v1_line(sock.getsockname(), sock.getpeername(), sock.family)
    except OSError:
        return b"PROXY UNKNOWN\r\n"
