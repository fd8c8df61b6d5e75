"""mode http: the client side of the HTTP/1.1 proxy, on httptools (worker).

One HttpSession per client connection, in uvicorn's shape: an
httptools.HttpRequestParser calls the `# Parser callbacks` below; each
request becomes an HttpTxn queued in `txns`.  Only the first txn is
processed; pipelined ones wait (responses go out in order) and the client
is not read while one is waiting, so buffered data stays bounded.  Bodies
are streamed both ways with backpressure: a side is not read while the
other has more than HIGH_WATER bytes waiting.  The server side and the
response path are in workers/http_response.py, timeouts and the Upgrade
tunnel in workers/http_flow.py.
"""

from __future__ import annotations

import collections
import selectors
import socket
from typing import Any

import httptools

from lb.rules.txn import ConnFacts as StreamFacts
from workers import http_rules
from workers.http_flow import FlowControl
from workers.http_response import ResponseSide
from workers.http_txn import HttpTxn, encode_chunk, last_chunk
from workers.runtime import C_REQ_ERRORS, C_REQUESTS, FrontendRuntime
from workers.stream import WOULD_BLOCK, Stream

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
HIGH_WATER = 65536
MAX_HEAD = 16384 - 1024  # HAProxy: a head must fit in tune.bufsize minus tune.maxrewrite
MAX_HEADERS = 101  # HAProxy's tune.http.maxhdr
RECV_SIZE = 65536  # recv() of a fresh bytes object: cheaper than recv_into plus a copy


class RequestRejected(Exception):
    """Raised from a parser callback: the request is refused before any rule sees
    it, the way HAProxy's H1 parser refuses it (400, or 422 for a transfer-coding
    other than chunked)."""

    def __init__(self, status: int = 400) -> None:
        super().__init__(f"request rejected ({status})")
        self.status = status


class HttpSession(ResponseSide, FlowControl, Stream):
    def __init__(self, worker: Any, frontend: FrontendRuntime, sock: socket.socket,
                 peer: tuple[str, int], accept_proxy: bool = False, tls: Any = None) -> None:  # fmt: skip
        super().__init__(worker, frontend, sock, peer, accept_proxy, tls)
        # Per-connection state
        self.parser = httptools.HttpRequestParser(self)
        self.plan = frontend.plan
        self.facts: StreamFacts | None = None
        self.txns: collections.deque[HttpTxn] = collections.deque()
        self.parsing: HttpTxn | None = None
        self.conn: Any = None  # ServerConn serving this session
        self.out: collections.deque[bytes | memoryview] = collections.deque()
        self.out_size = 0
        self.corked = False
        self.client_mask = 0
        self.client_eof = False
        self.closing = False  # close after the current response (soft stop, client asked)
        self.close_when_flushed = False
        self.parse_error = False
        self.pending_error = 0  # status of a pipelined request refused while an earlier one is served
        self.tunnel = False
        self.requests = 0
        self.received = 0  # bytes read from the client
        self.received_done = 0  # ... of which belonged to finished requests
        self.idle_since = self.accept_time
        self.head_size = 0
        self.current_txn: HttpTxn | None = None
        self.quiet = False
        self.timer: Any = None
        self.deadline_kind = ""
        self.deadline = 0.0
        self.deadline_timeout = 0.0

    # -- connection start ----------------------------------------------------

    def on_ready(self) -> None:
        self.facts = StreamFacts(self.client_ip, self.client_port, self.frontend_ip, self.frontend_port, self.ssl)
        self.update_client_mask()
        self.set_deadline("request", self.accept_time, self.plan.request_timeout)

    def on_client_event(self, mask: int) -> None:
        """The client socket is ready: write what waits, then read and parse
        (one function: this runs twice per keep-alive request)."""
        if mask & WRITE:
            self.flush_client()
        if self.closed or not mask & READ:
            return  # also a stale event of a session an earlier callback closed
        try:
            data = self.client.recv(RECV_SIZE)
        except WOULD_BLOCK:
            return
        except OSError:
            self.client_aborted()
            return
        if not data:
            self.on_client_eof()
            return
        if self.ssl and self.client.pending():  # decrypted bytes epoll cannot announce
            self.loop.call_soon(self.on_client_event, READ)
        self.received += len(data)
        self.last_client_io = self.loop.now
        if self.tunnel:
            self.tunnel_to_server(data)
            return
        self.corked = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            if self.txns:
                self.txns[-1].early_tunnel_data = data[upgrade.args[0] :]
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            self.on_parse_error(cause.status if isinstance(cause, RequestRejected) else 400)
        # A request starts once the packet that completed its head is parsed:
        # an error later in that packet rejects it before anything is sent.
        txns = self.txns
        if txns and txns[0].headers_at >= 0 and not txns[0].started and not self.closed:
            self.start_txn(txns[0])
        self.uncork()

    def update_client_mask(self) -> None:
        """Read while at most one request is pending and its body is not piling up."""
        if self.closed:
            return
        txns = self.txns
        if self.client_eof or self.close_when_flushed or self.parse_error:
            reading = False
        elif self.tunnel:
            reading = True
        elif len(txns) > 1:
            reading = False
        else:  # request body not yet taken by the server (checked on every event)
            conn = self.conn
            backlog = conn.pending_size if conn is not None else 0
            reading = (backlog + txns[0].body_size if txns else backlog) < HIGH_WATER
        mask = (READ if reading else 0) | (WRITE if self.out and not self.corked else 0)
        if mask != self.client_mask:
            self.client_mask = self.set_mask(self.client, self.client_mask, mask, self.on_client_event)

    # -- Parser callbacks ----------------------------------------------------

    def on_message_begin(self) -> None:
        now = self.loop.now
        idle = int((now - self.idle_since) * 1000) if self.requests else 0
        txn = HttpTxn(now, idle)
        self.parsing = txn
        self.head_size = 0
        self.txns.append(txn)
        if self.deadline_kind == "keepalive":
            self.set_deadline("request", now, self.plan.request_timeout)

    def on_url(self, url: bytes) -> None:
        txn = self.parsing
        txn.url = txn.url + url if txn.url else url
        if len(txn.url) > MAX_HEAD:
            raise RequestRejected(400)

    def on_header(self, name: bytes, value: bytes) -> None:
        txn = self.parsing
        if txn.headers_at >= 0:  # a trailer field of a chunked body
            if txn.trailers is None:
                txn.trailers = []
            txn.trailers.append((name, value.rstrip(b" \t")))
            return
        self.head_size += len(name) + len(value) + 4
        if self.head_size + len(txn.url) > MAX_HEAD or len(txn.raw_headers) >= MAX_HEADERS:
            raise RequestRejected(400)
        txn.raw_headers.append((name, value.rstrip(b" \t")))  # HAProxy trims trailing blanks

    def on_headers_complete(self) -> None:
        txn = self.parsing
        parser = self.parser
        txn.headers_at = self.loop.now
        txn.method = parser.get_method()
        txn.version = parser.get_http_version()
        txn.keep_alive = parser.should_keep_alive()
        txn.upgrade = parser.should_upgrade()
        host = None
        for name, value in txn.raw_headers:
            size = len(name)
            if size == 17 and name.lower() == b"transfer-encoding":
                codings = [c.strip() for c in value.lower().split(b",")]
                if codings != [b"chunked"]:
                    # HAProxy 2.6: codings before a final chunked -> 422, anything else -> 400
                    raise RequestRejected(422 if codings[-1] == b"chunked" else 400)
                txn.chunked = True
            elif size == 4 and name.lower() == b"host":
                if host is not None and value.strip() != host:
                    raise RequestRejected(400)  # differing Host values: a parsing error in HAProxy
                host = value.strip()
        self.requests += 1
        self.facts.requests = self.requests
        frontend = self.frontend
        frontend.counters[frontend.counter_base + C_REQUESTS] += 1

    def on_body(self, body: bytes) -> None:
        txn = self.parsing
        txn.bytes_in += len(body)
        self.push_body(txn, encode_chunk(body) if txn.chunked else body)

    def on_message_complete(self) -> None:
        txn = self.parsing
        self.parsing = None
        if txn.chunked:
            self.push_body(txn, last_chunk(txn.trailers))
        txn.complete = True
        if txn.resp_done and self.txns and txn is self.txns[0]:
            self.end_txn(txn)

    # -- request processing ----------------------------------------------------

    def start_txn(self, txn: HttpTxn) -> None:
        """Rules, routing and a server for the txn at the head of the queue."""
        txn.started = True
        worker = self.worker
        worker.request_counter += 1
        txn.rt = worker.request_counter  # %rt: this request's number in the worker
        self.deadline_kind = ""  # until the request goes out, only the client can stall us
        backend = self.plan.direct_backend
        if backend is None:
            reply = http_rules.request_phase(self, txn)
            if reply is not None:
                self.reply_local(txn, reply)
                return
        else:
            txn.backend = backend  # nothing to evaluate: the raw path
        self.connect_txn(txn)

    def push_body(self, txn: HttpTxn, wire: bytes) -> None:
        if txn.local_reply:
            return  # answered by lb: the body is read and dropped
        if txn.sent_at >= 0 and not txn.body and txn is self.txns[0] and self.conn is not None:
            self.conn.send(wire)
            return
        if txn.body is None:
            txn.body = []
        txn.body.append(wire)
        txn.body_size += len(wire)

    def send_pending_body(self, txn: HttpTxn) -> None:
        if txn.body:
            for chunk in txn.body:
                self.conn.send(chunk)
            txn.body = None
            txn.body_size = 0

    def on_server_drained(self) -> None:
        if self.client_mask & READ == 0:
            self.update_client_mask()

    # -- errors and local replies ------------------------------------------------

    def on_parse_error(self, status: int = 400) -> None:
        """The request cannot be parsed: HAProxy's H1 parser answers with its raw
        error page and logs `<BADREQ>` with `PR--`, before any rule or backend."""
        self.parse_error = True
        self.frontend.count(C_REQ_ERRORS)
        txn = self.parsing
        if txn is None:
            txn = HttpTxn(-1.0, 0)
            self.txns.append(txn)
        if txn is not self.txns[0]:
            self.txns.remove(txn)  # garbage after a request still being served
            self.pending_error = status
            self.closing = True
            return
        self.reject(txn, status, "PR")

    def reject(self, txn: HttpTxn, status: int, term: str, send: bool = True) -> None:
        """End `txn` as a request HAProxy's H1 layer refused (bad request, timeout,
        client gone): whatever was started is undone, the connection closes."""
        if txn.connector is not None:
            txn.connector.cancel()
            txn.connector = None
        if txn.sent_at >= 0 or self.conn is not None:
            self.drop_server_conn()
        if txn.server_counted:
            txn.server.drop_conn()
            txn.server_counted = False
        txn.backend = txn.server = None
        txn.rejected = True
        txn.raw_in = self.received - self.received_done  # what the refused request carried
        txn.status, txn.term = status, term
        txn.local_reply = txn.resp_done = txn.close_after = True
        txn.body = None
        if send:
            data = http_rules.rejection_bytes(self, status)
            if data:
                self.send_client(data)
        self.end_txn(txn)

    def reply_local(self, txn: HttpTxn, reply: http_rules.LocalReply, close: bool = False) -> None:
        """lb answers (a rule's deny, redirect or return, or an error): send it; the
        connection closes unless the request was complete and keep-alive allowed."""
        txn.local_reply = True
        txn.term = reply.term
        txn.status = reply.status
        txn.body = None
        txn.body_size = 0
        txn.close_after = close or reply.closes or not txn.complete or not txn.keep_alive or self.closing
        data = reply.render(txn.close_after, txn.version == "1.0", txn.method == b"HEAD")
        txn.local_data = reply.reply.render() if reply.reply is not None else b""
        if data:
            self.send_client(data)
        txn.bytes_out += len(data)
        txn.resp_done = True
        if txn.complete or txn.close_after:
            self.end_txn(txn)

    def send_error(self, txn: HttpTxn, status: int, close: bool = False) -> None:
        self.reply_local(txn, http_rules.error_reply_for(self, txn, status, txn.term), close)

    # -- writing to the client ------------------------------------------------------

    def send_client(self, data: bytes | memoryview) -> None:
        """Write to the client; while corked (inside one input event) only queue, so
        a response head and its body leave in one system call."""
        if self.closed:
            return
        if self.corked:
            self.out.append(data)
            self.out_size += len(data)
            return
        if not self.out:
            try:
                sent = self.client.send(data)
            except WOULD_BLOCK:
                sent = 0
            except OSError:
                self.client_aborted()
                return
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        self.out.append(data)
        self.out_size += len(data)
        self.update_client_mask()
        if self.conn is not None and self.out_size > HIGH_WATER:
            self.conn.pause_reading(True)

    def uncork(self) -> None:
        """End of one input event: send what was queued in one write, refresh interest."""
        self.corked = False
        if self.closed:
            return
        if self.out:
            if len(self.out) > 1:
                joined = b"".join(self.out)
                self.out.clear()
                self.out.append(joined)
            self.flush_client()
        else:
            self.update_client_mask()

    def flush_client(self) -> None:
        while self.out:
            chunk = self.out[0]
            try:
                sent = self.client.send(chunk)
            except WOULD_BLOCK:
                break
            except OSError:
                self.client_aborted()
                return
            self.out_size -= sent
            if sent < len(chunk):
                self.out[0] = memoryview(chunk)[sent:]
                break
            self.out.popleft()
        self.last_client_io = self.loop.now
        conn = self.conn
        if conn is not None and conn.reading != (self.out_size <= HIGH_WATER):
            conn.pause_reading(self.out_size > HIGH_WATER)
        if not self.out and self.close_when_flushed:
            self.finish("--")
            return
        self.update_client_mask()

    # -- client end ---------------------------------------------------------------

    def on_client_eof(self) -> None:
        self.client_eof = True
        if not self.txns:
            if not self.requests:  # nothing at all on this connection: HAProxy logs it (CR, 400)
                self.txns.append(HttpTxn(-1.0, 0))
                self.reject(self.txns[0], 400, "CR", send=False)
                return
            self.finish_quietly()
            return
        txn = self.txns[0]
        if txn.headers_at < 0:  # closed in the middle of a request head: logged as a 400
            self.reject(txn, 400, "CR", send=False)
            return
        if self.tunnel:
            self.tunnel_client_eof()
        self.update_client_mask()  # keep serving the response (HAProxy without abortonclose)

    def client_aborted(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is None:
            self.finish_quietly()
            return
        if txn.headers_at < 0:
            self.reject(txn, 400, "CR", send=False)
            return
        phase = "R" if txn.headers_at < 0 else ("H" if txn.status < 0 else "D")
        self.abort_txn(txn, "C" + phase)

    def on_soft_stop(self) -> None:
        """Graceful stop: idle connections close now, busy ones after their response."""
        self.closing = True
        if not self.txns:
            self.finish_quietly()
