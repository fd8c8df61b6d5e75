"""mode http: the server side of a session and the response path (worker).

ResponseSide is mixed into HttpSession: a server connection for the txn at
the head of the queue (the session's own, an idle one of the worker's
pool, or a new one through the Connector), the response parsed by the
connection's httptools parser (ResponseEvents forwards its callbacks
here), its head rewritten, its body streamed, and the end of the txn:
log line, connection kept or closed, next pipelined request.
"""

from __future__ import annotations

import socket
from typing import Any

import httptools

from lb.balance.base import QUEUE
from workers import http_rules
from workers.http_server import ServerConn
from lb.logs.record import HTX_END_OF_HEADERS, HTX_START_LINE
from workers.http_txn import NO_BODY_STATUS, HttpTxn, encode_chunk, last_chunk
from workers.runtime import C_RESP_ERRORS, ServerRuntime
from workers.upstream import Connector


class ResponseEvents:
    """The protocol object of a connection's response parser.

    httptools looks its callbacks up once, so the ones that only forward are
    the session's bound methods themselves (one Python call less each)."""

    __slots__ = ("reason", "headers", "on_headers_complete", "on_body", "on_message_complete")

    def __init__(self, session: Any) -> None:
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.on_headers_complete = session.resp_headers_complete
        self.on_body = session.resp_body
        self.on_message_complete = session.resp_complete

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))  # trailers land in the next list, dropped at message end


class ResponseSide:
    # -- getting a server ---------------------------------------------------

    def connect_txn(self, txn: HttpTxn) -> None:
        backend = txn.backend
        server = http_rules.persistent_server(self, txn) if txn.persist is not None else None
        if server is None:
            server = backend.balancer.pick(self, None)
            if server is None:
                self.no_server(txn, "SC")
                return
        if server is not QUEUE:
            conn = self.conn  # keep-alive: usually the session's own connection
            if conn is None or conn.server is not server or conn.closed:
                conn = self.reusable_conn(server)
            if conn is not None:
                txn.t_queue = txn.t_connect = 0
                server.take_conn()
                self.use_conn(txn, conn)
                return
        self.release_conn()
        txn.connector = Connector(
            self.loop, backend, self, self.on_connected, self.on_connect_failed,
            (self.proxy_src, self.proxy_dst), self.frontend_port, None if server is QUEUE else server,
        )  # fmt: skip
        txn.connector.start()

    def reusable_conn(self, server: ServerRuntime) -> ServerConn | None:
        conn = self.conn
        if conn is not None and conn.server is server and not conn.closed:
            return conn
        self.release_conn()
        return self.worker.idle_pool.take(server)

    def release_conn(self) -> None:
        """The session's server connection goes back to the worker's pool (or closes)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            if conn.closed:
                pass
            elif conn.pending or not conn.reusable:
                conn.close()
            else:
                self.worker.idle_pool.put(conn)

    def on_connected(self, sock: socket.socket, server: ServerRuntime) -> None:
        txn = self.txns[0]
        self.take_connector_facts(txn)
        txn.t_connect = txn.connector.t_connect
        txn.connector = None
        self.use_conn(txn, ServerConn(self.loop, sock, server))

    def on_connect_failed(self, term: str) -> None:
        txn = self.txns[0]
        self.take_connector_facts(txn)
        txn.server = txn.connector.server  # HAProxy logs the last server it tried (None: no server)
        txn.connector = None
        self.no_server(txn, term)

    @staticmethod
    def take_connector_facts(txn: HttpTxn) -> None:
        connector = txn.connector
        txn.t_queue = connector.t_queue
        txn.retries, txn.redispatched = connector.retries_done, connector.redispatched

    def no_server(self, txn: HttpTxn, term: str) -> None:
        txn.term = term
        self.send_error(txn, 503)

    def use_conn(self, txn: HttpTxn, conn: ServerConn) -> None:
        """Send the request head (and any body already read) on `conn`."""
        self.conn = conn
        txn.server = conn.server
        txn.server_counted = True
        if conn.owner is not self:
            conn.attach(self, ResponseEvents(self))
        conn.requests += 1
        if txn.rules is not None:
            http_rules.server_chosen(txn, conn.server)
        txn.sent_at = now = self.loop.now
        conn.send(http_rules.request_head(self, txn))
        if txn.body:
            self.send_pending_body(txn)
        self.set_deadline("server", now, txn.backend.timeouts.server)
        if not self.corked:
            self.update_client_mask()  # body buffered while connecting may have paused the client

    # -- server events -------------------------------------------------------

    def on_server_data(self, data: bytes) -> None:
        self.last_server_io = self.loop.now
        if self.tunnel:
            if self.txns:
                self.txns[0].resp_payload += len(data)  # HAProxy counts tunnelled bytes in %B
            self.send_client(data)
            return
        self.corked = True
        try:
            self.conn.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            rest = data[upgrade.args[0] :]
            if rest and self.tunnel:
                self.txns[0].resp_payload += len(rest)
                self.send_client(rest)
        except httptools.HttpParserError:
            if self.conn is not None:  # not already handled by a callback
                self.bad_response()
        finally:
            self.uncork()

    def on_server_eof(self) -> None:
        if self.tunnel:
            self.tunnel_server_eof()
            return
        txn = self.txns[0] if self.txns else None
        if txn is None or txn.resp_done:
            self.drop_server_conn()
        elif txn.status < 0:
            if not self.retry_on_fresh_conn(txn):
                self.server_failed(txn, 502, "SH")
        elif txn.resp_until_close:
            self.drop_server_conn()
            self.finish_response(txn)
        else:
            self.abort_response(txn, "SD")

    def on_server_error(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is None or txn.resp_done:
            self.drop_server_conn()
        elif txn.status < 0:
            if not self.retry_on_fresh_conn(txn):
                self.server_failed(txn, 502, "SH")
        else:
            self.abort_response(txn, "SD")

    def retry_on_fresh_conn(self, txn: HttpTxn) -> bool:
        """A reused connection closed by the server before answering: the request
        never reached the application, so send it once more on a new connection
        (only without a body, which is gone)."""
        conn = self.conn
        if conn is None or conn.requests <= 1 or txn.bytes_in or txn.retried:
            return False
        txn.retried = True
        self.drop_server_conn()
        txn.server.drop_conn()
        txn.server_counted = False
        txn.sent_at = -1.0
        self.connect_txn(txn)
        return True

    def bad_response(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is None or txn.resp_done:
            self.drop_server_conn()
        elif txn.status < 0:
            self.server_failed(txn, 502, "PH")
        else:
            self.abort_response(txn, "SD")

    def server_failed(self, txn: HttpTxn, status: int, term: str) -> None:
        txn.term = term
        txn.backend.count(C_RESP_ERRORS)
        self.drop_server_conn()
        self.send_error(txn, status)

    def drop_server_conn(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    # -- the response ----------------------------------------------------------

    def resp_headers_complete(self) -> None:
        txn = self.txns[0]
        conn = self.conn
        events, parser = conn.events, conn.parser
        status = parser.get_status_code()
        headers, reason = events.headers, events.reason
        events.headers, events.reason = [], b""
        if 100 <= status < 200 and status != 101:
            self.send_client(http_rules.interim_head(status, reason, headers))  # 100 Continue and friends
            txn.interim_size += HTX_START_LINE + 11 + len(reason) + HTX_END_OF_HEADERS + \
                sum(len(n) + len(v) for n, v in headers)  # fmt: skip
            return
        txn.response_at = self.loop.now
        txn.status = status
        txn.resp_headers = headers
        txn.reason = reason
        txn.resp_no_body = status in NO_BODY_STATUS or txn.method == b"HEAD"
        head, reply = http_rules.response_phase(self, txn, parser.get_http_version(), reason)
        if reply is not None:
            self.drop_server_conn()
            self.reply_local(txn, reply, close=True)
            return
        if self.corked:  # inside on_server_data: the usual case, queue for the one write
            self.out.append(head)
            self.out_size += len(head)
        else:
            self.send_client(head)
        txn.bytes_out += len(head)
        self.deadline_kind = "server-data"
        if status == 101 and txn.upgrade:
            self.start_tunnel(txn)
        elif txn.resp_no_body:
            self.conn.new_response()  # a HEAD response has no body whatever it announces
            self.finish_response(txn)

    def resp_body(self, body: bytes) -> None:
        txn = self.txns[0]
        txn.resp_payload += len(body)
        if txn.resp_chunked:
            body = encode_chunk(body)
        size = len(body)
        txn.bytes_out += size
        if self.corked:  # as send_client(), without the call: queued for the event's one write
            self.out.append(body)
            self.out_size += size
        else:
            self.send_client(body)

    def resp_complete(self) -> None:
        events = self.conn.events if self.conn is not None else None
        trailers = None
        if events is not None and events.headers:
            trailers, events.headers = events.headers, []  # trailer fields of a chunked response
        txn = self.txns[0] if self.txns else None
        if txn is not None:
            txn.resp_trailers = trailers
        if txn is not None and not txn.resp_done and txn.status >= 200:
            self.finish_response(txn)

    def finish_response(self, txn: HttpTxn) -> None:
        if txn.resp_chunked:
            end = last_chunk(txn.resp_trailers)
            self.send_client(end)
            txn.bytes_out += len(end)
        txn.resp_done = True
        if txn.server_close or txn.resp_until_close or not txn.complete or self.plan.mode or txn.backend.plan.mode:
            self.drop_server_conn()  # http-server-close or httpclose on either side: not kept
        if txn.complete or txn.close_after:
            self.end_txn(txn)

    def abort_response(self, txn: HttpTxn, term: str) -> None:
        """The response cannot be completed: the client connection is closed."""
        txn.term = term
        self.drop_server_conn()
        txn.close_after = True
        txn.resp_done = True
        self.end_txn(txn)

    # -- ending a txn -----------------------------------------------------------

    def end_txn(self, txn: HttpTxn) -> None:
        """Log the exchange, then serve the next pipelined request or wait for one."""
        txns = self.txns
        if txns and txns[0] is txn:
            txns.popleft()
        if txn.server_counted:
            txn.server.drop_conn()
            txn.server_counted = False
        if self.frontend.logger is not None:
            self.log_txn(txn)
        self.received_done = self.received
        if self.pending_error and not txns:
            self.pending_error, status = 0, self.pending_error
            txns.append(HttpTxn(-1.0, 0))
            self.reject(txns[0], status, "PR")
            return
        if txn.close_after or self.closing:
            self.close_when_flushed = True
            self.flush_client()
            return
        self.idle_since = self.loop.now
        if txns:
            if txns[0].headers_at >= 0 and not txns[0].started:
                self.start_txn(txns[0])
        else:
            self.set_deadline("keepalive", self.idle_since, self.plan.keepalive_timeout)
        if not self.corked:
            self.update_client_mask()

    def abort_txn(self, txn: HttpTxn, term: str) -> None:
        """The client went away: release the server side, log, close."""
        txn.term = term
        if txn.connector is not None:
            txn.connector.cancel()
            txn.connector = None
        self.drop_server_conn()
        if self.txns and self.txns[0] is txn:
            self.txns.popleft()
        if txn.server_counted:
            txn.server.drop_conn()
            txn.server_counted = False
        self.log_txn(txn)
        self.txns.clear()
        self.finish_quietly()

    def log_txn(self, txn: HttpTxn) -> None:
        if self.frontend.logger is not None:
            self.current_txn = txn
            self.log(txn.term)
            self.current_txn = None

    # -- Stream hooks ---------------------------------------------------------------

    def fill_record(self, record: Any, term: str) -> None:
        txn = self.current_txn
        txn.fill_record(record, self.loop.now, self.accept_time, self.accept_date)
        record.cookie_flags = http_rules.cookie_flags(txn)
        record.request_counter = txn.rt
        record.t_total = txn.idle_ms + record.t_active if self.requests > 1 else record.t_total
        backend, server = txn.backend, txn.server
        record.backend = backend.name if backend is not None else None
        record.server = server.name if server is not None else None
        if server is not None:
            record.server_ip, record.server_port = server.address
            record.srvconn = server.current_conns()
            conn = self.conn
            if conn is not None:
                record.backend_src_ip, record.backend_src_port = conn.local_ip, conn.local_port
        if backend is not None:
            record.beconn = backend.current_conns()
            record.backend_queue = len(backend.queue)

    def release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for txn in self.txns:
            if txn.connector is not None:
                txn.connector.cancel()
            if txn.server_counted:
                txn.server.drop_conn()
                txn.server_counted = False
        if self.tunnel:
            self.drop_server_conn()
        else:
            self.release_conn()

    def finish_quietly(self) -> None:
        """Close without a log line (an idle keep-alive connection, or already logged)."""
        self.quiet = True
        self.finish("--")

    def log(self, term: str) -> None:
        if self.current_txn is not None and not self.quiet:
            super().log(term)  # type: ignore[misc]

    def internal_error(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is not None and txn.status < 0 and not self.closed:
            txn.term = "IR" if txn.headers_at < 0 else "IH"
            self.send_error(txn, 500, close=True)
            return
        self.finish_quietly()
