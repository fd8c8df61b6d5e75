"""mode http: one HTTP/2 connection to a server (`server ... proto h2`) and its streams (worker).

An H2Session owns the socket the Connector connected, python-hyper's `h2`
state machine (client side) and the H2ServerStreams (workers/http/h2server.py)
multiplexed on it; it writes their frames, dispatches the server's frames
to them, and keeps itself in the worker's IdlePool (by server) while it has
room for more streams.  `new_server_conn` is what the exchange calls for a
freshly connected socket.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from h2 import events as ev
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.exceptions import H2Error

from workers.buffer import WOULD_BLOCK, OutBuffer
from workers.http.h2server import H2ServerStream
from workers.http.serverconn import IDLE_TIMEOUT, RECV_SIZE, ServerConn

if TYPE_CHECKING:
    from workers.http.serverconn import IdlePool
    from workers.loop import EventLoop, Timer
    from workers.runtime import ServerRuntime

READ, WRITE = 1, 2
CANCEL = int(ErrorCodes.CANCEL)
CONNECTION_WINDOW = 16 << 20


class _GracefulH2(H2Connection):
    """h2's client connection, letting the streams below a graceful GOAWAY's last
    id complete (h2 alone refuses every frame after one)."""

    def _receive_goaway_frame(self, frame: Any) -> Any:
        state = self.state_machine.state
        result = super()._receive_goaway_frame(frame)
        if frame.error_code == 0:
            self.state_machine.state = state
        return result


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
        # A paused stream holds back what it has not acknowledged, from the connection's window
        # too: with a large one, at most its own window (64 KiB) stalls, not its neighbours.
        self.h2.increment_flow_control_window(CONNECTION_WINDOW)
        self.out = OutBuffer(sock)
        self.streams: dict[int, H2ServerStream] = {}
        self.blocked: dict[int, H2ServerStream] = {}
        self.last_stream = 2**31 - 1  # lowered by a GOAWAY
        self.closed = False
        self.mask = 0
        self.idle_timer: Timer | None = None
        self.next_stream_id = 1
        self.kept: set[H2ServerStream] = set()  # ended streams whose connection a client side keeps
        self.flush()

    # -- streams ---------------------------------------------------------------------------------

    def has_room(self) -> bool:
        return not self.closed and self.last_stream == 2**31 - 1 and self.next_stream_id < 2**31 - 1 and \
            len(self.streams) < self.h2.remote_settings.max_concurrent_streams  # fmt: skip

    def new_stream_id(self) -> int:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        stream_id = self.next_stream_id  # reserved now: its HEADERS may leave after a later stream's
        self.next_stream_id += 2
        return stream_id

    def open_stream(self) -> H2ServerStream:
        stream = H2ServerStream(self, self.new_stream_id())
        self.streams[stream.stream_id] = stream
        return stream

    def forget(self, stream: H2ServerStream) -> None:
        """The stream's exchange is over (or it failed): it no longer counts."""
        if self.streams.get(stream.stream_id) is stream:
            del self.streams[stream.stream_id]
            self.blocked.pop(stream.stream_id, None)
        if not stream.closed:
            self.kept.add(stream)  # a client connection may send its next request on it
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
        for stream_id, stream in blocked.items():
            if self.streams.get(stream_id) is stream:
                stream.window_opened()

    def goaway(self, last_stream: int | None) -> None:
        """The server goes away: no new stream; those above its last id (all of them
        for an error) are refused."""
        self.last_stream = last_stream if last_stream is not None else -1
        self.retire_kept()
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

    def retire_kept(self) -> None:
        """No new stream here: the connections client sides kept look closed, so that
        their next requests take a stream elsewhere."""
        for stream in self.kept:
            stream.closed = True
        self.kept.clear()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.retire_kept()
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
    if not server.h2:
        return ServerConn(pool.loop, sock, server)
    session = H2Session(pool, pool.loop, sock, server)
    pool.sessions.setdefault(server.index, []).append(session)
    return session.open_stream()
