"""One HTTP/2 stream: the client side of one exchange (worker).

An H2Stream is to an HTTP/2 stream what an H1Connection is to an HTTP/1
connection: the ClientSide (workers/http/exchange.py) of the Exchange that
carries its request through rules, routing, balancing, the server and the
log.  The socket, the `h2` state machine and the frames belong to the
H2Connection (workers/http/h2.py); a stream asks it to send.

Backpressure both ways, with HTTP/2 flow control:
- request body: what the client sends is acknowledged (WINDOW_UPDATE) only
  once the server connection has taken it (less than HIGH_WATER waiting),
  so the client can never have more than its window in flight;
- response body: what the client's window does not allow waits in
  `pending`, and the server is not read until the window opens again (or
  while the client socket lags HIGH_WATER behind).

Each stream has its own Deadline (timeout server, 504 `sH`; a stalled
transfer `sD`, or `cD` when the client does not take the data).  A stream
lb cannot serve is reset (RST_STREAM) and the connection goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from h2.errors import ErrorCodes

from lb.sticktables.tracking import silent_drop
from workers.http import h2heads
from workers.http.deadlines import Deadline, Phase, SERVER_DATA
from workers.http.exchange import ClientSide, Exchange
from workers.http.log import exchange_ended
from workers.counting import REQUESTS

if TYPE_CHECKING:
    from lb.logs.record import LogRecord
    from workers.http.h2 import H2Connection
    from workers.http.policy import LocalReply
    from workers.http.serverconn import ServerConn
    from workers.http.tunnel import Tunnel
    from workers.runtime import ServerRuntime

HIGH_WATER = 65536
NO_ERROR = int(ErrorCodes.NO_ERROR)
PROTOCOL_ERROR = int(ErrorCodes.PROTOCOL_ERROR)
INTERNAL_ERROR = int(ErrorCodes.INTERNAL_ERROR)
REFUSED_STREAM = int(ErrorCodes.REFUSED_STREAM)
COMPRESSION_ERROR = int(ErrorCodes.COMPRESSION_ERROR)


class H2Stream(ClientSide):
    def __init__(self, h2c: H2Connection, stream_id: int, accept_time: float, accept_date: float,
                 handshake_ms: int, requests: int) -> None:  # fmt: skip
        client = h2c.client
        self.h2c = h2c
        self.stream_id = stream_id
        self.loop = h2c.loop
        self.worker = h2c.worker
        self.frontend = h2c.frontend
        self.facts = h2c.facts
        self.plan = h2c.plan
        self.out = h2c.out  # corked by the exchange during a server event: frames leave together
        self.deadline = Deadline(h2c.loop, self)
        self.conn = None  # streams take server connections from the worker's pool
        self.closing = False
        self.proxy_addresses = h2c.proxy_addresses
        self.accept_time = accept_time  # HAProxy: the previous stream's start (the connection's for the first)
        self.accept_date = accept_date
        self.handshake_ms = handshake_ms
        self.requests = requests  # streams of the connection so far, this one included
        self.client = self  # what the log reads (base_record, counts)
        self.counts = client.counts
        self.ex: Exchange | None = None
        self.pending: list[bytes] = []  # response data waiting for the client's window
        self.pending_size = 0
        self.end_pending = False  # END_STREAM (with trailers) to send once `pending` is out
        self.trailers: list[tuple[bytes, bytes]] | None = None
        self.reset_after_end = False  # the request is still coming: RST_STREAM(NO_ERROR) after the end
        self.headers_sent = False
        self.local_closed = False  # END_STREAM or RST_STREAM sent
        self.remote_closed = False  # END_STREAM or RST_STREAM received
        self.unacked = 0  # request bytes received and not acknowledged yet
        self.received = 0  # request bytes (for the byte counters)
        self.logged = False
        self.started = False
        self.finished = False
        self.client_reset = False  # reset by the client before its exchange ended

    # -- the request (called by the H2Connection) --------------------------------------------

    def on_request(self, headers: list[tuple[bytes, bytes]], end_stream: bool, idle_ms: int) -> bool:
        """A HEADERS frame opened the stream: False when it is refused (reset)."""
        now = self.loop.now
        ex = Exchange(self, now, idle_ms)
        self.received = h2heads.fields_size(headers)
        verdict = h2heads.request_into(ex, headers, end_stream, self.plan.limits, self.h2c.bufsize)
        if verdict == h2heads.REFUSE:
            self.reset(PROTOCOL_ERROR)
            return False
        if verdict == h2heads.UNDECODABLE:
            self.local_closed = self.remote_closed = True
            self.h2c.goaway(COMPRESSION_ERROR)
            return False
        self.ex = ex
        ex.headers_at = now
        self.frontend.tally[REQUESTS] += 1
        self.facts.requests = self.requests
        if verdict == h2heads.BAD_REQUEST:
            self.started = True
            ex.started = True
            ex.complete = end_stream
            ex.term = "PR"
            ex.send_error(400)
        return True

    def start(self) -> None:
        """Rules, routing, a server (after the whole read that carried the request is parsed)."""
        ex = self.ex
        if ex is not None and not self.started and not self.finished:
            self.started = True
            ex.start()

    def on_data(self, data: bytes, flow_controlled: int) -> None:
        ex = self.ex
        self.received += len(data)
        self.unacked += flow_controlled
        if data and ex is not None and not self.logged:  # an empty DATA frame would be a last chunk to the server
            ex.request_body(data)
        self.acknowledge()

    def on_trailers(self, headers: list[tuple[bytes, bytes]]) -> None:
        ex = self.ex
        if ex is not None:
            ex.trailers = h2heads.regular_fields(headers)

    def on_end(self) -> None:
        """END_STREAM from the client: the request is complete."""
        self.remote_closed = True
        ex = self.ex
        if ex is None or self.logged:
            self.check_finished()
            return
        if not ex.complete:
            ex.request_complete()
        if ex.resp_done:
            self.exchange_done(ex)

    def on_reset(self) -> None:
        """RST_STREAM from the client: the exchange in progress is logged as a client abort."""
        self.remote_closed = self.local_closed = True
        self.pending.clear()
        self.pending_size = 0
        ex = self.ex
        if ex is not None and not self.logged:
            self.client_reset = True
            self.abort(ex, "C" + ("H" if ex.status < 0 else "D"))
        self.check_finished()

    def acknowledge(self) -> None:
        """Hand the window back once the server has taken the body (backpressure)."""
        if not self.unacked:
            return
        ex = self.ex
        if ex is not None and not self.logged:
            conn = ex.conn
            if (conn.out.size if conn is not None else 0) + ex.body_size >= HIGH_WATER:
                return
        self.h2c.acknowledge(self.stream_id, self.unacked)
        self.unacked = 0

    # -- writing (the exchange's ClientSide) ---------------------------------------------------

    def uncork(self) -> None:
        self.h2c.uncork()

    def refresh_interest(self) -> None:
        self.acknowledge()
        self.h2c.flush_if_uncorked()

    def send_interim(self, ex: Exchange, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        if not self.local_closed:
            self.h2c.send_headers(self.stream_id, h2heads.interim_fields(status, headers), False)

    def send_response_head(self, ex: Exchange, version: str, reason: bytes) -> None:
        fields = h2heads.response_fields(ex, version)
        ex.close_after = not ex.complete  # the answer ends the stream: the rest of the request is refused
        if self.local_closed:
            return
        self.headers_sent = True
        ex.bytes_out += 9 + h2heads.fields_size(fields)
        end = ex.resp_no_body
        self.h2c.send_headers(self.stream_id, fields, end)
        if end:
            self.local_closed = True

    def send_response_body(self, ex: Exchange, body: bytes) -> None:
        ex.bytes_out += len(body)
        if self.local_closed:
            return
        if self.pending:
            self.pending.append(body)
            self.pending_size += len(body)
            return
        sent = self.h2c.send_data(self.stream_id, body)
        if sent < len(body):
            rest = body[sent:]
            self.pending.append(rest)
            self.pending_size += len(rest)
            self.h2c.window_blocked(self)
            self.update_server_reading()

    def end_response(self, ex: Exchange) -> None:
        self.trailers = ex.resp_trailers
        self.end_pending = True
        if not self.pending:
            self.send_end()

    def send_end(self) -> None:
        self.end_pending = False
        if self.local_closed:
            return
        self.local_closed = True
        trailers = self.trailers
        if trailers:
            self.h2c.send_headers(self.stream_id, h2heads.lower_names(trailers), True)
        else:
            self.h2c.end_stream(self.stream_id)
        if self.reset_after_end and not self.remote_closed:
            self.h2c.reset_stream(self.stream_id, NO_ERROR)
            self.remote_closed = True

    def send_reply(self, ex: Exchange, reply: LocalReply) -> None:
        if reply.silent:  # silent-drop: the connection goes without a frame (HAProxy: the whole connection)
            silent_drop(self.h2c.sock)
            self.h2c.drop_silently(self)
            return
        data = reply.render(False, False, ex.method == b"HEAD")
        if not data:  # `http-request reject` or an empty errorfile: HAProxy kills the connection
            self.h2c.enhance_your_calm(self)
            return
        fields, body = h2heads.reply_parts(data)
        ex.bytes_out += len(data)
        if self.local_closed:
            return
        self.headers_sent = True
        self.h2c.send_headers(self.stream_id, fields, not body)
        if body:
            self.send_response_body(ex, body)
            ex.bytes_out -= len(body)
            self.trailers = None
            self.end_pending = True
            if not self.pending:
                self.send_end()
        else:
            self.local_closed = True

    def take_server_conn(self, server: ServerRuntime) -> ServerConn | None:
        return self.worker.idle_pool.take(server)

    def start_tunnel(self, tunnel: Tunnel) -> None:
        raise RuntimeError("no tunnel over an HTTP/2 stream")  # never upgrade: the request carries no Upgrade

    # -- flow control ------------------------------------------------------------------------------

    def window_opened(self) -> None:
        """The client's window grew: send what waits, then the end of the stream."""
        pending = self.pending
        while pending and not self.local_closed:
            data = pending[0]
            sent = self.h2c.send_data(self.stream_id, data)
            self.pending_size -= sent
            if sent < len(data):
                pending[0] = data[sent:]
                break
            pending.pop(0)
        if not pending:
            if self.end_pending:
                self.send_end()
            self.update_server_reading()
            self.check_finished()
        else:
            self.h2c.window_blocked(self)

    def update_server_reading(self) -> None:
        """Read the server only while the client takes what it sends."""
        ex = self.ex
        if ex is not None and ex.conn is not None and not ex.conn.closed:
            paused = bool(self.pending) or self.h2c.out_blocked
            if ex.conn.reading == paused:
                ex.conn.pause_reading(paused)

    # -- the end of the exchange -------------------------------------------------------------------

    def exchange_done(self, ex: Exchange) -> None:
        """Count and log the exchange, keep its server connection for reuse, end the stream."""
        if self.logged:
            return
        self.logged = True
        self.deadline.cancel()
        if ex.server_counted:
            ex.server_counted = False
            ex.server.drop_conn()  # type: ignore[union-attr]  # counted: it has a server
        self.log(ex)
        conn = ex.conn
        if conn is not None:
            ex.conn = None
            if ex.resp_done and not conn.out.chunks and not conn.closed and not self.h2c.closed:
                self.worker.idle_pool.put(conn)
            else:
                conn.close()
        if not self.end_pending and not self.local_closed:
            # the response never ended cleanly: the client must not take it as complete
            self.reset(INTERNAL_ERROR if self.headers_sent else REFUSED_STREAM)
        elif not self.remote_closed:
            self.reset_after_end = True
            if self.local_closed:
                self.h2c.reset_stream(self.stream_id, NO_ERROR)
                self.remote_closed = True
        self.acknowledge()
        self.check_finished()

    def log(self, ex: Exchange) -> None:
        exchange_ended(self, ex, self.received, self.counts)

    def abort(self, ex: Exchange, term: str) -> None:
        """End the exchange now (client reset, connection lost, killed): logged with `term`."""
        ex.term = term
        ex.abandon()
        self.pending.clear()
        self.pending_size = 0
        self.exchange_done(ex)

    def reset(self, code: int) -> None:
        if not self.local_closed or not self.remote_closed:
            self.h2c.reset_stream(self.stream_id, code)
        self.local_closed = self.remote_closed = True
        self.pending.clear()
        self.pending_size = 0
        self.end_pending = False
        ex = self.ex
        if ex is not None and not self.logged and ex.started:
            ex.abandon()
            self.exchange_done(ex)
        self.check_finished()

    def check_finished(self) -> None:
        if not self.finished and self.local_closed and self.remote_closed and not self.pending \
                and (self.logged or self.ex is None):  # fmt: skip
            self.finished = True
            self.deadline.cancel()
            self.client = None  # type: ignore[assignment]  # the self-reference the log needed
            self.h2c.stream_finished(self)

    def base_record(self) -> LogRecord:
        """The connection's log fields as HAProxy gives them to a stream: the first
        stream has the connection's accept date and handshake, later ones start at
        the previous stream's creation, without handshake."""
        record = self.h2c.client.base_record()
        record.accept_date = self.accept_date
        record.t_handshake = self.handshake_ms
        record.t_total = int((self.loop.now - self.accept_time) * 1000)
        return record

    # -- timeouts and errors ---------------------------------------------------------------------

    def on_deadline(self, phase: Phase, due: float) -> float:
        ex = self.ex
        if ex is None or self.logged:
            return 0.0
        now, deadline = self.loop.now, self.deadline
        if phase == SERVER_DATA and ex.conn is not None and not ex.conn.reading:
            # the server waits for the client to take the data: timeout client (cD)
            client_timeout = (self.frontend.timeouts.client or 0) / 1000
            later = self.h2c.last_io + client_timeout if client_timeout else now + deadline.timeout
            if now < later:
                return later
            self.abort(ex, "cD")
            return 0.0
        later = deadline.idle_due(deadline.server_io)
        if now < later:
            return later
        deadline.clear()
        ex.expired(phase)
        return 0.0

    def internal_error(self) -> None:
        """A bug in one of this stream's callbacks: 500 if nothing was answered, else a reset."""
        ex = self.ex
        if ex is not None and not self.logged and ex.status < 0 and not self.headers_sent:
            ex.term = "IH"
            ex.abandon()
            ex.send_error(500)
            self.h2c.flush_if_uncorked()
            return
        self.reset(INTERNAL_ERROR)
        self.h2c.flush_if_uncorked()

    def kill(self) -> None:
        ex = self.ex
        if ex is not None and not self.logged:
            phase = "D" if ex.status >= 0 else "H" if ex.sent_at >= 0 else "C" if ex.server is not None else "Q"
            self.abort(ex, "K" + phase)
        self.reset(INTERNAL_ERROR)
