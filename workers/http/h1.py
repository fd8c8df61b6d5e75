"""mode http: the HTTP/1 client side of a connection, on httptools (worker).

One H1Connection per client connection, in uvicorn's shape: an
httptools.HttpRequestParser calls the `# Parser callbacks` below; each
request becomes an Exchange (workers/http/exchange.py) queued in
`exchanges`.  Only the first is served; pipelined ones wait (responses go
out in order) and the client is not read while one is waiting, so what is
buffered stays bounded.  Bodies are streamed both ways with backpressure:
the client is not read while its request body waits for the server, and
the server is not read while the client has not taken HIGH_WATER bytes.

The H1 layer refuses what HAProxy's refuses before any rule runs (400,
422, 408 for `timeout http-request`), with its raw pages and `<BADREQ>`
log lines.  On a graceful stop, idle keep-alive connections close at once;
a connection that has not sent its first request yet is given until
`timeout http-request` for it, and is answered with `connection: close`.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import httptools

from lb.sticktables.tracking import silent_drop
from workers.buffer import WOULD_BLOCK, OutBuffer
from workers.http import h1end, heads
from workers.http.deadlines import Deadline, KEEPALIVE, Phase, REQUEST
from workers.http.exchange import ClientSide, Exchange
from workers.http.log import exchange_ended
from workers.http.target import RequestRejected, check_request_head
from workers.counting import REQUESTS

if TYPE_CHECKING:
    from workers.client import ClientConn
    from workers.http.policy import LocalReply
    from workers.http.serverconn import ServerConn
    from workers.http.tunnel import Tunnel
    from workers.runtime import ServerRuntime

READ, WRITE = 1, 2
HIGH_WATER = 65536
RECV_SIZE = 65536  # recv() of a fresh bytes object: cheaper than recv_into plus a copy


MANY_CONNECTIONS = 1000  # above this many connections in the worker, idle ones drop their parser


class H1Connection(ClientSide):
    def __init__(self, client: ClientConn) -> None:
        frontend = client.frontend
        assert frontend.plan is not None
        # Per-connection state
        self.client = client
        self.loop = client.loop
        self.worker = client.worker
        self.frontend = frontend
        self.facts = client.facts
        self.accept_time = client.accept_time
        self.accept_date = client.accept_date
        self.plan = frontend.plan
        self.sock = client.sock
        self.ssl = client.facts.ssl
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.feeding = False  # inside parser.feed_data (the parser must not be dropped then)
        self.out = OutBuffer(client.sock, self.on_out_level)
        self.deadline = Deadline(client.loop, self)
        self.exchanges: list[Exchange] = []  # pipelined requests, oldest first (a list: see workers/buffer.py)
        self.parsing: Exchange | None = None
        self.conn: ServerConn | None = None  # the server connection kept between requests
        self.tunnel: Tunnel | None = None
        self.eof = False
        self.closing = False  # close after the current response (soft stop, client asked)
        self.close_when_flushed = False
        self.parse_error = False
        self.pending_error = 0  # status of a pipelined request refused while an earlier one is served
        self.requests = 0
        self.received = 0  # bytes read from the client
        self.received_done = 0  # ... of which belonged to finished requests
        self.idle_since = client.accept_time
        self.head_size = 0
        self.closed = False
        facts = client.facts  # final once the handshakes are done: for send-proxy to every server
        self.proxy_addresses = ((facts.client_ip, facts.client_port), (facts.dst_ip, facts.dst_port))

    def start(self) -> None:
        self.deadline.enter(REQUEST, self.accept_time, self.plan.request_timeout)
        self.refresh_interest()

    # -- reading -----------------------------------------------------------------

    def on_client_event(self, mask: int) -> None:
        """The client socket is ready: write what waits, then read and parse
        (one function: this runs twice per keep-alive request)."""
        if mask & WRITE:
            self.flush()
        if self.closed or not mask & READ:
            return  # also a stale event of a connection an earlier callback closed
        try:
            data = self.sock.recv(RECV_SIZE)
        except WOULD_BLOCK:
            return
        except OSError:
            self.client_aborted()
            return
        if not data:
            self.on_eof()
            return
        if self.ssl and self.sock.pending():  # type: ignore[attr-defined]  # decrypted bytes epoll cannot announce
            self.loop.call_soon(self.on_client_event, READ)
        self.received += len(data)
        self.deadline.client_io = self.loop.now
        if self.tunnel is not None:
            self.tunnel.from_client(data)
            self.refresh_interest()
            return
        self.out.corked = True  # the responses this packet completes leave in one write
        self.parse(data)
        self.uncork()

    def parse(self, data: bytes) -> None:
        partial = self.parsing  # a head that began in an earlier read
        if partial is not None and partial.headers_at >= 0:
            partial = None
        parser = self.parser
        if parser is None:  # dropped while the connection was idle (see exchange_done)
            parser = self.parser = httptools.HttpRequestParser(self)
        feeding, self.feeding = self.feeding, True  # (parse may be re-entered: an Upgrade declined)
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            if self.exchanges:
                ex = self.exchanges[-1]
                ex.early_tunnel_data += data[upgrade.args[0] :]
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            self.on_parse_error(cause.status if isinstance(cause, RequestRejected) else 400)
        self.feeding = feeding
        if partial is not None and partial is self.parsing and partial.headers_at < 0 and not self.closed:
            # still incomplete: all of `data` was head (httptools holds a header line
            # until it ends), so memory stays bounded by tune.bufsize plus one read
            partial.head_fed += len(data)
            if self.head_size + len(partial.url) + partial.head_fed > self.plan.limits.head:
                self.on_parse_error(400)
        # A request starts once the packet that completed its head is parsed:
        # an error later in that packet rejects it before anything is sent.
        exchanges = self.exchanges
        if exchanges and exchanges[0].headers_at >= 0 and not exchanges[0].started and not self.closed:
            exchanges[0].start()

    def refresh_interest(self) -> None:
        """Read while at most one request is pending and its body is not piling up;
        write while bytes wait for the client."""
        if self.closed:
            return
        exchanges = self.exchanges
        if self.eof or self.close_when_flushed or self.parse_error:
            reading = False
        elif self.tunnel is not None:
            reading = self.tunnel.conn.out.size < HIGH_WATER
        elif len(exchanges) > 1:
            reading = False
        elif exchanges:
            ex = exchanges[0]
            conn = ex.conn
            backlog = (conn.out.size if conn is not None else 0) + ex.body_size
            # an Upgrade request waits for its answer: what follows is tunnel data or a next request
            reading = backlog < HIGH_WATER and not (ex.upgrade and ex.headers_at >= 0 and ex.status < 0)
        else:
            reading = True
        mask = (READ if reading else 0) | (WRITE if self.out.chunks and not self.out.corked else 0)
        if mask != self.client.mask:
            self.client.set_mask(mask, self.on_client_event)

    # -- Parser callbacks ----------------------------------------------------

    def on_message_begin(self) -> None:
        now = self.loop.now
        idle = int((now - self.idle_since) * 1000) if self.requests else 0
        ex = Exchange(self, now, idle)
        self.parsing = ex
        self.head_size = 0
        self.exchanges.append(ex)
        if self.deadline.phase == KEEPALIVE:
            self.deadline.enter(REQUEST, now, self.plan.request_timeout)

    def on_url(self, url: bytes) -> None:
        ex = self.parsing
        assert ex is not None
        ex.url = ex.url + url if ex.url else url
        if len(ex.url) > self.plan.limits.head:
            raise RequestRejected(400)

    def on_header(self, name: bytes, value: bytes) -> None:
        ex = self.parsing
        assert ex is not None
        if ex.headers_at >= 0:  # a trailer field of a chunked body
            if ex.trailers is None:
                ex.trailers = []
            ex.trailers.append((name, value.rstrip(b" \t")))
            return
        self.head_size += len(name) + len(value) + 4
        limits = self.plan.limits
        if self.head_size + len(ex.url) > limits.head or len(ex.raw_headers) > limits.headers:
            raise RequestRejected(400)
        ex.raw_headers.append((name, value.rstrip(b" \t")))  # HAProxy trims trailing blanks

    def on_headers_complete(self) -> None:
        ex = self.parsing
        parser = self.parser
        assert ex is not None and parser is not None  # (called by the parser itself)
        ex.headers_at = self.loop.now
        ex.method = parser.get_method()
        ex.version = parser.get_http_version()
        if ex.version == "0.9":
            raise RequestRejected(400)  # HAProxy answers a request without version with 400
        ex.keep_alive = parser.should_keep_alive()
        ex.upgrade = parser.should_upgrade()
        check_request_head(ex)
        self.requests += 1
        self.facts.requests = self.requests
        self.frontend.tally[REQUESTS] += 1

    def on_body(self, body: bytes) -> None:
        ex = self.parsing
        assert ex is not None
        ex.request_body(body)

    def on_message_complete(self) -> None:
        ex = self.parsing
        assert ex is not None
        self.parsing = None
        ex.request_complete()
        if ex.resp_done and self.exchanges and ex is self.exchanges[0]:
            self.exchange_done(ex)

    # -- writing (the exchange's ClientSide) ------------------------------------------

    def send(self, data: bytes | memoryview) -> None:
        out = self.out
        if out.corked:  # inside an input event: queued for its one write
            out.chunks.append(data)
            out.size += len(data)
            return
        if self.closed:
            return
        if not out.write(data):
            self.client_aborted()
            return
        if out.chunks:
            self.refresh_interest()

    def uncork(self) -> None:
        """End of one input event: send what was queued in one write, refresh interest."""
        out = self.out
        out.corked = False
        if self.closed:
            return
        chunks = out.chunks
        if chunks:
            if len(chunks) > 1:  # the head and body of a response: one write
                joined = b"".join(chunks)
                chunks.clear()
                chunks.append(joined)
            if not out.flush():
                self.client_aborted()
                return
        if not out.chunks:
            if self.close_when_flushed:
                self.finish()
                return
            if self.tunnel is not None:
                self.tunnel.client_drained()
        self.refresh_interest()

    def flush(self) -> None:
        """The client socket is writable (or a response ended): write what waits."""
        out = self.out
        if not out.flush():
            self.client_aborted()
            return
        self.deadline.client_io = self.loop.now
        if not out.chunks:
            if self.close_when_flushed:
                self.finish()
                return
            if self.tunnel is not None:
                self.tunnel.client_drained()
        self.refresh_interest()

    def on_out_level(self, above: bool) -> None:
        """The client lags HIGH_WATER bytes behind: stop reading the server until it catches up."""
        conn = self.exchanges[0].conn if self.exchanges else None
        if conn is not None:
            conn.pause_reading(above)

    def send_interim(self, ex: Exchange, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.send(heads.interim_head(status, reason, headers))

    def send_response_head(self, ex: Exchange, version: str, reason: bytes) -> None:
        head = heads.response_head(self, ex, version, reason)
        size = len(head)
        ex.bytes_out += size
        out = self.out
        if out.corked:  # the usual case (inside the server's input event): no call
            out.chunks.append(head)
            out.size += size
        else:
            self.send(head)

    def send_response_body(self, ex: Exchange, body: bytes) -> None:
        if ex.resp_chunked:
            body = heads.encode_chunk(body)
        size = len(body)
        ex.bytes_out += size
        out = self.out
        if out.corked:
            out.chunks.append(body)
            out.size += size
        else:
            self.send(body)

    def end_response(self, ex: Exchange) -> None:
        if ex.resp_chunked:
            end = heads.last_chunk(ex.resp_trailers)
            ex.bytes_out += len(end)
            self.send(end)

    def send_reply(self, ex: Exchange, reply: LocalReply) -> None:
        if reply.silent:  # silent-drop: the close that follows is not seen by the client
            silent_drop(self.sock)
        data = reply.render(ex.close_after, ex.version == "1.0", ex.method == b"HEAD")
        if data:
            self.send(data)
        ex.bytes_out += len(data)

    def take_server_conn(self, server: ServerRuntime) -> ServerConn | None:
        """Keep-alive: the connection kept from the previous request when it goes to
        `server`, else an idle one of the worker's pool."""
        conn = self.conn
        if conn is not None and conn.server is server and not conn.closed:
            self.conn = None
            return conn
        self.release_conn()
        return self.worker.idle_pool.take(server)

    def release_conn(self) -> None:
        """The kept server connection goes back to the worker's pool (or closes)."""
        conn, self.conn = self.conn, None
        if conn is not None and not conn.closed:
            if conn.out.chunks:
                conn.close()
            else:
                self.worker.idle_pool.put(conn)

    def start_tunnel(self, tunnel: Tunnel) -> None:
        self.tunnel = tunnel

    def shutdown_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # -- ending an exchange ---------------------------------------------------------

    def exchange_done(self, ex: Exchange) -> None:
        """Log the exchange, then serve the next pipelined request or wait for one."""
        exchanges = self.exchanges
        if exchanges and exchanges[0] is ex:
            del exchanges[0]
        if ex.server_counted:
            ex.server_counted = False
            ex.server.drop_conn()  # type: ignore[union-attr]  # counted: it has a server
        exchange_ended(self, ex, self.received - self.received_done, self.client.counts)
        conn = ex.conn
        if conn is not None:  # kept for the next request when reusable (finish() pools it), else closed
            ex.conn = None
            if ex.resp_done and self.tunnel is None and not conn.out.chunks and not conn.closed:
                if self.conn is not None:
                    self.release_conn()
                self.conn = conn
            else:
                conn.close()
        self.received_done = self.received
        if self.pending_error and not exchanges:
            self.pending_error, status = 0, self.pending_error
            refused = Exchange(self, -1.0, 0)
            exchanges.append(refused)
            self.reject(refused, status, "PR")
            return
        if ex.close_after or self.closing:
            self.close_when_flushed = True
            self.flush()
            return
        self.idle_since = self.loop.now
        if ex.upgrade and self.tunnel is None and ex.early_tunnel_data:
            self.parser = httptools.HttpRequestParser(self)  # the Upgrade was declined: parse what followed
            self.parse(ex.early_tunnel_data)
        if exchanges:
            if exchanges[0].headers_at >= 0 and not exchanges[0].started:
                exchanges[0].start()
        elif not self.closed:
            self.deadline.enter(KEEPALIVE, self.idle_since, self.plan.keepalive_timeout)
            if not self.feeding and self.parsing is None and self.worker.actconn > MANY_CONNECTIONS:
                # idle among many: the request parser (0.9 KB) is made again by the next
                # request's first bytes (~1 µs), so that thousands of idle keep-alive
                # connections cost less memory; with few, keeping it costs less CPU
                self.parser = None
        if not self.out.corked:
            self.refresh_interest()

    # -- errors and timeouts (workers/http/h1end.py) ------------------------------------

    def on_parse_error(self, status: int = 400) -> None:
        h1end.parse_error(self, status)

    def reject(self, ex: Exchange, status: int, term: str, send: bool = True) -> None:
        h1end.refuse(self, ex, status, term, send)

    def on_eof(self) -> None:
        h1end.client_closed(self)

    def client_aborted(self) -> None:
        h1end.client_aborted(self)

    def on_deadline(self, phase: Phase, due: float) -> float:
        return h1end.timed_out(self, phase, due)

    # -- the end ----------------------------------------------------------------------

    def finish(self) -> None:
        """Close the connection (every exchange is logged already, or never will be)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.deadline.cancel()
            for ex in self.exchanges:
                ex.abandon()
            if self.tunnel is not None and self.conn is not None:
                self.conn.close()
            else:
                self.release_conn()
        finally:
            self.client.close()

    def on_soft_stop(self) -> None:
        h1end.soft_stop(self)

    def target(self) -> tuple[str | None, str | None]:
        ex = self.exchanges[0] if self.exchanges else None
        if ex is None:
            return None, None
        backend, server = ex.backend, ex.server
        return (backend.name if backend is not None else None, server.name if server is not None else None)

    def on_server(self, index: int) -> bool:
        for ex in self.exchanges:
            if ex.server is not None and ex.server.index == index and not ex.resp_done:
                return True
        return False

    def kill(self) -> None:
        h1end.killed(self)

    def internal_error(self) -> None:
        h1end.internal_error(self)

    def abort(self) -> None:
        """A failure while starting (reported by the listener)."""
        self.finish()


