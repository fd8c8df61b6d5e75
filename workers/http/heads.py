"""HTTP/1 on the wire: the heads lb writes both ways, chunks, HAProxy's HTX sizes (worker).

Heads are rebuilt in one pass each, the way HAProxy's H1 layer writes
them: header names lower-cased, the Connection header consumed and written
again by lb (`close` / `keep-alive` / `upgrade` as the connection modes
decide), Keep-Alive and Proxy-Connection forwarded.  A head that rules have
edited is serialized from its lb.rules.message object instead.

`conn` below is the client side (its `plan` and `closing`), `ex` the
Exchange (workers/http/exchange.py): only the attributes named are read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lb.logs.record import HTX_END_OF_HEADERS, HTX_START_LINE
from workers.http.plan import MODE_CLO

if TYPE_CHECKING:
    from workers.http.exchange import Exchange

NO_BODY_STATUS = (204, 304)
# HAProxy removes only the Connection header in both directions (Keep-Alive and
# Proxy-Connection are forwarded), and does not count it in HTX sizes.
HOP_BY_HOP = (b"connection",)
HOP_BY_HOP_STR = ("connection",)
LAST_CHUNK = b"0\r\n\r\n"
_STATUS_LINES: dict[tuple[str, int, bytes], bytes] = {}
_last_line_key: tuple[str, int, bytes] = ("", 0, b"")
_last_line = b""
BLANKS = b" \t"
_lower = bytes.lower


class BadFraming(ValueError):
    """The server's response cannot be relayed as framed (502, PH)."""


def encode_chunk(data: bytes | memoryview) -> bytes:
    """One chunk of a chunked body as it goes on the wire (upper-case hex, as HAProxy writes it)."""
    return b"%X\r\n%s\r\n" % (len(data), data)


def last_chunk(trailers: list[tuple[bytes, bytes]] | None) -> bytes:
    """The end of a chunked body, with the trailer fields (names lower-cased) when any."""
    if not trailers:
        return LAST_CHUNK
    return b"0\r\n" + b"".join(b"%s: %s\r\n" % (n.lower(), v) for n, v in trailers) + b"\r\n"


# -- request -------------------------------------------------------------------------


def request_head(conn: Any, ex: Exchange) -> bytes:
    """The request head for the server, with HAProxy's connection handling."""
    backend_plan = ex.backend.plan  # type: ignore[union-attr]  # a routed exchange has a backend and a plan
    connection: bytes | None
    if ex.upgrade:
        connection = b"upgrade"
    elif conn.plan.mode or backend_plan.mode:  # type: ignore[union-attr]  # either side not keep-alive (MODE_KAL 0)
        connection = b"close"
    elif ex.version == "1.0":
        connection = b"keep-alive"
    else:
        connection = None
    request = ex.request
    if request is not None and not request.as_received():  # rules edited it: serialize their object
        for hop in HOP_BY_HOP_STR:
            request.del_header(hop)
        if connection:
            request.add_header("connection", connection.decode())
        return request.head_bytes()
    if ex.version == "2.0":  # an HTTP/2 stream (workers/http/h2stream.py): HTTP/1.1, origin form
        parts: list[bytes] = [ex.method, b" ", origin_target(ex.url), b" HTTP/1.1\r\n"]
    else:
        parts = [ex.method, b" ", ex.url, b" HTTP/", ex.version.encode(), b"\r\n"]
    for name, value in ex.raw_headers:
        lower = _lower(name)
        if len(lower) != 10 or lower != b"connection":  # HOP_BY_HOP's only name
            parts.append(lower)
            parts.append(b": ")
            parts.append(value)
            parts.append(b"\r\n")
    if connection:
        parts.append(b"connection: ")
        parts.append(connection)
        parts.append(b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def origin_target(url: bytes) -> bytes:
    """The absolute target of an HTTP/2 request in origin form (HAProxy's H1 output
    of a normalized URI); another scheme's target is sent as it is."""
    lower = url[:8].lower()
    if lower[:7] == b"http://" or lower == b"https://":
        start = url.find(b"//") + 2
        end = len(url)
        for separator in (b"/", b"?"):  # the authority ends at the first of them
            at = url.find(separator, start, end)
            if at >= 0:
                end = at
        return url[end:] if url[end : end + 1] == b"/" else b"/" + url[end:]
    return url


# -- response --------------------------------------------------------------------------


def status_line(version: str, status: int, reason: bytes) -> bytes:
    """`HTTP/1.1 200 OK\\r\\n`, formatted once per distinct line (a server sends few)."""
    global _last_line_key, _last_line
    key = (version, status, reason)
    if key == _last_line_key:  # a tuple of an interned str, a small int and short bytes: cheap to compare
        return _last_line
    line = _STATUS_LINES.get(key)
    if line is None:
        line = b"HTTP/%s %d %s\r\n" % (version.encode(), status, reason)
        if len(_STATUS_LINES) < 1024:  # bounded: reasons come from servers
            _STATUS_LINES[key] = line
    _last_line_key, _last_line = key, line
    return line


def response_head(conn: Any, ex: Exchange, version: str, reason: bytes) -> bytes:
    """Frame the response and build its head for the client in one pass: names
    lower-cased, the Connection header consumed (its tokens tell whether the
    server closes), chunked or length noted, HAProxy's connection header added.
    Sets ex.server_close, resp_chunked, resp_until_close and close_after.
    BadFraming (before anything is sent) for a transfer-coding other than chunked."""
    server_close = version == "1.0"
    has_length = False
    parts = [status_line(version, ex.status, reason)]
    headers = ex.resp_headers
    if headers is None:
        headers = []
    for name, value in headers:
        lower = _lower(name)  # the method itself, kept: no lookup per header
        size = len(lower)  # the three names the framing reads, told apart by length first
        if size == 10 and lower == b"connection":
            token = value.strip().lower()
            server_close = token == b"close" or (server_close and token != b"keep-alive")
            continue
        if size == 17 and lower == b"transfer-encoding":
            if value.strip().lower() != b"chunked":
                raise BadFraming("transfer-coding other than chunked")  # HAProxy 2.6 answers 502
            ex.resp_chunked = not ex.resp_no_body
        elif size == 14 and lower == b"content-length":
            has_length = True
        elif value and value[len(value) - 1] in BLANKS:  # HAProxy drops trailing blanks
            value = value.rstrip(b" \t")
        parts.append(lower)  # four appends beat `parts += (...)`, compiled and on CPython 3.11 alike
        parts.append(b": ")
        parts.append(value)
        parts.append(b"\r\n")
    if has_length and ex.resp_chunked:  # both (parsed leniently): HAProxy drops Content-Length
        parts = without_content_length(parts)
    ex.server_close = server_close
    ex.resp_until_close = not (ex.resp_no_body or ex.resp_chunked or has_length)
    upgrade = ex.status == 101 and ex.upgrade
    backend_mode = ex.backend.plan.mode  # type: ignore[union-attr]  # a response has a routed exchange
    ex.close_after = not upgrade and (not ex.keep_alive or conn.closing or ex.resp_until_close
                                      or not ex.complete or MODE_CLO in (conn.plan.mode, backend_mode))  # fmt: skip
    # HAProxy's H1 output: close is implicit in an HTTP/1.0 response, keep-alive
    # must be said to an HTTP/1.0 client or in an HTTP/1.0 response.
    if upgrade:
        connection: bytes | None = b"upgrade"
    elif ex.close_after:
        connection = None if version == "1.0" else b"close"
    else:
        connection = b"keep-alive" if ex.version == "1.0" or version == "1.0" else None
    response = ex.response
    if response is not None:  # rules edited the head: serialize their object
        for name_str in HOP_BY_HOP_STR:
            response.del_header(name_str)
        if connection:
            response.add_header("connection", connection.decode())
        return response.head_bytes()
    if connection:
        parts.append(b"connection: ")
        parts.append(connection)
        parts.append(b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def without_content_length(parts: list[bytes]) -> list[bytes]:
    """`parts` of a head (name, ": ", value, CRLF groups after the status line)
    without its content-length fields."""
    kept = parts[:1]
    for i in range(1, len(parts), 4):
        if parts[i] != b"content-length":
            kept += parts[i : i + 4]
    return kept


def interim_head(status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    parts = [b"HTTP/1.1 %d " % status, reason, b"\r\n"]
    for name, value in headers:
        parts.append(b"%s: %s\r\n" % (name.lower(), value))
    parts.append(b"\r\n")
    return b"".join(parts)


# -- HAProxy's sizes (%B, %U) ------------------------------------------------------------


def fields_size(fields: list[tuple[bytes, bytes]]) -> int:
    """HTX size of header fields: names plus values, Connection headers left out.

    Runs once per logged request (a loop that compiles)."""
    size = 0
    for name, value in fields:
        if len(name) != 10 or name.lower() != b"connection":  # HOP_BY_HOP's only name
            size += len(name) + len(value)
    return size


def interim_size(status_reason: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """HTX size of a relayed 1xx response (counted in the final one's %B)."""
    return HTX_START_LINE + 11 + len(status_reason) + HTX_END_OF_HEADERS + sum(len(n) + len(v) for n, v in headers)


def raw_message_size(data: bytes) -> int:
    """HTX size of a complete raw HTTP/1 response (lb's own replies)."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    status, _, reason = rest.partition(b" ")
    size = HTX_START_LINE + len(version) + len(status) + len(reason) + HTX_END_OF_HEADERS + len(body)
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.lower() not in HOP_BY_HOP:
            size += len(name) + len(value.strip())
    return size
