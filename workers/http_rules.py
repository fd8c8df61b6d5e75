"""Where the HTTP engine meets lb.http: plans, rules, routing, heads, errors (worker).

The engine (workers/http.py, workers/http_response.py) calls these
functions at fixed points of a txn.  What a frontend or backend needs is
worked out once per worker as a Plan; a proxy without rules takes the raw
path, where heads are rebuilt straight from httptools' byte tuples and no
Request object is made.  HAProxy's order: frontend http-request rules,
use_backend, backend http-request rules, option forwardfor, server.
"""

from __future__ import annotations

from typing import Any

from lb.config.model import MODE_HTTP

MODE_KAL, MODE_SCL, MODE_CLO = 0, 1, 2  # keep-alive < server-close < close (HAProxy)
HOP_BY_HOP = (b"connection", b"keep-alive", b"proxy-connection")
TE, CL = b"transfer-encoding", b"content-length"


class LocalReply:
    """A response produced by lb itself: deny, redirect, return, or an error."""

    __slots__ = ("status", "data", "term")

    def __init__(self, status: int, data: bytes, term: str) -> None:
        self.status = status
        self.data = data
        self.term = term


def proxy_mode(conf: Any) -> int:
    if conf.option("httpclose"):
        return MODE_CLO
    if conf.option("http-server-close"):
        return MODE_SCL
    return MODE_KAL


class FrontendPlan:
    def __init__(self, frontend: Any) -> None:
        conf = frontend.conf
        timeouts = conf.timeouts
        self.mode = proxy_mode(conf)
        self.request_timeout = timeouts.http_request or timeouts.client
        self.keepalive_timeout = timeouts.http_keep_alive or timeouts.http_request or timeouts.client
        self.routed = bool(frontend.use_backends)
        self.forwardfor = conf.option("forwardfor")
        self.needs_request = self.routed


class BackendPlan:
    def __init__(self, backend: Any) -> None:
        conf = backend.conf
        self.mode = proxy_mode(conf)
        self.forwardfor = conf.option("forwardfor")
        self.needs_request = conf.balance.algorithm in ("uri", "url_param", "hdr")


def build_plans(runtime: Any) -> None:
    """Called once per worker after fork."""
    for frontend in runtime.frontends.values():
        frontend.plan = FrontendPlan(frontend)
    for backend in runtime.backends.values():
        backend.plan = BackendPlan(backend)


def keep_server_alive(session: Any, txn: Any) -> bool:
    return max(session.plan.mode, txn.backend.plan.mode) == MODE_KAL


# -- request ------------------------------------------------------------------------


def request_phase(session: Any, txn: Any) -> LocalReply | None:
    plan = session.plan
    if plan.needs_request:
        txn.build_request(session.facts, session.frontend.conf)
        session.request = txn.request
    backend = session.worker.runtime.choose_backend(session.frontend, txn.rules) if plan.routed \
        else session.frontend.default_backend  # fmt: skip
    if backend is None or backend.mode != MODE_HTTP:
        txn.term = "SC"
        return LocalReply(503, error_bytes(session, txn, 503), "SC")
    txn.backend = backend
    if backend.plan.needs_request and txn.request is None:
        session.request = txn.build_request(session.facts, session.frontend.conf)
    if plan.forwardfor or backend.plan.forwardfor:
        add_header(txn, b"x-forwarded-for", session.client_ip.encode())
    return None


def add_header(txn: Any, name: bytes, value: bytes) -> None:
    if txn.request is not None:
        txn.request.add_header(name.decode(), value.decode("latin-1"))
    else:
        txn.extra_headers = (txn.extra_headers or []) + [(name, value)]


def persistent_server(session: Any, txn: Any) -> Any:
    """The server a persistence cookie names, if usable (else None: balance)."""
    return None


def request_head(session: Any, txn: Any) -> bytes:
    """The request head for the server, with HAProxy's connection handling."""
    if txn.upgrade:
        connection = b"upgrade"
    elif max(session.plan.mode, txn.backend.plan.mode) != MODE_KAL:
        connection = b"close"
    elif txn.version == "1.0":
        connection = b"keep-alive"
    else:
        connection = None
    if txn.request is not None:
        request = txn.request
        for name in HOP_BY_HOP:
            request.del_header(name.decode())
        if connection:
            request.add_header("Connection", connection.decode())
        return request.head_bytes()
    parts = [txn.method, b" ", txn.url, b" HTTP/", txn.version.encode(), b"\r\n"]
    append_raw_headers(parts, txn.raw_headers)
    if txn.extra_headers:
        append_raw_headers(parts, txn.extra_headers)
    if connection:
        parts += (b"connection: ", connection, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def append_raw_headers(parts: list[bytes], headers: list[tuple[bytes, bytes]]) -> None:
    """Header lines with lower-case names (HAProxy 2.6 emits them so), hop-by-hop ones left out."""
    for name, value in headers:
        lower = name.lower()
        if lower not in HOP_BY_HOP:
            parts += (lower, b": ", value, b"\r\n")


# -- response ---------------------------------------------------------------------


# Response headers the engine acts on: 0 dropped (hop-by-hop), 1 connection,
# 2 transfer-encoding, 3 content-length.
_RESPONSE_SPECIAL = {b"connection": 1, b"keep-alive": 0, b"proxy-connection": 0,
                     b"transfer-encoding": 2, b"content-length": 3}  # fmt: skip


def response_phase(session: Any, txn: Any, version: str, reason: bytes) -> tuple[bytes, LocalReply | None]:
    """Frame the response, apply response rules, and build the head for the client
    (one pass over the raw headers: names lower-cased, hop-by-hop ones dropped)."""
    server_close = version == "1.0"
    has_length = False
    lines = []
    special = _RESPONSE_SPECIAL
    for name, value in txn.resp_headers:
        lower = name.lower()
        kind = special.get(lower)
        if kind is None:
            lines.append(b"%s: %s\r\n" % (lower, value))
        elif kind == 1:
            token = value.strip().lower()
            server_close = token == b"close" or (server_close and token != b"keep-alive")
        elif kind:
            if kind == 2:
                txn.resp_chunked = not txn.resp_no_body
            else:
                has_length = True
            lines.append(b"%s: %s\r\n" % (lower, value))
    txn.server_close = server_close
    txn.resp_until_close = not (txn.resp_no_body or txn.resp_chunked or has_length)
    upgrade = txn.status == 101 and txn.upgrade
    txn.close_after = not upgrade and (not txn.keep_alive or session.closing or txn.resp_until_close
                                       or not txn.complete or max(session.plan.mode, txn.backend.plan.mode) == MODE_CLO)  # fmt: skip
    if upgrade:
        lines.append(b"connection: upgrade\r\n")
    elif txn.close_after:
        lines.append(b"connection: close\r\n")
    elif txn.version == "1.0":
        lines.append(b"connection: keep-alive\r\n")
    return b"HTTP/%s %d %s\r\n%s\r\n" % (version.encode(), txn.status, reason, b"".join(lines)), None


def interim_head(status: int, events: Any) -> bytes:
    parts = [b"HTTP/1.1 %d " % status, events.reason, b"\r\n"]
    append_raw_headers(parts, events.headers)
    parts.append(b"\r\n")
    return b"".join(parts)


# -- errors ---------------------------------------------------------------------------


def error_bytes(session: Any, txn: Any, status: int) -> bytes:
    """The error response for `status`: the backend's errorfile, the frontend's, or HAProxy's built-in."""
    from lb.http.errors import error_response

    conf = txn.backend.conf if txn is not None and txn.backend is not None else session.frontend.conf
    return error_response(conf, status)


def with_close(data: bytes) -> bytes:
    """A complete response with `connection: close` added, when it has no Connection header."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0 or b"\nconnection:" in data[:head_end].lower():
        return data
    return data[:head_end] + b"\r\nconnection: close" + data[head_end:]
