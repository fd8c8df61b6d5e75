"""mode http: HTTP/2 to servers (`server ... proto h2`), streams multiplexed on shared connections (worker).

The exchange (workers/http/exchange.py) speaks HTTP/1 to its server
connection: it sends a request head and body bytes and parses the response
with httptools.  An H2ServerStream is such a connection for one exchange,
carried as one stream of an H2Session: the request bytes are parsed
(httptools) into HEADERS and DATA frames as HAProxy's H1->H2 conversion
makes them, and the stream's frames come back to the exchange as an
HTTP/1.1 response (chunked when the server gives no length, its trailers as
chunked trailers).  Every rule, log line and timeout of the exchange applies
unchanged, and gRPC's trailers (grpc-status) reach an HTTP/2 client.

Sessions (workers/http/h2session.py) belong to the worker's IdlePool
(workers/http/serverconn.py), by server: an exchange going to an h2 server
takes a new stream on a session with room (the server's
SETTINGS_MAX_CONCURRENT_STREAMS), else the Connector connects a socket
(maxconn, queue, retries as for HTTP/1), which becomes a new session. A
session without streams closes after IDLE_TIMEOUT; after a GOAWAY from the
server it takes no new stream, and its streams above the last id fail (502
before a response). An HTTP/1 client connection that keeps its server
connection between requests sends the next one on a new stream of the same
session.

Backpressure: a stream's request body waits in its `out` for the server's
window (the exchange reads `out.size`, as for a socket); the server's DATA
is acknowledged (WINDOW_UPDATE) only while the exchange reads from it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

import httptools

from workers.buffer import OutBuffer
from workers.http.heads import encode_chunk, last_chunk, origin_target
from workers.http.serverconn import ServerConn

if TYPE_CHECKING:
    from workers.http.h2session import H2Session

# HTTP/1 fields that HTTP/2 forbids (RFC 9113 8.2.2); Host becomes :authority.
DROPPED = frozenset((b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"host"))
# What a trailers-only answer (gRPC's errors) carries that belongs after the body.
TRAILER_FIELDS = frozenset((b"grpc-status", b"grpc-message", b"grpc-status-details-bin"))


class RequestEvents:
    """httptools' protocol object for the HTTP/1 request an exchange writes."""

    __slots__ = ("stream", "url", "headers", "trailers", "head_done")

    def __init__(self, stream: H2ServerStream) -> None:
        self.stream = stream
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.head_done = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        (self.trailers if self.head_done else self.headers).append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.stream.request_data(bytes(body))

    def on_message_complete(self) -> None:
        self.stream.request_end()


def request_fields(method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The HEADERS list of an HTTP/1 request head: pseudo-headers first, Host as
    :authority, names lower-cased, connection-specific fields dropped."""
    authority = b""
    regular: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        lower = name.lower()
        if lower in DROPPED:
            if lower == b"host" and not authority:
                authority = value.strip()
            continue
        if lower == b"te" and value.strip().lower() != b"trailers":
            continue
        regular.append((lower, value))
    fields = [(b":method", method), (b":scheme", b"http")]
    if authority:
        fields.append((b":authority", authority))
    fields.append((b":path", origin_target(url) if method != b"OPTIONS" or url != b"*" else b"*"))
    return fields + regular


def response_head(status: int, fields: list[tuple[bytes, bytes]], chunked: bool) -> bytes:
    """An HTTP/1.1 head for the exchange's parser."""
    try:
        reason = HTTPStatus(status).phrase.encode()
    except ValueError:
        reason = b""
    parts = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
    parts += [b"%s: %s\r\n" % field for field in fields]
    if chunked:
        parts.append(b"transfer-encoding: chunked\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


class H2ServerStream(ServerConn):
    """One exchange's server connection: a stream of an H2Session."""

    def __init__(self, session: H2Session, stream_id: int) -> None:  # no socket of its own: ServerConn's fields
        self.loop = session.loop
        self.sock = session.sock
        self.server = session.server
        self.owner = None
        self.deadline = None
        self.events = None
        self.pool = None
        self.parser = None
        self.mask = 0
        self.out = OutBuffer(session.sock)  # request body waiting for the server's window (never flushed)
        self.closed = False
        self.requests = 0
        self.reading = True
        self.idle_timer = None
        self.local_ip, self.local_port = session.local_ip, session.local_port
        self.session = session
        self.begin(stream_id)

    def begin(self, stream_id: int) -> None:
        """A request on a new stream (the first, or the next on a kept connection)."""
        self.stream_id = stream_id
        self.request_protocol = RequestEvents(self)
        self.request = httptools.HttpRequestParser(self.request_protocol)
        self.method = b""
        self.head_sent = False
        self.end_pending = False  # the request ended while body still waits for the window
        self.local_ended = False
        self.remote_ended = False
        self.chunked = False  # the response goes to the exchange chunked (no length from the server)
        self.no_body = False
        self.trailers: list[tuple[bytes, bytes]] = []
        self.unacked = 0  # response bytes not acknowledged while the exchange does not read

    def restart(self) -> bool:
        """Keep-alive: an HTTP/1 client connection kept this server connection and sends
        its next request on it: a new stream of the session, if it takes one."""
        session = self.session
        if not session.has_room():
            return False
        session.forget(self)  # the previous stream may still end: its frames go nowhere
        session.kept.discard(self)
        self.begin(session.new_stream_id())
        session.streams[self.stream_id] = self
        return True

    # -- the exchange's side (ServerConn's interface) ------------------------------------------

    def send(self, data: bytes | memoryview) -> None:
        if self.closed:
            return
        if self.local_ended and not self.restart():
            self.fail()
            return
        try:
            self.request.feed_data(bytes(data))
        except httptools.HttpParserError:
            self.fail()
            return
        if not self.head_sent and self.request_protocol.head_done and not self.closed:
            self.send_head(False)  # a body follows later
        if self.deadline is not None:
            self.deadline.server_io = self.loop.now
        self.session.flush()

    def flush(self) -> None:
        pass  # the session writes

    def update_mask(self) -> None:
        pass  # the session's socket is the one registered

    def pause_reading(self, paused: bool) -> None:
        self.reading = not paused
        if not paused and self.unacked:
            self.session.acknowledge(self.stream_id, self.unacked)
            self.unacked = 0
            self.session.flush()

    def close(self) -> None:
        """The exchange (or its client connection) lets this connection go."""
        if self.closed:
            return
        self.closed = True
        self.owner = None
        if not (self.local_ended and self.remote_ended):
            self.session.reset(self.stream_id)
        self.session.forget(self)
        self.session.kept.discard(self)

    def internal_error(self) -> None:
        owner = self.owner
        if owner is not None:
            owner.internal_error()
        else:
            self.close()

    # -- the request, as frames ---------------------------------------------------------------

    def send_head(self, end: bool) -> None:
        events = self.request_protocol
        self.method = self.request.get_method()
        self.head_sent = True
        self.local_ended = end
        self.session.send_headers(self.stream_id, request_fields(self.method, events.url, events.headers), end)

    def request_data(self, body: bytes) -> None:
        if not self.head_sent:
            self.send_head(False)
        if self.out.chunks:
            self.out.queue(body)
        else:
            self.push(body)

    def push(self, body: bytes) -> None:
        sent = self.session.send_data(self.stream_id, body)
        if sent < len(body):
            self.out.queue(body[sent:])
            self.session.blocked[self.stream_id] = self

    def request_end(self) -> None:
        if not self.head_sent:
            self.send_head(True)
        elif self.out.chunks:
            self.end_pending = True
        else:
            self.send_end()

    def send_end(self) -> None:
        self.end_pending = False
        self.local_ended = True
        self.session.end_stream(self.stream_id, self.request_protocol.trailers)

    def window_opened(self) -> None:
        out = self.out
        if out.chunks:
            waiting = b"".join(out.chunks)  # bounded: the exchange stops reading its client past HIGH_WATER
            out.clear()
            sent = self.session.send_data(self.stream_id, waiting)
            if sent < len(waiting):
                out.queue(waiting[sent:])
                self.session.blocked[self.stream_id] = self
                return
        if self.end_pending:
            self.send_end()
        owner = self.owner
        if owner is not None:
            owner.on_server_drained()

    # -- the response, as HTTP/1.1 bytes ----------------------------------------------------------

    def deliver(self, data: bytes) -> None:
        owner = self.owner
        if owner is not None and data:
            if self.deadline is not None:
                self.deadline.server_io = self.loop.now
            owner.on_server_data(data)

    def on_head(self, headers: list[tuple[bytes, bytes]], ended: bool) -> None:
        status, fields, has_length = 0, [], False
        for name, value in headers:
            if name == b":status":
                status = int(value)
            elif name[:1] != b":":
                has_length = has_length or name == b"content-length"
                fields.append((name, value))
        if 100 <= status < 200:
            self.deliver(response_head(status, fields, False))
            return
        self.no_body = self.method == b"HEAD" or status in (204, 304)
        self.chunked = not self.no_body and not has_length
        if ended and self.chunked:  # trailers-only (gRPC errors): the grpc-* fields go after the body
            self.trailers = [field for field in fields if field[0] in TRAILER_FIELDS]
            fields = [field for field in fields if field[0] not in TRAILER_FIELDS]
        self.deliver(response_head(status, fields, self.chunked))

    def on_data(self, data: bytes, flow_controlled: int) -> None:
        if self.reading:
            self.session.acknowledge(self.stream_id, flow_controlled)
        else:
            self.unacked += flow_controlled
        if data and not self.no_body:  # an empty DATA frame (END_STREAM's) would be a last chunk
            self.deliver(encode_chunk(data) if self.chunked else data)

    def on_trailers(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.trailers = [(name, value) for name, value in headers if name[:1] != b":"]

    def on_end(self) -> None:
        self.remote_ended = True
        if self.chunked:
            self.deliver(last_chunk(self.trailers))
        if self.local_ended:
            self.session.forget(self)
        owner = self.owner
        if owner is not None and not self.closed:
            owner.on_server_eof()  # the stream is over: the exchange ends its response (or fails it)

    def fail(self) -> None:
        """Reset by the server, refused after its GOAWAY, or the connection lost."""
        self.remote_ended = self.local_ended = True
        owner, was_closed = self.owner, self.closed
        self.closed = True  # never used again
        self.session.forget(self)
        if owner is not None and not was_closed:
            owner.on_server_error()  # 502 SH before the head, SD after
