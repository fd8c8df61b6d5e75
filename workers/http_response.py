"""mode http: the server side of a session and the response path (worker).

ResponseSide is mixed into HttpSession: getting a server connection for
the txn at the head of the queue (reusing an idle one when possible),
parsing the response, rewriting its head, streaming its body, and ending
the txn: log line, connection reuse or close, next pipelined request.
"""

from __future__ import annotations

import socket
from typing import Any

from lb.balance.base import QUEUE
from lb.http.message import Response
from workers import http_rules
from workers.http_server import ServerConn
from workers.http_txn import LAST_CHUNK, NO_BODY_STATUS, HttpTxn, encode_chunk
from workers.runtime import C_RESP_ERRORS, ServerRuntime
from workers.upstream import Connector

HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-connection"))


class ResponseEvents:
    """The response parser's protocol object: forwards to the session's resp_* methods."""

    __slots__ = ("session", "reason", "headers", "done_headers")

    def __init__(self, session: Any) -> None:
        self.session = session
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.done_headers = False

    def on_message_begin(self) -> None:
        self.reason, self.headers, self.done_headers = b"", [], False

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.done_headers:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.done_headers = True
        self.session.resp_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        self.session.resp_body(body)

    def on_message_complete(self) -> None:
        self.session.resp_complete()


class ResponseSide:
    # -- getting a server ---------------------------------------------------

    def connect_txn(self, txn: HttpTxn) -> None:
        backend = txn.backend
        server = http_rules.persistent_server(self, txn)
        if server is None:
            server = backend.balancer.pick(self, None)
            if server is None:
                self.no_server(txn, "SC")
                return
        if server is not QUEUE:
            conn = self.reusable_conn(server)
            if conn is not None:
                txn.t_queue = txn.t_connect = 0
                server.take_conn()
                self.use_conn(txn, conn)
                return
        self.release_conn()
        txn.connector = Connector(
            self.loop, backend, self, lambda sock, srv: self.on_connected(txn, sock, srv),
            lambda term: self.on_connect_failed(txn, term), (self.proxy_src, self.proxy_dst),
            self.frontend_port, None if server is QUEUE else server,
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
            if conn.closed or not http_rules.server_keep_alive(self):
                conn.close()
            else:
                self.worker.idle_pool.put(conn)

    def on_connected(self, txn: HttpTxn, sock: socket.socket, server: ServerRuntime) -> None:
        connector = txn.connector
        txn.t_queue, txn.t_connect = connector.t_queue, connector.t_connect
        txn.retries, txn.redispatched = connector.retries_done, connector.redispatched
        txn.connector = None
        if self.closed:
            sock.close()
            server.drop_conn()
            return
        self.use_conn(txn, ServerConn(self.loop, sock, server, self.worker.scratch))

    def on_connect_failed(self, txn: HttpTxn, term: str) -> None:
        connector = txn.connector
        txn.t_queue = connector.t_queue
        txn.retries, txn.redispatched = connector.retries_done, connector.redispatched
        txn.connector = None
        self.no_server(txn, term)

    def no_server(self, txn: HttpTxn, term: str) -> None:
        txn.term = term
        self.send_error(txn, 503)

    def use_conn(self, txn: HttpTxn, conn: ServerConn) -> None:
        self.conn = conn
        txn.server = conn.server
        conn.attach(self)
        conn.events = ResponseEvents(self)
        conn.parser = __import__("httptools").HttpResponseParser(conn.events)
        conn.requests += 1
        txn.sent_at = self.loop.now
        conn.send(http_rules.request_head(self, txn))
        self.send_pending_body(txn)
        self.set_deadline("server", self.loop.now, txn.backend.timeouts.server)
        self.update_client_mask()

    # -- server events -------------------------------------------------------

    def on_server_data(self, data: bytes) -> None:
        if self.tunnel:
            self.send_client(data)
            self.last_server_io = self.loop.now
            return
        self.last_server_io = self.loop.now
        conn = self.conn
        try:
            conn.parser.feed_data(data)
        except __import__("httptools").HttpParserUpgrade as upgrade:
            rest = data[upgrade.args[0]:]
            if rest:
                self.send_client(rest)
        except __import__("httptools").HttpParserError:
            self.bad_response()

    def on_server_eof(self) -> None:
        txn = self.txns[0] if self.txns else None
        if self.tunnel:
            self.tunnel_server_eof()
            return
        if txn is None or txn.resp_done:
            self.drop_server_conn()
            return
        if txn.response is None:
            if self.retry_on_fresh_conn(txn):
                return
            txn.term = "SH"
            self.server_failed(txn, 502)
        elif txn.resp_until_close:
            self.drop_server_conn()
            self.resp_complete()
        else:
            txn.term = "SD"
            self.abort_response(txn)

    def on_server_error(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is not None and txn.response is None and self.retry_on_fresh_conn(txn):
            return
        if txn is None or txn.resp_done:
            self.drop_server_conn()
        elif txn.response is None:
            txn.term = "SH"
            self.server_failed(txn, 502)
        else:
            txn.term = "SD"
            self.abort_response(txn)

    def retry_on_fresh_conn(self, txn: HttpTxn) -> bool:
        """A reused connection closed by the server before answering: the request
        never reached it, so send it again once on a new connection."""
        conn = self.conn
        if conn is None or conn.requests <= 1 or txn.bytes_in or txn.retried:
            return False
        txn.retried = True
        self.drop_server_conn()
        txn.server.drop_conn()
        txn.sent_at = -1.0
        self.connect_txn(txn)
        return True

    def bad_response(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is None:
            self.drop_server_conn()
            return
        if txn.response is None:
            txn.term = "PH"
            self.server_failed(txn, 502)
        else:
            txn.term = "SD"
            self.abort_response(txn)

    def server_failed(self, txn: HttpTxn, status: int) -> None:
        txn.backend.count(C_RESP_ERRORS)
        self.drop_server_conn()
        txn.server.drop_conn()
        txn.server_counted = False
        self.send_error(txn, status)

    def drop_server_conn(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    # -- the response ----------------------------------------------------------

    def resp_headers_complete(self, events: ResponseEvents) -> None:
        txn = self.txns[0]
        parser = self.conn.parser
        status = parser.get_status_code()
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in events.headers]
        if 100 <= status < 200 and status != 101:
            interim = Response(status, events.reason.decode("latin-1"), "1.1", headers)
            self.send_client(interim.head_bytes())  # 100 Continue and friends go through
            return
        txn.response_at = self.loop.now
        response = Response(status, events.reason.decode("latin-1"), parser.get_http_version(), headers)
        txn.response = response
        txn.status = status
        method = txn.request.method
        txn.resp_no_body = method == "HEAD" or status in NO_BODY_STATUS
        txn.resp_chunked = not txn.resp_no_body and any(n.lower() == "transfer-encoding" for n, _ in headers)
        txn.resp_until_close = not (txn.resp_no_body or txn.resp_chunked or response.has("content-length"))
        txn.server_close = http_rules.has_token(response, "connection", "close") or (
            response.version == "1.0" and not http_rules.has_token(response, "connection", "keep-alive"))  # fmt: skip
        reply = http_rules.response_phase(self, txn)
        if reply is not None:
            self.drop_server_conn()
            self.reply_local(txn, reply)
            return
        head = http_rules.response_head(self, txn)
        self.send_client(head)
        txn.bytes_out += len(head)
        self.set_deadline("server-data", self.loop.now, txn.backend.timeouts.server)
        if status == 101 and txn.upgrade:
            self.start_tunnel(txn)
        elif txn.resp_no_body:
            self.conn.new_response()
            self.resp_complete()

    def resp_body(self, body: bytes) -> None:
        txn = self.txns[0]
        if txn.resp_done:
            return
        wire = encode_chunk(body) if txn.resp_chunked else body
        txn.bytes_out += len(wire)
        self.send_client(wire)

    def resp_complete(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is None or txn.resp_done or txn.response is None:
            return
        if txn.resp_chunked:
            self.send_client(LAST_CHUNK)
            txn.bytes_out += len(LAST_CHUNK)
        txn.resp_done = True
        keep = http_rules.server_keep_alive(self) and not txn.resp_until_close and txn.complete
        keep = keep and not txn.server_close
        if not keep:
            self.drop_server_conn()
        if txn.complete or txn.close_after:
            self.end_txn(txn)

    def abort_response(self, txn: HttpTxn) -> None:
        """The response cannot be completed: the client connection is closed."""
        self.drop_server_conn()
        txn.close_after = True
        txn.resp_done = True
        self.end_txn(txn)

    # -- ending a txn -----------------------------------------------------------

    def end_txn(self, txn: HttpTxn) -> None:
        """Log the exchange, then serve the next pipelined request or wait for one."""
        if self.txns and self.txns[0] is txn:
            self.txns.popleft()
        if txn.server is not None and txn.server_counted:
            txn.server.drop_conn()
        self.log_txn(txn)
        if txn.close_after or self.closing or self.parse_error is not None:
            self.close_when_flushed = True
            self.flush_client()
            return
        self.idle_since = self.loop.now
        if self.txns and self.txns[0].request is not None:
            self.start_txn(self.txns[0])
        elif not self.txns:
            timeouts = self.frontend.timeouts
            self.set_deadline("keepalive", self.loop.now,
                              timeouts.http_keep_alive or timeouts.http_request or timeouts.client)  # fmt: skip
        self.update_client_mask()

    def finish_txn_abort(self, txn: HttpTxn, term: str) -> None:
        txn.term = term
        txn.close_after = True
        if txn.connector is not None:
            txn.connector.cancel()
            txn.connector = None
        self.drop_server_conn()
        if txn.server is not None and txn.response is None and txn.sent_at < 0:
            txn.server_counted = False
        if self.txns and self.txns[0] is txn:
            self.txns.popleft()
        if txn.server is not None and txn.server_counted:
            txn.server.drop_conn()
        txn.server = txn.server if txn.server is not None else None
        self.log_txn(txn)
        self.txns.clear()
        self.finish_quietly()

    def log_txn(self, txn: HttpTxn) -> None:
        self.current_txn = txn
        self.log(txn.term)
        self.current_txn = None

    # -- Stream hooks ---------------------------------------------------------------

    def fill_record(self, record: Any, term: str) -> None:
        txn = self.current_txn
        if txn is None:
            return
        txn.fill_record(record, self.loop.now)
        record.backend = txn.backend.name if txn.backend is not None else None
        record.server = txn.server.name if txn.server is not None else None
        if txn.server is not None:
            record.server_ip, record.server_port = txn.server.address
            record.srvconn = txn.server.current_conns()
        if txn.backend is not None:
            record.beconn = txn.backend.current_conns()
            record.backend_queue = len(txn.backend.queue)

    def release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for txn in self.txns:
            if txn.connector is not None:
                txn.connector.cancel()
        self.release_conn() if not self.tunnel else self.drop_server_conn()

    def finish_quietly(self) -> None:
        """Close without a log line (idle keep-alive connection, or already logged)."""
        self.current_txn = None
        self.quiet = True
        self.finish("--")

    def log(self, term: str) -> None:
        if getattr(self, "quiet", False) or getattr(self, "current_txn", None) is None:
            return
        super().log(term)  # type: ignore[misc]
