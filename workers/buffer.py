"""OutBuffer: the bytes waiting to be written to one socket (worker).

Every socket the worker writes to has one: the client side of an HTTP
connection, a server connection, each direction of a TCP relay.  A write
goes straight to the socket when nothing is queued and the buffer is not
corked; what the socket does not take is queued and flushed when the loop
says the socket is writable.  While corked (inside one input event) writes
are only queued, so that a response head and its body leave in one system
call when the event ends (`uncork`).

The owner watches `size` for backpressure: a peer that cannot take more
must not be read from (design.md).  `above_high` / the `on_level` callback
tell when the queue crosses HIGH_WATER and drains below it again.  An
owner may append to `chunks` itself while corked (the hot path of a
response: no call per piece); `uncork` then checks the level.

Errors are returned, not raised: `write` and `flush` return False when the
socket failed (the owner ends the stream; the buffer is then useless).
"""

from __future__ import annotations

import socket
import ssl
from typing import Callable

# What a non-blocking read or write raises when it would block (TLS included).
WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
HIGH_WATER = 65536


class OutBuffer:
    __slots__ = ("above_high", "chunks", "corked", "on_level", "size", "sock")

    def __init__(self, sock: socket.socket, on_level: Callable[[bool], None] | None = None) -> None:
        self.sock = sock
        # a list, not a deque: mostly empty, and an empty deque costs 760 bytes per socket (idle connections)
        self.chunks: list[bytes | memoryview] = []
        self.size = 0  # bytes queued
        self.corked = False
        self.above_high = False
        self.on_level = on_level  # called with True above HIGH_WATER, False back below it

    def write(self, data: bytes | memoryview) -> bool:
        """Send or queue `data`; False when the socket failed."""
        if self.corked or self.chunks:
            self.chunks.append(data)
            self.size += len(data)
            if self.size > HIGH_WATER and not self.above_high:
                self._level(True)
            return True
        try:
            sent = self.sock.send(data)
        except WOULD_BLOCK:
            sent = 0
        except OSError:
            return False
        if sent < len(data):
            rest = memoryview(data)[sent:]
            self.chunks.append(rest)
            self.size += len(rest)
            if self.size > HIGH_WATER and not self.above_high:
                self._level(True)
        return True

    def queue(self, data: bytes | memoryview) -> None:
        """Queue `data` behind what waits (the caller knows the socket is full)."""
        self.chunks.append(data)
        self.size += len(data)
        if self.size > HIGH_WATER and not self.above_high:
            self._level(True)

    def write_view(self, view: memoryview) -> bool:
        """As write(), for a view of a buffer that is reused after this call
        (the worker's read buffer): only the part the socket did not take is copied."""
        if self.corked or self.chunks:
            return self.write(bytes(view))
        try:
            sent = self.sock.send(view)
        except WOULD_BLOCK:
            sent = 0
        except OSError:
            return False
        if sent < len(view):
            rest = bytes(view[sent:])
            self.chunks.append(rest)
            self.size += len(rest)
            if self.size > HIGH_WATER and not self.above_high:
                self._level(True)
        return True

    def cork(self) -> None:
        self.corked = True

    def uncork(self) -> bool:
        """End of an input event: send what was queued, joined into one write."""
        self.corked = False
        chunks = self.chunks
        if not chunks:
            return True
        if len(chunks) > 1:
            joined = b"".join(chunks)
            chunks.clear()
            chunks.append(joined)
        return self.flush()

    def flush(self) -> bool:
        """Write as much as the socket takes; False when it failed."""
        chunks, sock = self.chunks, self.sock
        done = 0
        count = len(chunks)
        while done < count:
            chunk = chunks[done]
            try:
                sent = sock.send(chunk)
            except WOULD_BLOCK:
                break
            except OSError:
                return False
            self.size -= sent
            if sent < len(chunk):
                chunks[done] = memoryview(chunk)[sent:]
                break
            done += 1
        if done:
            del chunks[:done]
        if self.above_high:
            if self.size <= HIGH_WATER:
                self._level(False)
        elif self.size > HIGH_WATER:  # queued while corked
            self._level(True)
        return True

    def clear(self) -> None:
        self.chunks.clear()
        self.size = 0

    def _level(self, above: bool) -> None:
        self.above_high = above
        if self.on_level is not None:
            self.on_level(above)
