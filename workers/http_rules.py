"""Where the HTTP engine meets lb.http: rules, routing, persistence, heads, errors (worker).

The engine (workers/http.py, workers/http_response.py) calls these
functions at fixed points of a txn; they call the compiled rule sets and
helpers of lb.http.  Keeping the calls in one module keeps the engine free
of policy and shows, in one place, the order HAProxy applies things in.
"""

from __future__ import annotations

from typing import Any

from lb.config.model import MODE_HTTP

MODE_KAL, MODE_SCL, MODE_CLO = 0, 1, 2  # keep-alive < server-close < close (HAProxy)
HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection")


class LocalReply:
    """A response produced by lb itself: deny, redirect, return, or an error."""

    __slots__ = ("status", "data", "term")

    def __init__(self, status: int, data: bytes, term: str) -> None:
        self.status = status
        self.data = data
        self.term = term


# -- connection modes --------------------------------------------------------------


def proxy_mode(conf: Any) -> int:
    if conf.option("httpclose"):
        return MODE_CLO
    if conf.option("http-server-close"):
        return MODE_SCL
    return MODE_KAL


def connection_mode(session: Any, txn: Any = None) -> int:
    """The stronger of the frontend's and the backend's modes."""
    txn = txn or (session.txns[0] if session.txns else None)
    mode = proxy_mode(session.frontend.conf)
    if txn is not None and txn.backend is not None:
        mode = max(mode, proxy_mode(txn.backend.conf))
    return mode


def server_keep_alive(session: Any) -> bool:
    return connection_mode(session) == MODE_KAL


def has_token(headers: Any, name: str, token: str) -> bool:
    """True when a comma-separated header contains `token` (case-insensitive)."""
    return any(value.strip().lower() == token for value in headers.values(name))


# -- request ------------------------------------------------------------------------


def request_phase(session: Any, txn: Any) -> LocalReply | None:
    """Frontend rules, backend choice, backend rules, forwardfor (HAProxy's order)."""
    runtime = session.worker.runtime
    backend = runtime.choose_backend(session.frontend, txn.rules)
    if backend is None or backend.mode != MODE_HTTP:
        txn.term = "SC"
        return LocalReply(503, error_bytes(session, txn, 503), "SC")
    txn.backend = backend
    txn.rules.backend = backend.conf
    add_forwarded_for(session, txn)
    return None


def add_forwarded_for(session: Any, txn: Any) -> None:
    for conf in (txn.backend.conf, session.frontend.conf):
        if conf.option("forwardfor"):
            txn.request.add_header("X-Forwarded-For", session.client_ip)
            return


def persistent_server(session: Any, txn: Any) -> Any:
    """The server a persistence cookie names, if usable (else None: balance)."""
    return None


def request_head(session: Any, txn: Any) -> bytes:
    request = txn.request
    upgrade = txn.upgrade
    for name in HOP_BY_HOP:
        request.del_header(name)
    if upgrade:
        request.add_header("Connection", "upgrade")
    elif connection_mode(session, txn) != MODE_KAL:
        request.add_header("Connection", "close")
    elif request.version == "1.0":
        request.add_header("Connection", "keep-alive")
    return request.head_bytes()


# -- response ---------------------------------------------------------------------


def response_phase(session: Any, txn: Any) -> LocalReply | None:
    return None


def response_head(session: Any, txn: Any) -> bytes:
    response = txn.response
    server_upgrade = response.status == 101 and txn.upgrade
    for name in HOP_BY_HOP:
        response.del_header(name)
    close = (not txn.keep_alive or session.closing or connection_mode(session, txn) == MODE_CLO
             or txn.resp_until_close or not txn.complete)  # fmt: skip
    txn.close_after = close and not server_upgrade
    if server_upgrade:
        response.add_header("Connection", "upgrade")
    elif txn.close_after:
        response.add_header("Connection", "close")
    elif txn.version == "1.0":
        response.add_header("Connection", "keep-alive")
    return response.head_bytes()


# -- errors ---------------------------------------------------------------------------

_REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Time-out", 414: "Request-URI Too Long",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Time-out"}  # fmt: skip


def error_bytes(session: Any, txn: Any, status: int) -> bytes:
    """The error response for `status`: the backend's errorfile, the frontend's, or HAProxy's built-in."""
    try:
        from lb.http.errors import error_response
    except ImportError:
        reason = _REASONS.get(status, "Error")
        body = f"<html><body><h1>{status} {reason}</h1>\n</body></html>\n".encode()
        return (f"HTTP/1.1 {status} {reason}\r\nContent-length: {len(body)}\r\nCache-Control: no-cache\r\n"
                f"Content-Type: text/html\r\n\r\n").encode() + body  # fmt: skip
    conf = txn.backend.conf if txn is not None and txn.backend is not None else session.frontend.conf
    return error_response(conf, status)


def with_close(data: bytes) -> bytes:
    """A complete response with `connection: close` added, when it has no Connection header."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0 or b"\nconnection:" in data[:head_end].lower():
        return data
    return data[:head_end] + b"\r\nconnection: close" + data[head_end:]
