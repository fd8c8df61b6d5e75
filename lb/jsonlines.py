"""JSON objects one per line over a non-blocking stream socket: the control channel
between the master and each worker (master and worker).

Both ends read with `read_messages`, queue `encode(message)` and write with `send_some`; a line that
is not a JSON object is skipped, a peer whose line grows past `max_line`
bytes is treated as gone.
"""

from __future__ import annotations

import json
import socket
from typing import Any

GONE = None  # what read_messages returns for the pending bytes once the peer is gone


def read_messages(sock: socket.socket, pending: bytes, max_line: int) -> tuple[list[dict[str, Any]], bytes | None]:
    """The complete messages the socket has now, and the bytes of the line still
    incomplete (GONE: the channel ended, or the line outgrew `max_line`)."""
    try:
        data = sock.recv(65536)
    except (BlockingIOError, InterruptedError):
        return [], pending
    except OSError:
        data = b""
    if not data:
        return [], GONE
    pending += data
    messages = []
    while b"\n" in pending:
        line, pending = pending.split(b"\n", 1)
        message = decode(line)
        if message is not None:
            messages.append(message)
    return messages, (GONE if len(pending) > max_line else pending)


def decode(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def send_some(sock: socket.socket, outbox: bytearray) -> bool:
    """Send what the socket takes of `outbox` and drop it from there; False when the socket failed."""
    try:
        sent = sock.send(outbox) if outbox else 0
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        return False
    del outbox[:sent]
    return True


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"
