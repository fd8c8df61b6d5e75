"""Built-in error responses with HAProxy's exact bytes, and `errorfile` overrides (worker; built at import).

The texts are HAProxy's `http_err_msgs` (src/http.c).  On the wire HAProxy
2.6 lower-cases the header names of these messages and moves the
connection header to the end (recorded from 2.6.12 with `http-request deny
deny_status N`), so the built-ins below are stored that way: for 503,

    HTTP/1.1 503 Service Unavailable\\r\\ncontent-length: 107\\r\\n
    cache-control: no-cache\\r\\ncontent-type: text/html\\r\\n\\r\\n<html>...

400 and 408 carry `Connection: close` in HAProxy's source, so their
Reply has `close` set.  414 and 431 are not in 2.6 (it has no message for
them); their texts come from later HAProxy versions, typos included.

`error_reply(code, backend, frontend)` picks what HAProxy's
http_error_message() would: the backend's errorfile, then the frontend's,
then the built-in one.
"""

from __future__ import annotations

from typing import Any

from lb.rules.reply import Reply

ERROR_CODES = (200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 414, 425, 429, 431, 500, 501, 502, 503, 504)

_MESSAGES: dict[int, tuple[str, str]] = {
    200: ("OK", "Service ready."),
    400: ("Bad request", "Your browser sent an invalid request."),
    401: ("Unauthorized", "You need a valid user and password to access this content."),
    403: ("Forbidden", "Request forbidden by administrative rules."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "A request was made of a resource using a request method not supported by that "
                                "resource"),  # fmt: skip
    407: ("Unauthorized", "You need a valid user and password to access this content."),
    408: ("Request Time-out", "Your browser didn't send a complete request in time."),
    410: ("Gone", "The resource is no longer available and will not be available again."),
    413: ("Payload Too Large", "The request entity exceeds the maximum allowed."),
    414: ("URI Too Long", "The URI provided was too long for the server to process."),
    425: ("Too Early", "Your browser sent early data."),
    429: ("Too Many Requests", "You have sent too many requests in a given amount of time."),
    431: ("Request Header Fields Too Large", ">Request Header Fields Too Large."),
    500: ("Internal Server Error", "An internal server error occurred."),
    501: ("Not Implemented", ".The server does not support the functionality required to fulfill the request."),
    502: ("Bad Gateway", "The server returned an invalid or incomplete response."),
    503: ("Service Unavailable", "No server is available to handle this request."),
    504: ("Gateway Time-out", "The server didn't respond in time."),
}
_CLOSING = (400, 408)


def _builtin(code: int) -> Reply:
    reason, text = _MESSAGES[code]
    body = f"<html><body><h1>{code} {reason}</h1>\n{text}\n</body></html>\n".encode()
    head = (f"HTTP/1.1 {code} {reason}\r\ncontent-length: {len(body)}\r\n"
            "cache-control: no-cache\r\ncontent-type: text/html\r\n").encode()  # fmt: skip
    return Reply(code, head, body, close=code in _CLOSING)


BUILTIN: dict[int, Reply] = {code: _builtin(code) for code in ERROR_CODES}


def builtin_reply(code: int) -> Reply:
    """HAProxy's own message for `code` (500's for a code it has none for)."""
    return BUILTIN.get(code) or BUILTIN[500]


def error_reply(code: int, backend: Any = None, frontend: Any = None, txn: Any = None) -> Reply:
    """The reply for error `code`: backend errorfile, frontend errorfile, built-in.

    An `http-error` whose payload or headers are log-format strings is built
    per request: it needs `txn`, and is skipped without one."""
    for proxy in (backend, frontend):
        if proxy is not None:
            settings = proxy.areas.get("http")
            replies = getattr(settings, "error_replies", None)
            reply = replies.get(code) if replies else None
            if isinstance(reply, Reply):
                return reply
            if reply is not None and txn is not None:
                return reply(txn)
    return builtin_reply(code)


def error_response(proxy: Any, code: int) -> bytes:
    """Bytes of error `code` for `proxy` (its errorfile or the built-in),
    for a keep-alive HTTP/1.1 client; a closing reply gets `connection: close`."""
    reply = error_reply(code, proxy)
    return reply.render(b"connection: close\r\n" if reply.close and not reply.http10 else b"")


# The pages HAProxy's H1 layer sends itself, before a request reaches a
# stream (parse errors, timeout http-request): written raw, with the header
# names as in src/http.c, `Connection: close` where the source has it, and
# not counted in the log's %B.  422 answers a request transfer-coding other
# than chunked (recorded from HAProxy 2.6.12).
_MUX_ONLY = {422: ("Unprocessable Content", "The server cannot process the contained instructions.")}


def mux_error_bytes(code: int, frontend: Any = None) -> bytes:
    """Bytes of the page HAProxy's H1 layer sends for `code` (the frontend's errorfile wins)."""
    raw = frontend.errorfiles.get(code) if frontend is not None else None
    if raw is not None:
        return raw
    reason, text = _MESSAGES.get(code) or _MUX_ONLY[code]
    body = f"<html><body><h1>{code} {reason}</h1>\n{text}\n</body></html>\n"
    close = "Connection: close\r\n" if code in _CLOSING else ""
    head = (f"HTTP/1.1 {code} {reason}\r\nContent-length: {len(body)}\r\nCache-Control: no-cache\r\n"
            f"{close}Content-Type: text/html\r\n\r\n")  # fmt: skip
    return (head + body).encode()
