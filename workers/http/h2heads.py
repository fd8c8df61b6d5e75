"""HTTP/2 heads to and from the exchange, as HAProxy's H2 mux converts them (worker).

`request_into(ex, headers, end_stream, limits, bufsize)` turns the header list of
a HEADERS frame into the exchange's request (method, target, version
"2.0", header tuples), with the rules of HAProxy 2.6's h2_make_htx_request:

- pseudo-headers first, each at most once, among :method :scheme
  :authority :path (a :status, an unknown one, one after a regular field,
  a missing :method/:scheme/:path, an empty :path or one not starting with
  `/` other than `*`: the stream is refused, RST_STREAM PROTOCOL_ERROR);
- names in lower case and tokens, values without NUL, CR or LF;
  connection, proxy-connection, keep-alive, upgrade, transfer-encoding and
  a `te` other than `trailers` are refused the same way;
- the target is the absolute URI `scheme://authority/path` (what HAProxy
  logs for an HTTP/2 request), sent to an HTTP/1.1 server in origin form
  (workers/http/heads.py); a Host field is made from :authority, placed
  before the first regular field, and a Host the client sent is dropped;
  cookie crumbs are joined with `; ` into one field, at the end;
- content-length values must agree; a body without a length goes to the
  server chunked; the scheme's default port is dropped from the authority.

A method or target with characters HAProxy's analyser refuses gives 400.
`response_fields` builds the HEADERS list of a response from the server's
HTTP/1 head, and `reply_parts` that of a reply lb writes itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.http.heads import BadFraming
from workers.http.target import without_default_port

if TYPE_CHECKING:
    from workers.http.exchange import Exchange
    from workers.http.plan import Limits

OK = 0
REFUSE = -1  # RST_STREAM PROTOCOL_ERROR, as HAProxy's mux refuses the stream
UNDECODABLE = -2  # GOAWAY COMPRESSION_ERROR: what HAProxy's HPACK decoder cannot hold (a connection error)
BAD_REQUEST = 400  # HAProxy's analyser answers 400
PSEUDO_REQUEST = (b":method", b":scheme", b":authority", b":path")
# Connection-specific fields (RFC 9113 8.2.2): a request carrying one is refused, and an
# HTTP/2 response cannot carry them (HAProxy's H2 mux drops them from a server's response).
HOP_BY_HOP = (b"connection", b"proxy-connection", b"keep-alive", b"upgrade", b"transfer-encoding")
TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
TOKEN_LOWER = frozenset(c for c in TOKEN if not 65 <= c <= 90)
FORBIDDEN_VALUE = (b"\x00", b"\r", b"\n")
UNSAFE_URI = frozenset(range(0, 33)) | {127}  # LWS and CTL
_STATUS = {code: b"%d" % code for code in range(100, 600)}


def valid_name(name: bytes, pseudo: bool) -> bool:
    for char in name[1:] if pseudo else name:
        if char not in TOKEN_LOWER:
            return False
    return bool(name)


def request_into(ex: Exchange, headers: list[tuple[bytes, bytes]], end_stream: bool, limits: Limits,
                 bufsize: int) -> int:
    """Fill `ex` from a request's header list: OK, REFUSE, UNDECODABLE or BAD_REQUEST."""
    if len(headers) > 2 * (limits.headers + 1):
        return UNDECODABLE  # more fields than HAProxy's decoder list (2 x tune.http.maxhdr)
    pseudo: dict[bytes, bytes] = {}
    fields: list[tuple[bytes, bytes]] = []
    cookies: list[bytes] = []
    length: bytes | None = None
    regular = False
    size = 0
    for name, value in headers:
        size += len(name) + len(value)
        for bad in FORBIDDEN_VALUE:
            if bad in value:
                return UNDECODABLE  # HAProxy 2.6's decoder refuses NUL, CR and LF (seen side by side)
        if name[:1] == b":":
            if regular or name not in PSEUDO_REQUEST or name in pseudo or not valid_name(name, True):
                return REFUSE
            pseudo[name] = value
        elif not valid_name(name, False):
            return REFUSE
        else:
            regular = True
            if name in HOP_BY_HOP or (name == b"te" and value != b"trailers"):
                return REFUSE
            if name == b"cookie":
                cookies.append(value)
                continue
            if name == b"content-length":
                value = content_length(value, length)
                if not value:
                    return REFUSE
                if length is not None:
                    continue  # the same length again: HAProxy keeps one
                length = value
            fields.append((name, value))
    if size > bufsize:
        return UNDECODABLE  # larger than a buffer: HAProxy's decoder fails (a connection error)
    if size > limits.head:
        return REFUSE  # decoded, but too large for a message: a stream error
    return request_line(ex, pseudo, fields, cookies, length, end_stream)


def content_length(value: bytes, known: bytes | None) -> bytes:
    """The cleaned length of a content-length value (a list of equal numbers), or b""
    when invalid or different from the `known` one."""
    found = known
    for part in value.split(b","):
        part = part.strip(b" \t")
        if not part.isdigit() or (found is not None and int(part) != int(found)):
            return b""
        found = part
    return found or b""


def request_line(ex: Exchange, pseudo: dict[bytes, bytes], fields: list[tuple[bytes, bytes]], cookies: list[bytes],
                 length: bytes | None, end_stream: bool) -> int:  # fmt: skip
    method, scheme, path = pseudo.get(b":method"), pseudo.get(b":scheme"), pseudo.get(b":path")
    authority = pseudo.get(b":authority")
    if method is None or scheme is None or path is None or method == b"CONNECT":
        return REFUSE  # CONNECT and extended CONNECT (RFC 8441) are not supported over HTTP/2
    if not path or (path[:1] != b"/" and path != b"*") or not method:
        return REFUSE
    status = OK
    lower = scheme.lower()
    if lower not in (b"http", b"https") and not valid_scheme(scheme):
        status = BAD_REQUEST
    if any(char not in TOKEN for char in method):
        status = BAD_REQUEST
    headers: list[tuple[bytes, bytes]] = []
    if authority is not None:
        bare = without_default_port(lower + b"://", authority)
        if bare is not None and lower in (b"http", b"https"):
            authority = bare  # scheme-based normalization
        url = scheme + b"://" + authority + (path if path != b"*" else b"")
        headers.append((b"host", authority))
        headers.extend(field for field in fields if field[0] != b"host")
    else:
        url = path
        headers = fields
    if any(char in UNSAFE_URI for char in url):
        status = BAD_REQUEST
    if cookies:
        headers.append((b"cookie", b"; ".join(cookies)))
    ex.method, ex.url, ex.version = method, url, "2.0"
    ex.raw_headers = headers
    if not end_stream and length is None:
        ex.chunked = True  # no length: the HTTP/1.1 server gets it chunked
        headers.append((b"transfer-encoding", b"chunked"))
    return status


def valid_scheme(scheme: bytes) -> bool:
    """RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )."""
    return bool(scheme) and scheme[:1].isalpha() and all(c < 128 and (chr(c).isalnum() or c in b"+-.") for c in scheme)


# -- responses ----------------------------------------------------------------------------------


def response_fields(ex: Exchange, version: str) -> list[tuple[bytes, bytes]]:
    """The HEADERS list of the server's response for an HTTP/2 client; notes the
    response's framing on `ex` as the HTTP/1 head builder does (server_close,
    resp_chunked, resp_until_close).  BadFraming for a transfer-coding other than chunked."""
    server_close = version == "1.0"
    has_length = False
    out = [(b":status", _STATUS.get(ex.status) or b"%d" % ex.status)]
    response = ex.response
    if response is not None:  # rules edited the head: their object is the source
        pairs = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in response.headers]
    else:
        pairs = ex.resp_headers or []
    for name, value in pairs:
        lower = name.lower()
        if lower in HOP_BY_HOP:
            if lower == b"connection":
                token = value.strip().lower()
                server_close = token == b"close" or (server_close and token != b"keep-alive")
            elif lower == b"transfer-encoding":
                if value.strip().lower() != b"chunked":
                    raise BadFraming("transfer-coding other than chunked")
                ex.resp_chunked = not ex.resp_no_body
            continue
        if lower == b"content-length":
            has_length = True
        out.append((lower, value.strip(b" \t")))
    if has_length and ex.resp_chunked:
        out = [field for field in out if field[0] != b"content-length"]
    ex.server_close = server_close
    ex.resp_until_close = not (ex.resp_no_body or ex.resp_chunked or has_length)
    return out


def fields_size(fields: list[tuple[bytes, bytes]]) -> int:
    """Names plus values of HTTP/2 fields, pseudo-headers included (the head's size in
    logs and limits); heads.fields_size is the HTTP/1 one, which leaves Connection out."""
    size = 0
    for name, value in fields:
        size += len(name) + len(value)
    return size


def regular_fields(fields: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Trailers: the fields without pseudo-headers."""
    return [(n, v) for n, v in fields if n[:1] != b":"]


def lower_names(fields: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(n.lower(), v) for n, v in fields]


def interim_fields(status: int, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out = [(b":status", b"%d" % status)]
    out.extend((n.lower(), v) for n, v in headers if n.lower() not in HOP_BY_HOP)
    return out


def reply_parts(rendered: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The HEADERS list and body of a reply lb renders as HTTP/1 (errors, deny, return, redirect)."""
    head, _, body = rendered.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = lines[0].split(b" ", 2)[1]
    out = [(b":status", status)]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name and name not in HOP_BY_HOP:
            out.append((name, value.strip(b" \t")))
    return out, body
