"""mode http: the HTTP/2 client side of a connection, on the `h2` state machine (worker).

An H2Connection owns the client socket of a connection that negotiated
`h2` by ALPN (`bind ... ssl crt ... alpn h2,http/1.1`) or that speaks it
with prior knowledge (`bind ... proto h2`).  python-hyper's `h2` does the
framing, HPACK and flow-control accounting (sans I/O); this class feeds it
what the socket reads, dispatches its events to the streams
(workers/http/h2stream.py: one Exchange each), and writes what it has to
send through the connection's OutBuffer.

HAProxy's H2 mux protections, in the same places:
- SETTINGS from `tune.h2.max-concurrent-streams`, `initial-window-size`,
  `header-table-size`, `max-frame-size`; `h2` refuses a stream over the
  limit and oversized or endless header blocks (CONTINUATION flood: a
  bounded number of frames, a bounded decoded list) with a connection error;
- a request HAProxy's mux refuses (bad pseudo-headers, forbidden fields,
  too large for a buffer) is a stream error: RST_STREAM PROTOCOL_ERROR;
- rapid reset (CVE-2023-44487): the streams of one read start only after
  the whole read is parsed, so a HEADERS+RST_STREAM pair costs no server
  connection, and a client that resets far more streams than it completes
  gets GOAWAY ENHANCE_YOUR_CALM;
- the socket is not read while the client lags HIGH_WATER bytes behind.

Graceful stop (reload): GOAWAY with the largest stream id and a PING;
when the PING comes back, GOAWAY with the last stream id really seen, so
that no request the client sent before it heard the first one is refused.
The connection closes once its streams are done.  Idle connections follow
`timeout http-request` before the first stream and `timeout
http-keep-alive` after (HAProxy 2.6's h2c timeouts), then GOAWAY.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from h2 import events as ev
from h2.config import H2Configuration
from h2.connection import H2Connection as H2Machine, _decode_headers
from h2.errors import ErrorCodes
from h2.exceptions import ProtocolError, StreamClosedError, TooManyStreamsError
from h2.settings import SettingCodes, Settings
from h2.stream import StreamClosedBy
from hyperframe.frame import GoAwayFrame, PingFrame, RstStreamFrame

from workers.buffer import WOULD_BLOCK, OutBuffer
from workers.http.deadlines import Deadline, KEEPALIVE, NONE, Phase, REQUEST
from workers.http.h2stream import H2Stream

if TYPE_CHECKING:
    from lb.rules.txn import ConnFacts
    from workers.base import Worker
    from workers.client import ClientConn
    from workers.http.plan import FrontendPlan
    from workers.loop import EventLoop
    from workers.runtime import FrontendRuntime

READ, WRITE = 1, 2
HIGH_WATER = 65536
RECV_SIZE = 65536
MAX_STREAM_ID = 2**31 - 1
DRAIN_PING = b"lbdrain!"
DRAIN_WAIT = 1.0  # seconds the first GOAWAY's PING may take to come back
ENHANCE_YOUR_CALM = int(ErrorCodes.ENHANCE_YOUR_CALM)
NO_ERROR = int(ErrorCodes.NO_ERROR)
REFUSED_STREAM = int(ErrorCodes.REFUSED_STREAM)


class H2State(H2Machine):
    """h2's connection state machine, with two of HAProxy's behaviours where h2
    alone would end the connection: a stream over the concurrency limit is
    refused (RST_STREAM REFUSED_STREAM) and the connection goes on; after a
    graceful GOAWAY (NO_ERROR) from the peer the streams in flight complete."""

    def _receive_goaway_frame(self, frame: Any) -> Any:
        state = self.state_machine.state
        result = super()._receive_goaway_frame(frame)
        if frame.error_code == 0:
            self.state_machine.state = state  # h2 would refuse every later frame of the streams in flight
        return result

    def _receive_headers_frame(self, frame: Any) -> Any:
        try:
            return super()._receive_headers_frame(frame)
        except TooManyStreamsError:
            stream_id = frame.stream_id
            if stream_id <= self.highest_inbound_stream_id or not stream_id % 2:
                raise
            _decode_headers(self.decoder, frame.data)  # HPACK stays in step with the client
            self.highest_inbound_stream_id = stream_id
            self._closed_streams[stream_id] = StreamClosedBy.SEND_RST_STREAM  # later frames: RST, window given back
            refusal = RstStreamFrame(stream_id)
            refusal.error_code = REFUSED_STREAM
            return [refusal], []


def local_settings(glob: Any) -> Settings:
    """The SETTINGS lb sends, from the global section's tune.h2.* values."""
    return Settings(client=False, initial_values={
        SettingCodes.MAX_CONCURRENT_STREAMS: glob.h2_max_streams or MAX_STREAM_ID,
        SettingCodes.INITIAL_WINDOW_SIZE: glob.h2_window,
        SettingCodes.HEADER_TABLE_SIZE: glob.h2_header_table,
        SettingCodes.MAX_FRAME_SIZE: glob.h2_max_frame or max(16384, min(glob.bufsize, 16777215)),
    })  # fmt: skip


class H2Connection:
    def __init__(self, client: ClientConn) -> None:
        frontend = client.frontend
        assert frontend.plan is not None
        self.client: ClientConn = client
        self.loop: EventLoop = client.loop
        self.worker: Worker = client.worker
        self.frontend: FrontendRuntime = frontend
        self.facts: ConnFacts = client.facts
        self.plan: FrontendPlan = frontend.plan
        self.sock = client.sock
        self.ssl = client.facts.ssl
        self.out: OutBuffer = OutBuffer(client.sock, self.on_out_level)
        self.deadline = Deadline(client.loop, self)
        facts = client.facts
        self.proxy_addresses: tuple[Any, Any] = ((facts.client_ip, facts.client_port), (facts.dst_ip, facts.dst_port))
        glob = client.worker.config.global_
        self.h2 = H2State(H2Configuration(client_side=False, header_encoding=None, validate_inbound_headers=False,
                                          normalize_inbound_headers=False, validate_outbound_headers=False,
                                          normalize_outbound_headers=False))  # fmt: skip
        self.h2.local_settings = local_settings(glob)
        self.reset_budget = max(glob.h2_max_streams, 100)
        self.bufsize = glob.bufsize
        self.streams: dict[int, H2Stream] = {}
        self.to_start: list[H2Stream] = []
        self.blocked: dict[int, H2Stream] = {}  # streams waiting for the client's window
        self.out_blocked = False  # the client lags HIGH_WATER bytes behind
        self.last_io = client.accept_time
        self.last_start_time = client.accept_time  # HAProxy's accept date for the next stream
        self.last_start_date = client.accept_date
        self.requests = 0
        self.completed = 0
        self.client_resets = 0
        self.draining = False  # first GOAWAY sent: no new stream is expected
        self.last_stream = -1  # final GOAWAY sent with this id: later streams are refused
        self.closed = False
        self.close_when_flushed = False
        self.drain_timer: Any = None

    def start(self) -> None:
        self.h2.initiate_connection()
        self.deadline.enter(REQUEST, self.client.accept_time, self.plan.request_timeout)
        if self.worker.stopping:
            self.on_soft_stop()
        self.flush()

    # -- reading --------------------------------------------------------------------------

    def on_client_event(self, mask: int) -> None:
        if mask & WRITE:
            self.flush()
        if self.closed or not mask & READ:
            return
        try:
            data = self.sock.recv(RECV_SIZE)
        except WOULD_BLOCK:
            return
        except OSError:
            self.lost("C")
            return
        if not data:
            self.lost("C")
            return
        if self.ssl and self.sock.pending():  # type: ignore[attr-defined]  # decrypted bytes epoll cannot announce
            self.loop.call_soon(self.on_client_event, READ)
        self.last_io = self.loop.now
        self.out.corked = True
        try:
            events = self.h2.receive_data(data)
        except ProtocolError:
            self.protocol_error()
            return
        for event in events:
            handler = HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)
                if self.closed:
                    return
        self.start_streams()
        self.uncork()

    def start_streams(self) -> None:
        """Start the streams this read opened (a stream reset in the same read never starts)."""
        to_start = self.to_start
        while to_start:
            stream = to_start.pop(0)
            stream.start()

    def on_request(self, event: ev.RequestReceived) -> None:
        stream_id = event.stream_id
        if self.last_stream >= 0 and stream_id > self.last_stream:
            self.h2.reset_stream(stream_id, REFUSED_STREAM)  # after the final GOAWAY: the client retries
            return
        now = self.loop.now
        self.requests += 1
        first = self.requests == 1
        idle_ms = int((now - self.last_start_time) * 1000) - (self.client.handshake_ms if first else 0)
        stream = H2Stream(self, stream_id, self.last_start_time, self.last_start_date,
                          self.client.handshake_ms if first else 0, self.requests)  # fmt: skip
        self.last_start_date += now - self.last_start_time
        self.last_start_time = now
        self.streams[stream_id] = stream
        if self.deadline.phase != NONE:
            self.deadline.clear()  # the streams have their own deadlines
        if stream.on_request(event.headers, event.stream_ended is not None, max(idle_ms, 0)):
            self.to_start.append(stream)

    def on_data(self, event: ev.DataReceived) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is None:
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            return
        stream.on_data(event.data, event.flow_controlled_length)

    def on_trailers(self, event: ev.TrailersReceived) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            stream.on_trailers(event.headers)

    def on_stream_end(self, event: ev.StreamEnded) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            stream.on_end()

    def on_stream_reset(self, event: ev.StreamReset) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is None:
            return
        if stream in self.to_start:
            self.to_start.remove(stream)  # opened and reset in one read: it never reaches a server
        elif not stream.logged:
            self.client_resets += 1
        stream.on_reset()
        if self.client_resets > self.reset_budget + self.completed:
            self.goaway(ENHANCE_YOUR_CALM)  # rapid reset: far more streams reset than served

    def on_window(self, event: ev.WindowUpdated) -> None:
        if event.stream_id:
            stream = self.blocked.pop(event.stream_id, None)
            if stream is not None:
                stream.window_opened()
        else:
            self.window_opened()

    def on_settings(self, event: ev.RemoteSettingsChanged) -> None:
        if SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
            self.window_opened()

    def on_ping_ack(self, event: ev.PingAckReceived) -> None:
        if self.draining and self.last_stream < 0 and event.ping_data == DRAIN_PING:
            self.final_goaway()

    def on_goaway(self, event: ev.ConnectionTerminated) -> None:
        """The client is leaving: the streams it opened are still served."""
        self.draining = True
        if not self.streams:
            self.finish()

    def window_opened(self) -> None:
        blocked, self.blocked = self.blocked, {}
        for stream in blocked.values():
            stream.window_opened()

    # -- sending (for the streams) -------------------------------------------------------

    def send_headers(self, stream_id: int, fields: list[tuple[bytes, bytes]], end: bool) -> None:
        try:
            self.h2.send_headers(stream_id, fields, end_stream=end)
        except (ProtocolError, StreamClosedError):
            pass  # the stream is gone (reset by the client meanwhile)

    def send_data(self, stream_id: int, data: bytes) -> int:
        """Send what the client's windows allow of `data`; returns how much."""
        h2 = self.h2
        try:
            window = h2.local_flow_control_window(stream_id)
        except (ProtocolError, StreamClosedError):
            return len(data)  # the stream is gone: nothing more will go
        size = len(data)
        if size > window:
            size = window
        if size <= 0:
            return 0
        frame = h2.max_outbound_frame_size
        offset = 0
        while offset < size:
            step = min(frame, size - offset)
            h2.send_data(stream_id, data[offset : offset + step] if step != len(data) else data)
            offset += step
        return size

    def end_stream(self, stream_id: int) -> None:
        try:
            self.h2.end_stream(stream_id)
        except (ProtocolError, StreamClosedError):
            pass

    def reset_stream(self, stream_id: int, code: int) -> None:
        try:
            self.h2.reset_stream(stream_id, code)
        except (ProtocolError, StreamClosedError):
            pass

    def acknowledge(self, stream_id: int, size: int) -> None:
        self.h2.acknowledge_received_data(size, stream_id)

    def window_blocked(self, stream: H2Stream) -> None:
        self.blocked[stream.stream_id] = stream

    def uncork(self) -> None:
        """End of an input event: the frames it produced leave in one write."""
        self.out.corked = False
        self.flush()

    def flush_if_uncorked(self) -> None:
        if not self.out.corked:
            self.flush()

    def flush(self) -> None:
        """Write what `h2` has to send and what waits in the buffer."""
        if self.closed:
            return
        out = self.out
        data = self.h2.data_to_send()
        if data:
            out.queue(data)
        if out.chunks and not out.corked:
            if not out.flush():
                self.lost("C")
                return
        if self.close_when_flushed and not out.chunks:
            self.finish()
            return
        self.refresh_interest()

    def refresh_interest(self) -> None:
        if self.closed:
            return
        out = self.out
        reading = not self.close_when_flushed and not out.above_high
        mask = (READ if reading else 0) | (WRITE if out.chunks else 0)
        if mask != self.client.mask:
            self.client.set_mask(mask, self.on_client_event)

    def on_out_level(self, above: bool) -> None:
        """The client lags HIGH_WATER bytes behind: stop reading the servers (and the
        client) until it catches up."""
        self.out_blocked = above
        for stream in list(self.streams.values()):
            stream.update_server_reading()

    # -- streams ending ----------------------------------------------------------------------

    def stream_finished(self, stream: H2Stream) -> None:
        if self.streams.pop(stream.stream_id, None) is None:
            return
        self.blocked.pop(stream.stream_id, None)
        if not stream.client_reset:
            self.completed += 1
        if self.streams or self.closed:
            return
        if self.draining:
            if self.last_stream < 0:
                self.final_goaway()
            self.close_when_flushed = True
            self.flush_if_uncorked()
        else:
            self.deadline.enter(KEEPALIVE, self.loop.now, self.plan.keepalive_timeout)

    def enhance_your_calm(self, stream: H2Stream) -> None:
        """`http-request reject`: HAProxy kills the connection (GOAWAY and RST_STREAM
        ENHANCE_YOUR_CALM); the rejected stream is logged by its exchange."""
        self.reset_stream(stream.stream_id, ENHANCE_YOUR_CALM)
        stream.local_closed = stream.remote_closed = True
        self.streams.pop(stream.stream_id, None)
        self.goaway(ENHANCE_YOUR_CALM)

    def drop_silently(self, stream: H2Stream) -> None:
        """`silent-drop` (the socket is already made silent): no frame, the streams
        in flight end as client aborts, the connection closes."""
        stream.local_closed = stream.remote_closed = True
        self.streams.pop(stream.stream_id, None)
        self.abort_streams("C")
        self.finish()

    def goaway(self, code: int) -> None:
        """Connection error: GOAWAY with `code`, every stream in flight ends, the connection closes."""
        self.send_goaway(code, self.h2.highest_inbound_stream_id)
        self.abort_streams("C")
        self.close_when_flushed = True
        self.out.corked = False
        self.flush()

    def send_goaway(self, code: int, last_stream: int) -> None:
        """A GOAWAY frame written by hand: `h2`'s own close_connection would refuse
        every frame after it, and the streams in flight must go on."""
        frame = GoAwayFrame(0)
        frame.last_stream_id = last_stream
        frame.error_code = code
        self.out.queue(self.h2.data_to_send() + frame.serialize())

    def final_goaway(self) -> None:
        self.last_stream = max(self.h2.highest_inbound_stream_id, 0)
        self.send_goaway(NO_ERROR, self.last_stream)
        if not self.streams:
            self.close_when_flushed = True
        self.flush_if_uncorked()

    def protocol_error(self) -> None:
        """`h2` refused what the client sent (it queued its GOAWAY): everything ends."""
        self.abort_streams("C")
        self.close_when_flushed = True
        self.out.corked = False
        self.flush()

    def abort_streams(self, side: str) -> None:
        for stream in list(self.streams.values()):
            ex = stream.ex
            if ex is not None and not stream.logged and stream.started:
                stream.abort(ex, side + ("H" if ex.status < 0 else "D"))
            stream.finished = True
        self.streams.clear()
        self.blocked.clear()
        self.to_start.clear()

    def lost(self, side: str) -> None:
        """The client connection failed or closed: streams in flight are logged as aborts."""
        if self.closed:
            return
        self.abort_streams(side)
        self.finish()

    # -- timeouts, stop, worker hooks ------------------------------------------------------------

    def on_deadline(self, phase: Phase, due: float) -> float:
        """An idle connection (no stream) reached its timeout: GOAWAY and close."""
        if self.streams:
            return 0.0
        if phase == KEEPALIVE or phase == REQUEST:
            self.send_goaway(NO_ERROR, max(self.h2.highest_inbound_stream_id, 0))
            self.close_when_flushed = True
            self.flush()
        return 0.0

    def on_soft_stop(self) -> None:
        """Graceful stop: GOAWAY (last id 2^31-1) and a PING; the final GOAWAY when it returns."""
        if self.draining or self.closed:
            return
        self.draining = True
        self.send_goaway(NO_ERROR, MAX_STREAM_ID)
        self.out.queue(PingFrame(0, opaque_data=DRAIN_PING).serialize())
        self.drain_timer = self.loop.call_later(DRAIN_WAIT, self.drain_timeout)
        self.flush_if_uncorked()

    def drain_timeout(self) -> None:
        """The client did not answer the PING: the final GOAWAY all the same."""
        if not self.closed and self.last_stream < 0:
            self.final_goaway()

    def finish(self) -> None:
        """Close the connection (every stream is logged already, or never will be)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.deadline.cancel()
            if self.drain_timer is not None:
                self.drain_timer.cancel()
            for stream in list(self.streams.values()):
                if stream.ex is not None:
                    stream.ex.abandon()
                stream.deadline.cancel()
            self.streams.clear()
        finally:
            self.client.close()

    def target(self) -> tuple[str | None, str | None]:
        for stream in self.streams.values():
            ex = stream.ex
            if ex is not None and ex.backend is not None:
                return ex.backend.name, ex.server.name if ex.server is not None else None
        return None, None

    def on_server(self, index: int) -> bool:
        for stream in self.streams.values():
            ex = stream.ex
            if ex is not None and ex.server is not None and ex.server.index == index and not ex.resp_done:
                return True
        return False

    def kill(self) -> None:
        for stream in list(self.streams.values()):
            stream.kill()
        self.goaway(NO_ERROR)

    def internal_error(self) -> None:
        """A bug in a connection callback: GOAWAY INTERNAL_ERROR, streams logged, closed."""
        if not self.closed:
            self.goaway(int(ErrorCodes.INTERNAL_ERROR))
            if not self.closed:
                self.finish()

    def abort(self) -> None:
        self.finish()


HANDLERS: dict[type, Any] = {
    ev.RequestReceived: H2Connection.on_request,
    ev.DataReceived: H2Connection.on_data,
    ev.TrailersReceived: H2Connection.on_trailers,
    ev.StreamEnded: H2Connection.on_stream_end,
    ev.StreamReset: H2Connection.on_stream_reset,
    ev.WindowUpdated: H2Connection.on_window,
    ev.RemoteSettingsChanged: H2Connection.on_settings,
    ev.PingAckReceived: H2Connection.on_ping_ack,
    ev.ConnectionTerminated: H2Connection.on_goaway,
}
