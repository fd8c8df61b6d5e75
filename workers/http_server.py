"""The server side of mode http: one connection to a server, and idle ones kept for reuse (worker).

The server's in-flight count in shared memory counts requests, not
connections (HAProxy: maxconn and leastconn count streams), so a
connection's life does not touch it: sessions take and drop per request.

A ServerConn parses responses with httptools.HttpResponseParser and hands
every event to its current owner (an HttpSession).  Between requests a
connection stays with its session, or waits in the worker's IdlePool for
any session of the worker going to the same server (HAProxy's idle
connection reuse).  An idle connection that becomes readable was closed
(or misbehaves) and is dropped.
"""

from __future__ import annotations

import collections
import selectors
import socket
from typing import Any

import httptools

from workers.stream import WOULD_BLOCK
from workers.runtime import ServerRuntime

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
IDLE_PER_SERVER = 64  # idle connections kept per server and worker
IDLE_TIMEOUT = 5.0  # HAProxy's pool-purge-delay default
RECV_SIZE = 65536


class ServerConn:
    def __init__(self, loop: Any, sock: socket.socket, server: ServerRuntime) -> None:
        self.loop = loop
        self.sock = sock
        self.server = server
        self.owner: Any = None
        self.events: Any = None
        self.pool: IdlePool | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.mask = 0
        self.pending: collections.deque[bytes | memoryview] = collections.deque()
        self.pending_size = 0
        self.closed = False
        self.requests = 0  # requests sent on this connection (0: fresh)
        self.reusable = True
        self.reading = True
        self.idle_timer: Any = None
        local = sock.getsockname()
        self.local_ip, self.local_port = local[0], local[1]

    # -- ownership ---------------------------------------------------------

    def attach(self, owner: Any, events: Any) -> None:
        """Serve `owner`'s requests from now on; `events` receives the parser's callbacks."""
        self.owner = owner
        self.events = events
        self.parser = httptools.HttpResponseParser(events)
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.reading = True
        self.update_mask()

    def new_response(self) -> None:
        """A parser for the next response on this connection (after HEAD, the old one would wait for a body)."""
        self.parser = httptools.HttpResponseParser(self.events)

    # -- writing -------------------------------------------------------------

    def send(self, data: bytes | memoryview) -> None:
        """Write now if possible, queue the rest; the owner checks `pending_size` for backpressure."""
        if not self.pending:
            try:
                sent = self.sock.send(data)
            except WOULD_BLOCK:
                sent = 0
            except OSError:
                self.owner.on_server_error()
                return
            if sent:
                self.owner.last_server_io = self.loop.now  # writing is server activity (timeout server)
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        self.pending.append(data)
        self.pending_size += len(data)
        self.update_mask()

    def flush(self) -> None:
        while self.pending:
            chunk = self.pending[0]
            try:
                sent = self.sock.send(chunk)
            except WOULD_BLOCK:
                return
            except OSError:
                self.owner.on_server_error()
                return
            self.pending_size -= sent
            if sent and self.owner is not None:
                self.owner.last_server_io = self.loop.now
            if sent < len(chunk):
                self.pending[0] = memoryview(chunk)[sent:]
                return
            self.pending.popleft()
        self.update_mask()
        if self.owner is not None:
            self.owner.on_server_drained()

    # -- events --------------------------------------------------------------

    def update_mask(self) -> None:
        mask = (READ if self.reading else 0) | (WRITE if self.pending else 0)
        if mask == self.mask or self.closed:
            return
        if not self.mask:
            self.loop.register(self.sock, mask, self.on_event)
        elif not mask:
            self.loop.unregister(self.sock)
        else:
            self.loop.modify(self.sock, mask, self.on_event)
        self.mask = mask

    def on_event(self, mask: int) -> None:
        owner = self.owner
        if owner is None:  # idle: readable means closed by the server, or junk
            if self.pool is not None:
                self.pool.discard(self)
            return
        if mask & WRITE and not self.closed:
            self.flush()
        if not mask & READ or self.closed or self.owner is None:
            return
        try:
            data = self.sock.recv(RECV_SIZE)
        except WOULD_BLOCK:
            return
        except OSError:
            owner.on_server_error()
            return
        if data:
            owner.on_server_data(data)
        else:
            owner.on_server_eof()

    def pause_reading(self, paused: bool) -> None:
        self.reading = not paused
        self.update_mask()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.mask:
            self.loop.unregister(self.sock)
            self.mask = 0
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        try:
            self.sock.close()
        except OSError:
            pass


class IdlePool:
    """Idle keep-alive server connections of one worker, by server."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.idle: dict[int, list[ServerConn]] = {}

    def put(self, conn: ServerConn) -> None:
        """Keep `conn` for reuse, or close it when the server has enough idle ones."""
        conns = self.idle.setdefault(conn.server.index, [])
        if conn.closed or conn.pending or len(conns) >= IDLE_PER_SERVER:
            conn.close()
            return
        conn.owner = None
        conn.pool = self
        conn.parser = None
        conn.reading = True
        conn.update_mask()
        conn.idle_timer = self.loop.call_later(IDLE_TIMEOUT, self.expire, conn)
        conns.append(conn)

    def take(self, server: ServerRuntime) -> ServerConn | None:
        conns = self.idle.get(server.index)
        while conns:
            conn = conns.pop()
            if not conn.closed:
                conn.pool = None
                return conn
        return None

    def expire(self, conn: ServerConn) -> None:
        self.discard(conn)

    def discard(self, conn: ServerConn) -> None:
        conns = self.idle.get(conn.server.index, [])
        if conn in conns:
            conns.remove(conn)
        conn.close()

    def close_all(self) -> None:
        for conns in self.idle.values():
            for conn in conns:
                conn.close()
        self.idle.clear()
