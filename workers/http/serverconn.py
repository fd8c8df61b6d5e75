"""The server side of mode http: one HTTP/1 connection to a server, and idle ones kept for reuse (worker).

The server's in-flight count in shared memory counts requests, not
connections (HAProxy: maxconn and leastconn count streams), so a
connection's life does not touch it: exchanges take and drop it per request.

A ServerConn parses responses with httptools.HttpResponseParser and hands
every event to its current owner, the Exchange using it (ServerConnOwner).
Between requests a connection stays with its client connection, or waits
in the worker's IdlePool for any exchange of the worker going to the same
server (HAProxy's idle connection reuse).  An idle connection that becomes
readable was closed (or misbehaves) and is dropped.

Response heads are bounded as HAProxy bounds them (tune.bufsize minus
tune.maxrewrite, tune.http.maxhdr fields): ResponseEvents refuses a head
over the limit, and the exchange counts the bytes of a head still
incomplete, so that one huge header line cannot grow the worker's memory
either.  A transfer-coding other than chunked is refused by the head
builder (workers/http/heads.py).  Each is a 502 logged `PH`.
"""

from __future__ import annotations

import selectors
import socket
from itertools import chain
from typing import TYPE_CHECKING, Any

import httptools

from workers.buffer import WOULD_BLOCK, OutBuffer
from workers.connector import ConnectorOwner
from workers.runtime import ServerRuntime

if TYPE_CHECKING:
    from workers.http.deadlines import Deadline
    from workers.http.plan import Limits
    from workers.loop import EventLoop, Timer

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
IDLE_PER_SERVER = 64  # idle connections kept per server and worker
IDLE_TIMEOUT = 5.0  # HAProxy's pool-purge-delay default
RECV_SIZE = 65536


class BadResponse(Exception):
    """Raised from a parser callback: the response head is refused (502, PH)."""


class ServerConnOwner(ConnectorOwner):
    """What a ServerConn calls: the exchange using it (which also owns the
    Connector that got it).  A base class so that compiled code calls it directly."""

    resp_head_read: int  # bytes read while the response head is incomplete

    def on_server_data(self, data: bytes) -> None:
        raise NotImplementedError

    def on_server_eof(self) -> None:
        raise NotImplementedError

    def on_server_error(self) -> None:
        raise NotImplementedError

    def on_server_drained(self) -> None:
        raise NotImplementedError

    def resp_headers_complete(self) -> None:
        raise NotImplementedError

    def resp_body(self, body: bytes) -> None:
        raise NotImplementedError

    def resp_complete(self) -> None:
        raise NotImplementedError


class ResponseEvents:
    """The protocol object of a connection's response parser: it bounds the head
    and hands the parser's events to the connection's current owner (the parser
    is kept across the requests of a keep-alive connection, its owner changes)."""

    __slots__ = ("headers", "limits", "owner", "reason")

    def __init__(self, owner: ServerConnOwner, limits: Limits) -> None:
        self.owner = owner
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.limits = limits

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))  # trailers land in the next list, taken at message end

    def on_headers_complete(self) -> None:
        # The head must fit tune.bufsize - tune.maxrewrite with tune.http.maxhdr fields.
        # A head that came in one read no longer than the limit fits: only a longer
        # read is measured (in C).
        headers, limits, owner = self.headers, self.limits, self.owner
        if len(headers) > limits.headers or (owner.resp_head_read > limits.head and len(self.reason)
                                             + sum(map(len, chain.from_iterable(headers))) + 4 * len(headers)
                                             > limits.head):  # fmt: skip
            raise BadResponse("response head too large")
        owner.resp_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.owner.resp_body(body)

    def on_message_complete(self) -> None:
        self.owner.resp_complete()

    def reset(self) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """Take the head parsed so far (or the trailers) and start a new one."""
        headers, reason = self.headers, self.reason
        self.headers, self.reason = [], b""
        return headers, reason


class ServerConn:
    def __init__(self, loop: EventLoop, sock: socket.socket, server: ServerRuntime) -> None:
        self.loop = loop
        self.sock = sock
        self.server = server
        self.owner: ServerConnOwner | None = None
        self.deadline: Deadline | None = None  # the owner's, stamped on every write
        self.events: ResponseEvents | None = None
        self.pool: IdlePool | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.mask = 0
        self.out = OutBuffer(sock)
        self.closed = False
        self.requests = 0  # requests sent on this connection (0: fresh)
        self.reading = True
        self.idle_timer: Timer | None = None
        local = sock.getsockname()
        self.local_ip, self.local_port = local[0], local[1]

    # -- ownership ---------------------------------------------------------

    def attach(self, owner: ServerConnOwner, deadline: Deadline, limits: Limits) -> None:
        """Serve `owner` from now on: the parser's events go to it, writes stamp `deadline`."""
        self.owner = owner
        self.deadline = deadline
        if self.events is None:
            self.events = ResponseEvents(owner, limits)
        else:
            self.events.owner = owner
        if self.parser is None:
            self.new_response()
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.reading = True
        self.update_mask()

    def new_response(self) -> None:
        """A parser for the next response (after HEAD, the old one would wait for a body)."""
        parser = httptools.HttpResponseParser(self.events)
        # Transfer-Encoding with Content-Length: HAProxy forwards it (dropping the length)
        parser.set_dangerous_leniencies(lenient_chunked_length=True)
        self.parser = parser

    @property
    def pending_size(self) -> int:
        return self.out.size

    # -- writing -------------------------------------------------------------

    def send(self, data: bytes | memoryview) -> None:
        """Write now if possible, queue the rest; the owner checks `pending_size` for backpressure."""
        out = self.out
        if out.chunks:
            out.queue(data)
        else:
            try:
                sent = self.sock.send(data)
            except WOULD_BLOCK:
                sent = 0
            except OSError:
                if self.owner is not None:
                    self.owner.on_server_error()
                return
            if sent < len(data):
                out.queue(memoryview(data)[sent:])
                self.update_mask()
        if self.deadline is not None:
            self.deadline.server_io = self.loop.now  # writing is server activity (timeout server)

    def flush(self) -> None:
        out = self.out
        if not out.flush():
            if self.owner is not None:
                self.owner.on_server_error()
            return
        if self.deadline is not None:
            self.deadline.server_io = self.loop.now
        if not out.chunks:
            self.update_mask()
            if self.owner is not None:
                self.owner.on_server_drained()

    # -- events --------------------------------------------------------------

    def update_mask(self) -> None:
        mask = (READ if self.reading else 0) | (WRITE if self.out.chunks else 0)
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
            else:
                self.close()
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
        self.owner = None
        if self.mask:
            self.loop.unregister(self.sock)
            self.mask = 0
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        try:
            self.sock.close()
        except OSError:
            pass

    def internal_error(self) -> None:
        """A bug in our callback (reported by the loop): the owner's exchange ends."""
        if self.owner is not None:
            self.owner.internal_error()
        else:
            self.close()


class IdlePool:
    """Idle keep-alive server connections of one worker, by server."""

    def __init__(self, loop: EventLoop) -> None:
        self.loop = loop
        self.idle: dict[int, list[ServerConn]] = {}
        self.sessions: dict[int, list[Any]] = {}  # HTTP/2 connections by server (workers/http/h2session.py)
        # (opened by h2session.new_server_conn, which imports this module: sessions are duck-typed here)

    def session_closed(self, session: Any) -> None:
        sessions = self.sessions.get(session.server.index, [])
        if session in sessions:
            sessions.remove(session)

    def put(self, conn: ServerConn) -> None:
        """Keep `conn` for reuse, or close it when the server has enough idle ones."""
        if conn.server.h2:
            conn.close()  # a finished stream: its session stays for the next ones
            return
        conns = self.idle.setdefault(conn.server.index, [])
        if conn.closed or conn.out.chunks or len(conns) >= IDLE_PER_SERVER:
            conn.close()
            return
        conn.owner = None
        conn.deadline = None
        conn.pool = self
        conn.parser = None
        conn.reading = True
        conn.update_mask()
        conn.idle_timer = self.loop.call_later(IDLE_TIMEOUT, self.discard, conn)
        conns.append(conn)

    def take(self, server: ServerRuntime) -> ServerConn | None:
        if server.h2:  # a new stream on a session with room
            for session in self.sessions.get(server.index, ()):
                if session.has_room():
                    return session.open_stream()
            return None
        conns = self.idle.get(server.index)
        while conns:
            conn = conns.pop()
            if not conn.closed:
                conn.pool = None
                return conn
        return None

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
        for sessions in list(self.sessions.values()):
            for session in list(sessions):
                if not session.streams:
                    session.close()

    def internal_error(self) -> None:
        """A bug in an idle connection's timer: nothing to end."""

