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

Sessions belong to the worker's IdlePool (workers/http/serverconn.py), by
server: an exchange going to an h2 server takes a new stream on a session
with room (the server's SETTINGS_MAX_CONCURRENT_STREAMS), else the
Connector connects a socket (maxconn, queue, retries as for HTTP/1), which
becomes a new session.  A session without streams closes after
IDLE_TIMEOUT; after a GOAWAY from the server it takes no new stream, and
its streams above the last id end as if the server had closed (an exchange
that sent no body tries once more on a fresh connection).

Backpressure: a stream's request body waits in its `out` for the server's
window (the exchange reads `out.size`, as for a socket); the server's DATA
is acknowledged (WINDOW_UPDATE) only while the exchange reads from it.
"""

from __future__ import annotations

import socket
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import httptools
from h2 import events as ev
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.exceptions import H2Error

from workers.buffer import WOULD_BLOCK, OutBuffer
from workers.http.heads import encode_chunk, last_chunk, origin_target
from workers.http.serverconn import IDLE_TIMEOUT, RECV_SIZE, ServerConn

if TYPE_CHECKING:
    from workers.http.serverconn import IdlePool
    from workers.loop import EventLoop, Timer
    from workers.runtime import ServerRuntime

READ, WRITE = 1, 2
CANCEL = int(ErrorCodes.CANCEL)
# HTTP/1 fields that HTTP/2 forbids (RFC 9113 8.2.2); Host becomes :authority.
DROPPED = frozenset((b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"host"))
# What a trailers-only answer (gRPC's errors) carries that belongs after the body.
TRAILER_FIELDS = frozenset((b"grpc-status", b"grpc-message", b"grpc-status-details-bin"))


class _GracefulH2(H2Connection):
    """h2's client connection, letting the streams below a graceful GOAWAY's last
    id complete (h2 alone refuses every frame after one)."""

    def _receive_goaway_frame(self, frame: Any) -> Any:
        state = self.state_machine.state
        result = super()._receive_goaway_frame(frame)
        if frame.error_code == 0:
            self.state_machine.state = state
        return result


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

    # -- the exchange's side (ServerConn's interface) ------------------------------------------

    def send(self, data: bytes | memoryview) -> None:
        if self.closed or self.local_ended:
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
        if self.closed:
            return
        self.closed = True
        self.owner = None
        if not (self.local_ended and self.remote_ended):
            self.session.reset(self.stream_id)
        self.session.stream_done(self)

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
        while out.chunks:
            chunk = bytes(out.chunks.popleft())
            out.size -= len(chunk)
            sent = self.session.send_data(self.stream_id, chunk)
            if sent < len(chunk):
                out.chunks.appendleft(chunk[sent:])
                out.size += len(chunk) - sent
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
        if not self.no_body:
            self.deliver(encode_chunk(data) if self.chunked else data)

    def on_trailers(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.trailers = [(name, value) for name, value in headers if name[:1] != b":"]

    def on_end(self) -> None:
        self.remote_ended = True
        if self.chunked:
            self.deliver(last_chunk(self.trailers))
        owner = self.owner
        if owner is not None and not self.closed:
            owner.on_server_eof()  # the stream is over: the exchange ends its response or fails it
        self.closed = True  # never reused: a new request takes a new stream
        if self.local_ended:
            self.session.stream_done(self)

    def fail(self) -> None:
        """Reset by the server, refused after its GOAWAY, or the connection lost."""
        self.remote_ended = True
        owner = self.owner
        if owner is not None and not self.closed:
            owner.on_server_error()  # 502 SH before the head, SD after
        self.closed = True
        self.local_ended = True
        self.session.stream_done(self)


class H2Session:
    """One HTTP/2 connection to a server and its streams."""

    def __init__(self, pool: IdlePool, loop: EventLoop, sock: socket.socket, server: ServerRuntime) -> None:
        self.pool = pool
        self.loop = loop
        self.sock = sock
        self.server = server
        local = sock.getsockname()
        self.local_ip, self.local_port = local[0], local[1]
        config = H2Configuration(client_side=True, header_encoding=None, validate_outbound_headers=False,
                                 normalize_outbound_headers=False, validate_inbound_headers=False)  # fmt: skip
        self.h2 = _GracefulH2(config)
        self.h2.initiate_connection()
        self.out = OutBuffer(sock)
        self.streams: dict[int, H2ServerStream] = {}
        self.blocked: dict[int, H2ServerStream] = {}
        self.last_stream = 2**31 - 1  # lowered by a GOAWAY
        self.closed = False
        self.mask = 0
        self.idle_timer: Timer | None = None
        self.flush()

    # -- streams ---------------------------------------------------------------------------------

    def has_room(self) -> bool:
        return not self.closed and self.last_stream == 2**31 - 1 and \
            len(self.streams) < self.h2.remote_settings.max_concurrent_streams  # fmt: skip

    def open_stream(self) -> H2ServerStream:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        stream = H2ServerStream(self, self.h2.get_next_available_stream_id())
        self.streams[stream.stream_id] = stream
        return stream

    def stream_done(self, stream: H2ServerStream) -> None:
        if self.streams.get(stream.stream_id) is stream and stream.closed and stream.local_ended:
            del self.streams[stream.stream_id]
            self.blocked.pop(stream.stream_id, None)
        if not self.streams and not self.closed:
            if self.last_stream != 2**31 - 1:
                self.close()
            elif self.idle_timer is None:
                self.idle_timer = self.loop.call_later(IDLE_TIMEOUT, self.close)
        self.flush()

    # -- frames out ------------------------------------------------------------------------------

    # h2 refuses frames on a stream the server already reset: its RST_STREAM event ends the stream.

    def send_headers(self, stream_id: int, fields: list[tuple[bytes, bytes]], end: bool) -> None:
        try:
            self.h2.send_headers(stream_id, fields, end_stream=end)
        except H2Error:
            pass

    def send_data(self, stream_id: int, data: bytes) -> int:
        """Send what the windows allow; the number of bytes sent."""
        h2 = self.h2
        try:
            room = min(h2.local_flow_control_window(stream_id), len(data))
            sent = 0
            while sent < room:
                piece = data[sent : sent + min(room - sent, h2.max_outbound_frame_size)]
                h2.send_data(stream_id, piece)
                sent += len(piece)
        except H2Error:
            return len(data)  # dropped with the stream
        return sent

    def end_stream(self, stream_id: int, trailers: list[tuple[bytes, bytes]]) -> None:
        try:
            if trailers:
                self.h2.send_headers(stream_id, [(n.lower(), v) for n, v in trailers], end_stream=True)
            else:
                self.h2.end_stream(stream_id)
        except H2Error:
            pass

    def acknowledge(self, stream_id: int, size: int) -> None:
        if size and not self.closed:
            try:
                self.h2.acknowledge_received_data(size, stream_id)
            except H2Error:
                pass  # the stream is gone: the connection's window was handed back by h2

    def reset(self, stream_id: int) -> None:
        if not self.closed:
            try:
                self.h2.reset_stream(stream_id, CANCEL)
            except H2Error:
                pass

    def flush(self) -> None:
        if self.closed:
            return
        data = self.h2.data_to_send()
        if data and not self.out.write(data):
            self.lost()
            return
        self.update_mask()

    def update_mask(self) -> None:
        mask = READ | (WRITE if self.out.chunks else 0)
        if mask != self.mask and not self.closed:
            if self.mask:
                self.loop.modify(self.sock, mask, self.on_event)
            else:
                self.loop.register(self.sock, mask, self.on_event)
            self.mask = mask

    # -- frames in --------------------------------------------------------------------------------

    def on_event(self, mask: int) -> None:
        if mask & WRITE and not self.out.flush():
            self.lost()
            return
        if mask & READ:
            try:
                data = self.sock.recv(RECV_SIZE)
            except WOULD_BLOCK:
                data = None
            except OSError:
                data = b""
            if data == b"":
                self.lost()
                return
            if data:
                try:
                    events = self.h2.receive_data(data)
                except H2Error:
                    self.flush()
                    self.lost()
                    return
                for event in events:
                    self.dispatch(event)
        self.flush()

    def dispatch(self, event: Any) -> None:
        stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, ev.ResponseReceived):
            if stream is not None:
                stream.on_head(event.headers, event.stream_ended is not None)
        elif isinstance(event, ev.InformationalResponseReceived):
            if stream is not None:
                stream.on_head(event.headers, False)
        elif isinstance(event, ev.DataReceived):
            if stream is not None:
                stream.on_data(event.data, event.flow_controlled_length)
            else:
                self.acknowledge(event.stream_id, event.flow_controlled_length)
        elif isinstance(event, ev.TrailersReceived):
            if stream is not None:
                stream.on_trailers(event.headers)
        elif isinstance(event, ev.StreamEnded):
            if stream is not None:
                stream.on_end()
        elif isinstance(event, ev.StreamReset):
            if stream is not None:
                stream.fail()
        elif isinstance(event, ev.WindowUpdated):
            self.window_updated()
        elif isinstance(event, ev.ConnectionTerminated):
            self.goaway(event.last_stream_id if event.error_code == 0 else -1)

    def window_updated(self) -> None:
        blocked, self.blocked = self.blocked, {}
        for stream in blocked.values():
            if not stream.closed or not stream.local_ended:
                stream.window_opened()

    def goaway(self, last_stream: int | None) -> None:
        """The server goes away: no new stream; those above its last id (all of them
        for an error) are refused."""
        self.last_stream = last_stream if last_stream is not None else -1
        for stream in [s for s in self.streams.values() if s.stream_id > self.last_stream]:
            stream.fail()
        if not self.streams:
            self.close()

    def lost(self) -> None:
        """The connection failed or the server closed it: every stream fails."""
        self.last_stream = -1
        for stream in list(self.streams.values()):
            stream.fail()
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        if self.mask:
            self.loop.unregister(self.sock)
            self.mask = 0
        self.pool.session_closed(self)
        try:
            self.sock.close()
        except OSError:
            pass

    def internal_error(self) -> None:
        """A bug in a callback of this connection (reported by the loop): it ends."""
        self.lost()


def new_server_conn(pool: IdlePool, sock: socket.socket, server: ServerRuntime) -> ServerConn:
    """What the Connector's new socket becomes: an HTTP/1 connection, or the first
    stream of a new HTTP/2 session kept in the worker's pool for the next ones."""
    if server.conf.proto != "h2":
        return ServerConn(pool.loop, sock, server)
    session = H2Session(pool, pool.loop, sock, server)
    pool.sessions.setdefault(server.index, []).append(session)
    return session.open_stream()
