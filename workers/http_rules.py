"""Where the HTTP engine meets lb.rules: plans, rule phases, heads, replies (worker).

The engine (workers/http.py, workers/http_response.py) calls these
functions at fixed points of a txn; they call lb.rules.pipeline in
HAProxy's order: captures and frontend http-request rules, use_backend,
backend http-request rules, cookie persistence, option forwardfor; then per
response: http-response rules (backend first) and the cookie.

What a proxy needs is worked out once per worker as a Plan.  A proxy with
nothing to do takes the raw path: heads are rebuilt straight from
httptools' byte tuples and no Request/Response object is made.
"""

from __future__ import annotations

from typing import Any

from lb.rules import pipeline
from lb.rules.capture import captured_request_cookie, captured_response_cookie, cookie_capture_of
from lb.rules.errors import error_reply, mux_error_bytes
from lb.rules.model import AREA
from lb.rules.reply import Reply, connection_header
from lb.rules.uniqueid import unique_id_of
from lb.logs.record import LogRecord

MODE_KAL, MODE_SCL, MODE_CLO = 0, 1, 2  # keep-alive < server-close < close (HAProxy)
HOP_BY_HOP = (b"connection",)  # HAProxy forwards Keep-Alive and Proxy-Connection
HOP_BY_HOP_STR = ("connection",)


class LocalReply:
    """A response lb produces itself: a rule's deny, redirect or return, or an error."""

    __slots__ = ("status", "reply", "term")

    def __init__(self, status: int, reply: Reply | None, term: str) -> None:
        self.status = status
        self.reply = reply  # None: close without answering (http-request reject)
        self.term = term

    def render(self, closing: bool, client_http10: bool, head_request: bool) -> bytes:
        reply = self.reply
        if reply is None:
            return b""
        return reply.render(connection_header(reply.http10, closing, client_http10), with_body=not head_request)

    @property
    def closes(self) -> bool:
        return self.reply is None or self.reply.close


def proxy_mode(conf: Any) -> int:
    if conf.option("httpclose"):
        return MODE_CLO
    if conf.option("http-server-close"):
        return MODE_SCL
    return MODE_KAL


class FrontendPlan:
    def __init__(self, frontend: Any, backends: dict[str, Any]) -> None:
        conf = frontend.conf
        timeouts = conf.timeouts
        self.mode = proxy_mode(conf)
        self.request_timeout = timeouts.http_request or timeouts.client
        self.keepalive_timeout = timeouts.http_keep_alive or timeouts.http_request or timeouts.client
        self.unique_id = unique_id_of(conf)
        self.needs_request = pipeline.frontend_needs_request(conf) or bool(self.unique_id and self.unique_id.header)
        settings = conf.areas[AREA]
        self.needs_response = bool(settings.res_program or settings.res_captures or settings.cookie_capture)
        static = None if self.needs_request else pipeline.select_backend(settings, None)
        self.static_backend = backends.get(static.name) if static is not None else None
        self.direct_backend = self.raw_path_backend(conf)

    def raw_path_backend(self, conf: Any) -> Any:
        """The backend every request goes to when request_phase() would do nothing
        but name it (no rule, no unique id, no capture, no keyed balance); else None."""
        backend = self.static_backend
        if backend is None or backend.plan is None or backend.plan.needs_request or self.unique_id is not None:
            return None
        return None if cookie_capture_of(conf, backend.conf) is not None else backend


class BackendPlan:
    def __init__(self, backend: Any) -> None:
        conf = backend.conf
        self.mode = proxy_mode(conf)
        self.needs_request = pipeline.backend_needs_request(conf) or \
            conf.balance.algorithm in ("uri", "url_param", "hdr")  # fmt: skip
        settings = conf.areas[AREA]
        self.needs_response = bool(settings.res_program or settings.cookie or settings.cookie_capture)
        self.by_conf = {id(server.conf): server for server in backend.servers}


def build_plans(runtime: Any) -> None:
    """Called once per worker after fork."""
    for backend in runtime.backends.values():
        backend.plan = BackendPlan(backend) if AREA in backend.conf.areas else None
    for frontend in runtime.frontends.values():
        frontend.plan = FrontendPlan(frontend, runtime.backends) if frontend.is_http else None


# -- request ------------------------------------------------------------------------


def request_phase(session: Any, txn: Any) -> LocalReply | None:
    """Everything between a parsed request head and choosing a server."""
    plan = session.plan
    frontend_conf = session.frontend.conf
    if plan.needs_request:
        session.request = txn.build_request(session.facts, frontend_conf)
    if plan.unique_id is not None:
        txn.unique_id = render_unique_id(session, txn, plan.unique_id)
        if plan.unique_id.header:
            txn.request.add_header(plan.unique_id.header, txn.unique_id)
            txn.rules.unique_id = txn.unique_id
    if plan.needs_request:
        verdict = pipeline.request_phase(txn.rules)
        if verdict is not None:
            return from_verdict(verdict)
        chosen = txn.rules.backend
        backend = session.worker.runtime.backends.get(chosen.name) if chosen is not None else None
    else:
        backend = plan.static_backend
    if backend is None or backend.plan is None:
        txn.term = "SC"  # HAProxy: no backend to serve the request, 503
        return error_reply_for(session, txn, 503, "SC")
    txn.backend = backend
    capture = cookie_capture_of(frontend_conf, backend.conf)
    if capture is not None:
        if txn.request is None:
            session.request = txn.build_request(session.facts, frontend_conf)
        txn.cookie_capture = capture
        txn.captured_cookie = captured_request_cookie(capture, txn.request)
    if backend.plan.needs_request:
        if txn.request is None:
            session.request = txn.build_request(session.facts, frontend_conf)
        rules = txn.rules
        rules.backend = backend.conf
        verdict = pipeline.backend_phase(rules, lambda server: is_usable(backend, server))
        if verdict is not None:
            return from_verdict(verdict)
        persistent = pipeline.persistent_server(rules)
        if persistent is not None:
            txn.persist = backend.plan.by_conf.get(id(persistent))
    return None


def is_usable(backend: Any, server_conf: Any) -> bool:
    server = backend.plan.by_conf.get(id(server_conf))
    return server is not None and server.is_usable()


def persistent_server(session: Any, txn: Any) -> Any:
    """The server a persistence cookie named, when usable (else None: balance)."""
    server = txn.persist
    return server if server is not None and server.is_usable() else None


def server_chosen(txn: Any, server: Any) -> None:
    """The engine connected the txn to `server` (for the response cookie)."""
    rules = txn.rules
    if rules is not None:
        rules.server = server.conf
        if rules.cookie is not None and txn.persist is not None and server is not txn.persist:
            rules.cookie.redispatched()


def request_head(session: Any, txn: Any) -> bytes:
    """The request head for the server, with HAProxy's connection handling."""
    if txn.upgrade:
        connection = b"upgrade"
    elif session.plan.mode or txn.backend.plan.mode:  # either side is not keep-alive (MODE_KAL is 0)
        connection = b"close"
    elif txn.version == "1.0":
        connection = b"keep-alive"
    else:
        connection = None
    if txn.request is not None:
        request = txn.request
        for name in HOP_BY_HOP_STR:
            request.del_header(name)
        if connection:
            request.add_header("connection", connection.decode())
        return request.head_bytes()
    parts = [txn.method, b" ", txn.url, b" HTTP/", txn.version.encode(), b"\r\n"]
    for name, value in txn.raw_headers:
        lower = name.lower()
        if lower not in HOP_BY_HOP:
            parts += (lower, b": ", value, b"\r\n")
    if connection:
        parts += (b"connection: ", connection, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


# -- response ---------------------------------------------------------------------

# Response headers the engine acts on: 0 dropped (hop-by-hop), 1 connection,
# 2 transfer-encoding, 3 content-length.
_RESPONSE_SPECIAL = {b"connection": 1, b"transfer-encoding": 2, b"content-length": 3}
_STATUS_LINES: dict[tuple[str, int, bytes], bytes] = {}


def status_line(version: str, status: int, reason: bytes) -> bytes:
    """`HTTP/1.1 200 OK\\r\\n`, formatted once per distinct line (a server sends few)."""
    key = (version, status, reason)
    line = _STATUS_LINES.get(key)
    if line is None:
        line = b"HTTP/%s %d %s\r\n" % (version.encode(), status, reason)
        if len(_STATUS_LINES) < 1024:  # bounded: reasons come from servers
            _STATUS_LINES[key] = line
    return line


def response_phase(session: Any, txn: Any, version: str, reason: bytes) -> tuple[bytes, LocalReply | None]:
    """Frame the response, run the response rules, build the head for the client
    (names lower-cased and hop-by-hop headers dropped, in one pass)."""
    server_close = version == "1.0"
    has_length = False
    parts = [status_line(version, txn.status, reason)]
    special = _RESPONSE_SPECIAL
    for name, value in txn.resp_headers:
        lower = name.lower()
        if lower not in special:
            parts += (lower, b": ", value.rstrip(b" \t"), b"\r\n")
            continue
        kind = special[lower]
        if kind == 1:
            token = value.strip().lower()
            server_close = token == b"close" or (server_close and token != b"keep-alive")
        elif kind:
            if kind == 2:
                txn.resp_chunked = not txn.resp_no_body
            else:
                has_length = True
            parts += (lower, b": ", value, b"\r\n")
    txn.server_close = server_close
    txn.resp_until_close = not (txn.resp_no_body or txn.resp_chunked or has_length)
    upgrade = txn.status == 101 and txn.upgrade
    txn.close_after = not upgrade and (not txn.keep_alive or session.closing or txn.resp_until_close
                                       or not txn.complete or MODE_CLO in (session.plan.mode, txn.backend.plan.mode))  # fmt: skip
    # HAProxy's H1 output: close is implicit in an HTTP/1.0 response, keep-alive
    # must be said to an HTTP/1.0 client or in an HTTP/1.0 response.
    if upgrade:
        connection = b"upgrade"
    elif txn.close_after:
        connection = None if version == "1.0" else b"close"
    else:
        connection = b"keep-alive" if txn.version == "1.0" or version == "1.0" else None
    if session.plan.needs_response or txn.backend.plan.needs_response:
        return rules_response_head(session, txn, version, reason, connection)
    if connection:
        parts += (b"connection: ", connection, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts), None


def rules_response_head(session: Any, txn: Any, version: str, reason: bytes,
                        connection: bytes | None) -> tuple[bytes, LocalReply | None]:  # fmt: skip
    if txn.request is None:
        session.request = txn.build_request(session.facts, session.frontend.conf)
    txn.rules.backend = txn.backend.conf
    response = txn.build_response(version, reason)
    for name in HOP_BY_HOP_STR:
        response.del_header(name)
    if txn.cookie_capture is not None:
        txn.captured_set_cookie = captured_response_cookie(txn.cookie_capture, response)
    verdict = pipeline.response_phase(txn.rules)
    if verdict is not None:
        return b"", from_verdict(verdict)
    if connection:
        response.add_header("connection", connection.decode())
    return response.head_bytes(), None


def interim_head(status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    parts = [b"HTTP/1.1 %d " % status, reason, b"\r\n"]
    for name, value in headers:
        parts.append(b"%s: %s\r\n" % (name.lower(), value))
    parts.append(b"\r\n")
    return b"".join(parts)


def cookie_flags(txn: Any) -> str:
    return pipeline.cookie_flags(txn.rules) if txn.rules is not None else "--"


# -- replies ----------------------------------------------------------------------------


def from_verdict(verdict: Any) -> LocalReply:
    return LocalReply(verdict.status, verdict.reply, verdict.term)


def error_reply_for(session: Any, txn: Any, status: int, term: str) -> LocalReply:
    """The error reply: the backend's errorfile, the frontend's, or HAProxy's built-in."""
    backend = txn.backend.conf if txn is not None and txn.backend is not None else None
    return LocalReply(status, error_reply(status, backend, session.frontend.conf), term)


def rejection_bytes(session: Any, status: int) -> bytes:
    """The raw page of a request refused by the H1 layer (400, 408, 422)."""
    return mux_error_bytes(status, session.frontend.conf)


def render_unique_id(session: Any, txn: Any, unique: Any) -> str:
    """The request's unique ID: its format rendered with what is known at this point."""
    record = LogRecord()
    record.client_ip, record.client_port = session.client_ip, session.client_port
    record.frontend_ip, record.frontend_port = session.frontend_ip, session.frontend_port
    record.frontend = session.frontend.name
    record.accept_date = session.accept_date
    record.request_date = session.accept_date + (txn.begin - session.accept_time) if txn.begin >= 0 \
        else session.accept_date  # fmt: skip
    record.request_counter = txn.rt
    return unique.compiled.render(record, session.worker.render_context)

