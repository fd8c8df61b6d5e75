"""One HTTP request/response exchange, whatever protocol the client speaks (worker).

The client protocol (workers/http/h1.py today; an HTTP/2 stream later)
creates an Exchange per request, fills the request as parsed, and drives
it through a small interface: `start()` once the head is parsed and the
exchange is the one being served, `request_body()` / `request_complete()`
as the body arrives, `client_gone()` when the client leaves.  The Exchange
does the rest: rules and routing (workers/http/policy.py), a server
through the Connector (the only place that balances), the server
connection (workers/http/serverconn.py), the response head, body and end,
and it calls back the client protocol (ClientSide below) to write to the
client and to learn the exchange is over.

Defaults live on the class, so creating an exchange only stores what
differs (this runs once per request).  Timer names follow HAProxy (§8.4).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import httptools

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from lb.engine import NoCython as cython

from workers.connector import Connector
from workers.http import heads, policy, services
from workers.http.deadlines import Deadline, NONE, Phase, SERVER, SERVER_DATA, TUNNEL
from workers.http.h2session import new_server_conn
from workers.http.serverconn import ServerConn, ServerConnOwner
from workers.http.tunnel import Tunnel
from workers.runtime import C_RESP_ERRORS

if TYPE_CHECKING:
    from lb.rules.message import Request, Response
    from lb.rules.txn import ConnFacts
    from workers.base import Worker
    from workers.buffer import OutBuffer
    from workers.http.plan import FrontendPlan
    from workers.loop import EventLoop
    from workers.runtime import FrontendRuntime
    from lb.rules.txn import Txn
    from workers.http.policy import LocalReply
    from workers.runtime import BackendRuntime, ServerRuntime


class StopParsing(Exception):
    """Raised from a parser callback once the exchange has dealt with the
    response itself: the parser must not deliver the rest of the packet."""


class ClientSide:
    """What an exchange needs from the client protocol driving it (an HTTP/1
    connection today, an HTTP/2 stream later): the connection's facts and
    deadline, and the ways to answer.  A base class rather than a Protocol so
    that compiled code calls it directly; the protocol sets the attributes."""

    loop: EventLoop
    worker: Worker
    frontend: FrontendRuntime
    facts: ConnFacts
    plan: FrontendPlan
    deadline: Deadline
    out: OutBuffer  # corked by the exchange while it handles one server event
    conn: ServerConn | None  # the server connection kept between requests
    closing: bool  # the connection closes after the response in progress
    proxy_addresses: tuple[Any, Any]  # for send-proxy
    accept_time: float
    accept_date: float

    def uncork(self) -> None:
        raise NotImplementedError

    def send_interim(self, ex: Exchange, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        raise NotImplementedError

    def send_response_head(self, ex: Exchange, version: str, reason: bytes) -> None:
        raise NotImplementedError

    def send_response_body(self, ex: Exchange, body: bytes) -> None:
        raise NotImplementedError

    def end_response(self, ex: Exchange) -> None:
        raise NotImplementedError

    def send_reply(self, ex: Exchange, reply: LocalReply) -> None:
        raise NotImplementedError

    def exchange_done(self, ex: Exchange) -> None:
        raise NotImplementedError

    def refresh_interest(self) -> None:
        raise NotImplementedError

    def take_server_conn(self, server: ServerRuntime) -> ServerConn | None:
        raise NotImplementedError

    def start_tunnel(self, tunnel: Tunnel) -> None:
        raise NotImplementedError

    def internal_error(self) -> None:
        raise NotImplementedError


class Exchange(ServerConnOwner):
    if not cython.compiled:
        # The fields and their defaults, on the class: creating an exchange (once per
        # request) then stores only what differs.  Compiled, the attributes are the
        # .pxd's, starting at 0/None/False; __init__ sets the other defaults.
        # request, as parsed
        method = b""
        url = b""
        version = "1.1"
        keep_alive = True  # what the client asked for (httptools' should_keep_alive)
        upgrade = False
        chunked = False  # the request body is chunked
        complete = False  # the whole request has been received
        body: list[bytes] | None = None  # wire-ready body not yet sent to the server
        body_size = 0
        bytes_in = 0  # request body bytes, chunk framing excluded
        early_tunnel_data = b""  # client bytes after an Upgrade request
        request: Request | None = None  # built on demand (rules, ACLs, keyed balance)
        rules: Txn | None = None
        trailers: list[tuple[bytes, bytes]] | None = None  # trailer fields of a chunked request
        # routing
        backend: BackendRuntime | None = None
        server: ServerRuntime | None = None
        persist: ServerRuntime | None = None  # the server a persistence cookie named
        cookie_capture: tuple[str, int] | None = None  # `capture cookie` in effect
        captured_cookie = "-"  # %CC
        captured_set_cookie = "-"  # %CS
        rt = 0  # %rt
        unique_id = "-"  # %ID
        connector: Connector | None = None
        conn: ServerConn | None = None
        tunnel: Tunnel | None = None
        server_counted = False  # the server's in-flight count includes this exchange
        retried = False
        local_reply = False  # answered by lb itself (deny, redirect, return, errors)
        started = False  # rules and routing have run
        rejected = False  # refused by the H1 layer (bad request, timeout): logged as HAProxy's <BADREQ>
        raw_in = 0  # bytes a refused request carried (HAProxy logs even these under dontlognull)
        # response
        response: Response | None = None  # built when response rules run
        resp_headers: list[tuple[bytes, bytes]] | None = None  # raw response header tuples
        resp_head_read = 0  # bytes read while the response head is incomplete (bounded)
        head_fed = 0  # request bytes parsed while the head stayed incomplete (bounded)
        reason = b""
        status = -1
        resp_chunked = False
        resp_until_close = False
        resp_no_body = False
        resp_done = False
        server_close = False  # the server closes after this response
        close_after = False  # the client connection closes once this response is out
        bytes_out = 0  # wire bytes sent to the client
        resp_payload = 0  # response body bytes, chunk framing excluded
        interim_size = 0  # HTX size of the 1xx responses relayed before the final one
        resp_trailers: list[tuple[bytes, bytes]] | None = None
        local_data = b""  # the reply lb sent itself, for its logged size
        comp: Any = None  # lb.compression.stream.ResponseCompression: this response is (to be) compressed
        # timers (monotonic seconds; -1 = not reached) and log facts
        headers_at = -1.0
        sent_at = -1.0
        response_at = -1.0
        t_queue = -1
        t_connect = -1
        retries = 0
        redispatched = False
        term = "--"
        tracked = False  # stick-table counters or rules follow this exchange (workers/http/policy.py)
        service: Any = None  # the stats page or a use-service answers instead of a server (workers/http/services.py)

    def __init__(self, client: Any, begin: float, idle_ms: int) -> None:
        self.client = client  # the ClientSide driving this exchange
        self.begin = begin  # monotonic time of the request's first byte (-1: none received)
        self.idle_ms = idle_ms
        self.raw_headers: list[tuple[bytes, bytes]] = []
        if cython.compiled:
            self.method = self.url = self.reason = self.early_tunnel_data = self.local_data = b""
            self.version = "1.1"
            self.keep_alive = True
            self.captured_cookie = self.captured_set_cookie = self.unique_id = "-"
            self.term = "--"
            self.status = self.t_queue = self.t_connect = -1
            self.headers_at = self.sent_at = self.response_at = -1.0

    @property
    def client_ip(self) -> str:
        """For `balance source` (the Connector's key)."""
        return self.client.facts.client_ip

    # -- the request -------------------------------------------------------------------

    def start(self) -> None:
        """Rules, routing and a server (the head is parsed and this exchange is served)."""
        self.started = True
        client = self.client
        worker = client.worker
        worker.request_counter += 1
        self.rt = worker.request_counter  # %rt: this request's number in the worker
        deadline = client.deadline  # until the request goes out, only the client can stall us
        deadline.phase, deadline.due = NONE, 0.0
        backend = client.plan.direct_backend
        if backend is None:
            reply = policy.request_rules(self)  # sets self.backend
            if reply is not None:
                if reply.service is not None:  # the stats page, use-service
                    services.serve_service(self, reply.service)
                elif reply.delay:  # http-request tarpit: held, then answered
                    client.loop.call_later(reply.delay / 1000, self.reply_local, reply)
                else:
                    self.reply_local(reply)
                return
            backend = self.backend
            assert backend is not None
        else:
            self.backend = backend  # nothing to evaluate: the raw path
        self.connect(backend)

    def connect(self, backend: BackendRuntime) -> None:
        client = self.client
        persist = self.persist
        self.connector = Connector(
            client.loop, backend, self, self, client.proxy_addresses, client.facts.dst_port,
            persist if persist is not None and persist.is_usable() else None,
        )  # fmt: skip
        self.connector.start()

    def request_body(self, body: bytes) -> None:
        self.bytes_in += len(body)
        self.push_body(heads.encode_chunk(body) if self.chunked else body)
        if self.service is not None:
            services.body_arrived(self)

    def request_complete(self) -> None:
        if self.chunked:
            self.push_body(heads.last_chunk(self.trailers))
        self.complete = True
        if self.service is not None:
            services.body_arrived(self)

    def push_body(self, wire: bytes) -> None:
        if self.local_reply:
            return  # answered by lb: the body is read and dropped
        conn = self.conn
        if self.sent_at >= 0 and not self.body and conn is not None:
            conn.send(wire)
            return
        if self.body is None:
            self.body = []
        self.body.append(wire)
        self.body_size += len(wire)

    def send_pending_body(self, conn: ServerConn) -> None:
        if self.body:
            for chunk in self.body:
                conn.send(chunk)
            self.body = None
            self.body_size = 0

    # -- the Connector's owner -------------------------------------------------------------

    def reuse_connection(self, server: ServerRuntime) -> bool:
        """Keep-alive: the client's own connection to `server`, else an idle one."""
        client = self.client
        conn = client.conn
        if conn is not None and conn.server is server and not conn.closed:
            client.conn = None  # the usual case, checked here without a call
        else:
            conn = client.take_server_conn(server)
            if conn is None:
                return False
        self.conn = conn
        return True

    def on_connected(self, sock: socket.socket | None, server: ServerRuntime) -> None:
        connector = self.connector
        assert connector is not None
        self.t_queue, self.t_connect = connector.t_queue, connector.t_connect
        self.retries, self.redispatched = connector.retries_done, connector.redispatched
        self.connector = None
        conn = self.conn if sock is None else new_server_conn(self.client.worker.idle_pool, sock, server)  # h1 or h2
        assert conn is not None
        self.send_request(conn)

    def on_connect_failed(self, term: str) -> None:
        connector = self.connector
        assert connector is not None
        self.t_queue, self.t_connect = connector.t_queue, connector.t_connect
        self.retries, self.redispatched = connector.retries_done, connector.redispatched
        self.connector = None
        self.server = connector.server  # HAProxy logs the last server it tried (None: no server)
        self.term = term
        self.send_error(503)

    def send_request(self, conn: ServerConn) -> None:
        """Send the request head (and any body already read) on `conn`."""
        client = self.client
        self.conn = conn
        server = conn.server
        self.server = server
        self.server_counted = True
        if conn.owner is not self:
            events = conn.events
            if events is not None and conn.parser is not None:  # kept from the previous request
                conn.owner = events.owner = self
            else:
                conn.attach(self, client.deadline, client.plan.limits)
        conn.requests += 1
        compression = client.plan.compression
        if compression is not None:  # lb.compression: the encoding the client accepts; offload
            self.comp = compression.on_request(self)
        if self.rules is not None:
            policy.server_chosen(self, server)
        self.sent_at = now = client.loop.now
        conn.send(heads.request_head(client, self))
        if self.body:
            self.send_pending_body(conn)
        assert self.backend is not None
        client.deadline.enter(SERVER, now, self.backend.timeouts.server)
        if not client.out.corked:
            client.refresh_interest()  # body buffered while connecting may have paused the client

    # -- server events -------------------------------------------------------------------------

    def on_server_data(self, data: bytes) -> None:
        client = self.client
        client.deadline.server_io = client.loop.now
        if self.tunnel is not None:
            self.tunnel.from_server(data)
            return
        conn = self.conn
        assert conn is not None and conn.parser is not None
        client.out.corked = True  # what the client gets from this packet leaves in one write
        try:
            if self.status < 0:
                self.resp_head_read += len(data)
            conn.parser.feed_data(data)
            if self.status < 0 and self.resp_head_read > client.plan.limits.head and self.conn is not None:
                self.bad_response()  # a head still incomplete past tune.bufsize: HAProxy's 502
        except httptools.HttpParserUpgrade as upgrade:
            rest = data[upgrade.args[0] :]
            if rest and self.tunnel is not None:
                self.tunnel.from_server(rest)
        except httptools.HttpParserError:
            if self.conn is not None:  # not already handled by a callback
                self.bad_response()
        finally:
            client.uncork()

    def on_server_eof(self) -> None:
        if self.tunnel is not None:
            self.tunnel.server_closed()
        elif self.resp_done:
            self.drop_server_conn()
        elif self.status < 0:
            if not self.retry_on_fresh_conn():
                self.server_failed(502, "SH")
        elif self.resp_until_close:
            self.drop_server_conn()
            self.finish_response()
        else:
            self.abort_response("SD")

    def on_server_error(self) -> None:
        if self.resp_done:
            self.drop_server_conn()
        elif self.status < 0:
            if not self.retry_on_fresh_conn():
                self.server_failed(502, "SH")
        else:
            self.abort_response("SD")

    def on_server_drained(self) -> None:
        self.client.refresh_interest()

    def retry_on_fresh_conn(self) -> bool:
        """A reused connection closed by the server before answering: the request
        never reached the application, so send it once more on a new connection
        (only without a body, which is gone)."""
        conn = self.conn
        if conn is None or conn.requests <= 1 or self.bytes_in or self.retried:
            return False
        self.retried = True
        self.drop_server_conn()
        self.release_server()
        self.sent_at = -1.0
        assert self.backend is not None
        self.connect(self.backend)
        return True

    def bad_response(self) -> None:
        if self.resp_done:
            self.drop_server_conn()
        elif self.status < 0:
            self.server_failed(502, "PH")
        else:
            self.abort_response("SD")

    def server_failed(self, status: int, term: str) -> None:
        self.term = term
        backend, server = self.backend, self.server
        if backend is not None:
            backend.count(C_RESP_ERRORS)
        if server is not None:
            server.count(C_RESP_ERRORS)
        self.drop_server_conn()
        self.send_error(status)

    def drop_server_conn(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
            if self.comp is not None:
                self.comp.release()  # no more body can come: the compressor's memory goes now

    def release_server(self) -> None:
        """The server no longer counts this exchange as in flight."""
        if self.server_counted:
            self.server_counted = False
            assert self.server is not None
            self.server.drop_conn()

    # -- the response ----------------------------------------------------------------------------

    def resp_headers_complete(self) -> None:
        conn = self.conn
        assert conn is not None and conn.events is not None and conn.parser is not None
        parser = conn.parser
        status = parser.get_status_code()
        events = conn.events
        headers, reason = events.headers, events.reason
        events.headers, events.reason = [], b""
        client = self.client
        if 100 <= status < 200 and status != 101:
            client.send_interim(self, status, reason, headers)  # 100 Continue and friends
            self.interim_size += heads.interim_size(reason, headers)
            return
        self.response_at = client.loop.now
        self.status = status
        self.resp_headers = headers
        self.reason = reason
        self.resp_no_body = status in heads.NO_BODY_STATUS or self.method == b"HEAD"
        version = parser.get_http_version()
        backend = self.backend
        assert backend is not None and backend.plan is not None
        if client.plan.needs_response or backend.plan.needs_response or self.tracked:
            reply = policy.response_rules(self, version, reason)
            if reply is not None:
                self.drop_server_conn()
                self.reply_local(reply, close=True)
                raise StopParsing  # the rest of the server's bytes are not relayed
        try:
            comp = self.comp
            if comp is None:
                client.send_response_head(self, version, reason)
            else:  # lb.compression decides on this response and sends its head, rewritten or not
                self.comp = comp.send_head(self, version, reason)
        except heads.BadFraming:  # nothing was sent: HAProxy's 502
            self.server_failed(502, "PH")
            raise StopParsing from None
        client.deadline.phase = SERVER_DATA
        if status == 101 and self.upgrade:
            self.tunnel = Tunnel(self, client, conn)
            client.start_tunnel(self.tunnel)
            self.tunnel.start(self.early_tunnel_data)
        elif self.resp_no_body:
            conn.new_response()  # a HEAD response has no body whatever it announces
            self.finish_response()

    def resp_body(self, body: bytes) -> None:
        self.resp_payload += len(body)
        comp = self.comp
        if comp is not None:
            body = comp.feed(body)
        self.client.send_response_body(self, body)

    def resp_complete(self) -> None:
        conn = self.conn
        if conn is not None and conn.events is not None and conn.events.headers:
            self.resp_trailers = conn.events.reset()[0]  # trailer fields of a chunked response
        if not self.resp_done and self.status >= 200:
            self.finish_response()

    def finish_response(self) -> None:
        comp = self.comp
        if comp is None:
            self.client.end_response(self)
        else:
            comp.end(self)  # the compressed stream's last bytes, then end_response
        self.resp_done = True
        backend = self.backend
        assert backend is not None and backend.plan is not None
        if self.server_close or self.resp_until_close or not self.complete or self.client.plan.mode \
                or backend.plan.mode:  # fmt: skip
            self.drop_server_conn()  # http-server-close or httpclose on either side: not kept
        if self.complete or self.close_after:
            self.client.exchange_done(self)

    def abort_response(self, term: str) -> None:
        """The response cannot be completed: the client connection is closed."""
        self.term = term
        self.drop_server_conn()
        self.close_after = True
        self.resp_done = True
        self.client.exchange_done(self)

    # -- lb answers -------------------------------------------------------------------------------

    def reply_local(self, reply: LocalReply, close: bool = False) -> None:
        """lb answers (a rule's deny, redirect or return, or an error): send it; the
        connection closes unless the request was complete and keep-alive allowed."""
        self.local_reply = True
        self.term = reply.term
        self.body = None
        self.body_size = 0
        self.close_after = close or reply.closes or not self.complete or not self.keep_alive or self.client.closing
        backend = self.backend
        if reply.reply is not None and (self.client.plan.after_response or backend is not None
                                        and backend.plan is not None and backend.plan.after_response):  # fmt: skip
            reply = policy.after_response(self, reply)
        self.status = reply.status
        self.client.send_reply(self, reply)
        self.local_data = reply.reply.render() if reply.reply is not None else b""
        self.resp_done = True
        if self.complete or self.close_after:
            self.client.exchange_done(self)

    def send_error(self, status: int, close: bool = False) -> None:
        self.reply_local(policy.error_reply_for(self.client.frontend, self.backend, status, self.term), close)

    # -- the end ------------------------------------------------------------------------------------

    def abandon(self) -> None:
        """Release the server side whatever the state (client gone, H1 refusal, shutdown)."""
        self.service = None  # a service still asking the master answers no one
        if self.connector is not None:
            self.connector.cancel()
            self.connector = None
        self.drop_server_conn()
        self.release_server()

    def expired(self, phase: Phase) -> None:
        """The client connection's deadline expired in a phase this exchange owns."""
        if phase == SERVER:
            if self.status < 0:
                self.server_failed(504, "sH")  # timeout server before the response head
        elif phase == SERVER_DATA:
            if not self.resp_done:
                self.abort_response("sD")
        elif phase == TUNNEL and self.tunnel is not None:
            self.tunnel.expired()

    def internal_error(self) -> None:
        """A bug in one of our callbacks: the client protocol ends the exchange (500 when
        nothing was sent yet) and the connection."""
        self.client.internal_error()
