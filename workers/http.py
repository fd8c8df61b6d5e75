"""mode http: the client side of the HTTP/1.1 proxy, on httptools (worker).

One HttpSession per client connection, in uvicorn's shape: an
httptools.HttpRequestParser calls the `# Parser callbacks` below; each
request becomes an HttpTxn queued in `txns`.  Only the first txn is
processed; pipelined ones wait (responses go out in order) and the client
is not read while one is waiting, so buffered data stays bounded.  Bodies
are streamed both ways with backpressure: a side is not read while the
other has more than HIGH_WATER bytes waiting.  The server side and the
response path live in workers/http_response.py (ResponseSide).
"""

from __future__ import annotations

import collections
import selectors
import socket
from typing import Any

import httptools

from lb.http.message import Request
from lb.http.txn import Stream as StreamFacts
from lb.http.txn import Txn
from workers import http_rules
from workers.http_flow import FlowControl
from workers.http_response import ResponseSide
from workers.http_txn import LAST_CHUNK, HttpTxn, encode_chunk
from workers.runtime import C_REQ_ERRORS, C_REQUESTS, FrontendRuntime
from workers.stream import Stream

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
HIGH_WATER = 65536
MAX_HEAD = 16384  # HAProxy's tune.bufsize: a request head must fit in it
MAX_URI = 8192


class HttpSession(ResponseSide, FlowControl, Stream):
    def __init__(self, worker: Any, frontend: FrontendRuntime, sock: socket.socket,
                 peer: tuple[str, int], accept_proxy: bool = False) -> None:  # fmt: skip
        super().__init__(worker, frontend, sock, peer, accept_proxy)
        # Per-connection state
        self.parser = httptools.HttpRequestParser(self)
        self.facts: StreamFacts | None = None
        self.txns: collections.deque[HttpTxn] = collections.deque()
        self.parsing: HttpTxn | None = None
        self.conn: Any = None  # ServerConn bound to this session
        self.out: collections.deque[bytes] = collections.deque()
        self.out_size = 0
        self.client_mask = 0
        self.client_eof = False
        self.closing = False  # close once the current response is out (soft stop, client asked)
        self.close_when_flushed = False
        self.parse_error: str | None = None
        self.tunnel = False
        self.idle_since = self.accept_time
        self.head_size = 0
        self.timer: Any = None
        self.deadline_kind = ""
        self.deadline = 0.0

    # -- connection start ----------------------------------------------------

    def on_ready(self) -> None:
        self.facts = StreamFacts(self.client_ip, self.client_port, self.frontend_ip, self.frontend_port, self.ssl)
        self.update_client_mask()
        request_timeout = self.frontend.timeouts.http_request or self.frontend.timeouts.client
        self.set_deadline("request", self.accept_time, request_timeout)

    def on_client_event(self, mask: int) -> None:
        if mask & WRITE and not self.closed:
            self.flush_client()
        if mask & READ and not self.closed:
            self.read_client()

    def read_client(self) -> None:
        try:
            size = self.client.recv_into(self.worker.scratch)
        except BlockingIOError:
            return
        except OSError:
            self.client_aborted()
            return
        if not size:
            self.on_client_eof()
            return
        data = bytes(self.worker.scratch[:size])
        if self.tunnel:
            self.tunnel_to_server(data)
            return
        self.feed(data)

    def feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            txn = self.txns[-1] if self.txns else None
            if txn is not None:
                txn.early_tunnel_data = data[upgrade.args[0]:]
        except httptools.HttpParserError as exc:
            too_large = exc.__context__ if isinstance(exc.__context__, HeadTooLarge) else None
            self.on_parse_error(str(exc) or "invalid request", too_large.status if too_large else 400)
        self.update_client_mask()

    def update_client_mask(self) -> None:
        """Read while at most one request is pending and its body is not piling up."""
        reading = not self.client_eof and not self.close_when_flushed and self.parse_error is None and (
            self.tunnel or (len(self.txns) <= 1 and self.body_backlog() < HIGH_WATER))  # fmt: skip
        mask = (READ if reading else 0) | (WRITE if self.out else 0)
        if mask != self.client_mask and not self.closed:
            self.client_mask = self.set_mask(self.client, self.client_mask, mask, self.on_client_event)

    def body_backlog(self) -> int:
        pending = self.conn.pending_size if self.conn is not None else 0
        return pending + (self.txns[0].body_size if self.txns else 0)

    # -- Parser callbacks ----------------------------------------------------

    def on_message_begin(self) -> None:
        now = self.loop.now
        idle = int((now - self.idle_since) * 1000) if self.facts and self.facts.requests else 0
        txn = HttpTxn(now, self.accept_date + (now - self.accept_time), idle)
        self.parsing = txn
        self.head_size = 0
        self.txns.append(txn)
        if len(self.txns) == 1 and self.deadline_kind == "keepalive":
            self.set_deadline("request", now, self.frontend.timeouts.http_request or self.frontend.timeouts.client)

    def on_url(self, url: bytes) -> None:
        txn = self.parsing
        txn.url += url
        self.head_size += len(url)
        if len(txn.url) > MAX_URI:
            raise HeadTooLarge(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        txn = self.parsing
        if txn.headers_at >= 0:
            return  # trailers of a chunked body: not forwarded (the body is re-chunked)
        self.head_size += len(name) + len(value) + 4
        if self.head_size > MAX_HEAD:
            raise HeadTooLarge(431)
        txn.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        txn = self.parsing
        parser = self.parser
        txn.headers_at = self.loop.now
        txn.version = parser.get_http_version()
        txn.keep_alive = parser.should_keep_alive()
        txn.upgrade = parser.should_upgrade()
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in txn.raw_headers]
        txn.request = Request(parser.get_method().decode("latin-1"), txn.url.decode("latin-1"), txn.version, headers)
        txn.chunked = any(n.lower() == "transfer-encoding" for n, _ in headers)
        txn.has_body = txn.chunked or any(n.lower() == "content-length" and v.strip() != "0" for n, v in headers)
        txn.rules = Txn(self.facts, txn.request, self.frontend.conf)
        self.facts.requests += 1
        self.frontend.count(C_REQUESTS)
        if txn is self.txns[0]:
            self.start_txn(txn)

    def on_body(self, body: bytes) -> None:
        txn = self.parsing
        txn.bytes_in += len(body)
        self.push_body(txn, encode_chunk(body) if txn.chunked else body)

    def on_message_complete(self) -> None:
        txn = self.parsing
        self.parsing = None
        if txn.chunked:
            self.push_body(txn, LAST_CHUNK)
        txn.complete = True
        if txn.resp_done and txn is self.txns[0]:
            self.end_txn(txn)

    # -- request processing ----------------------------------------------------

    def start_txn(self, txn: HttpTxn) -> None:
        """Rules, routing and a server for the txn at the head of the queue."""
        self.request = txn.request
        self.set_deadline("", 0, None)
        reply = http_rules.request_phase(self, txn)
        if reply is not None:
            self.reply_local(txn, reply)
            return
        self.connect_txn(txn)

    def push_body(self, txn: HttpTxn, wire: bytes) -> None:
        if txn.local_reply:
            return  # answered by lb: the body is read and dropped
        conn = self.conn
        if txn is self.txns[0] and conn is not None and txn.sent_at >= 0 and not txn.body:
            conn.send(wire)
        else:
            txn.body.append(wire)
            txn.body_size += len(wire)

    def send_pending_body(self, txn: HttpTxn) -> None:
        while txn.body:
            chunk = txn.body.popleft()
            txn.body_size -= len(chunk)
            self.conn.send(chunk)

    def on_server_drained(self) -> None:
        self.update_client_mask()

    # -- errors and local replies ------------------------------------------------

    def on_parse_error(self, reason: str, status: int = 400) -> None:
        self.parse_error = reason
        self.frontend.count(C_REQ_ERRORS)
        txn = self.parsing
        if txn is None or (self.txns and txn is not self.txns[0]):
            # garbage after a complete request: answer what is pending, then close
            if txn is not None:
                self.txns.remove(txn)
            self.closing = True
            if not self.txns:
                self.close_when_flushed = True
                self.flush_client()
            return
        txn.local_reply = True
        txn.term = "PR"
        if txn.request is None:
            txn.headers_at = -1
        self.send_error(txn, status, close=True)

    def reply_local(self, txn: HttpTxn, reply: http_rules.LocalReply) -> None:
        """A rule answered (deny, redirect, return): send it, finish when the request is read."""
        txn.local_reply = True
        txn.term = reply.term
        txn.status = reply.status
        txn.body.clear()
        txn.body_size = 0
        close = not txn.complete or not txn.keep_alive or self.closing
        self.send_client(reply.data if not close else http_rules.with_close(reply.data))
        txn.bytes_out += len(reply.data)
        txn.close_after = close
        txn.resp_done = True
        if txn.complete or close:
            self.end_txn(txn)

    def send_error(self, txn: HttpTxn, status: int, close: bool = False) -> None:
        data = http_rules.error_bytes(self, txn, status)
        txn.status = status
        txn.local_reply = True
        close = close or not txn.complete or not txn.keep_alive
        txn.close_after = close
        self.send_client(http_rules.with_close(data) if close else data)
        txn.bytes_out += len(data)
        txn.resp_done = True
        self.end_txn(txn)

    # -- writing to the client ------------------------------------------------------

    def send_client(self, data: bytes | memoryview) -> None:
        if self.closed:
            return
        if not self.out:
            try:
                sent = self.client.send(data)
            except BlockingIOError:
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

    def flush_client(self) -> None:
        while self.out:
            chunk = self.out[0]
            try:
                sent = self.client.send(chunk)
            except BlockingIOError:
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
        if self.out_size <= HIGH_WATER and self.conn is not None and not self.conn.reading and self.txns:
            self.conn.pause_reading(False)
        if not self.out and self.close_when_flushed:
            self.finish("--")
            return
        self.update_client_mask()

    # -- client end ---------------------------------------------------------------

    def on_client_eof(self) -> None:
        self.client_eof = True
        if not self.txns:
            self.finish_quietly()
            return
        txn = self.txns[0]
        if txn.request is None:  # closed in the middle of a request head
            txn.term = "CR"
            self.finish_txn_abort(txn, "CR")
            return
        if self.tunnel:
            self.tunnel_client_eof()
        self.update_client_mask()  # keep serving the response (HAProxy without abortonclose)

    def client_aborted(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is None:
            self.finish_quietly()
            return
        phase = "R" if txn.request is None else ("H" if txn.response is None else "D")
        self.finish_txn_abort(txn, "C" + phase)

    def on_soft_stop(self) -> None:
        """Graceful stop: idle connections close now, busy ones after their response."""
        self.closing = True
        if not self.txns:
            self.finish_quietly()


class HeadTooLarge(Exception):
    """Raised from a parser callback: the head exceeds what lb buffers (414 or 431)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"request head too large ({status})")
        self.status = status
