"""One HTTP request/response exchange as the engine tracks it (worker).

HttpTxn keeps the request as httptools delivered it (raw header tuples)
and builds the rules-level objects (`lb.rules.message.Request`,
`lb.rules.txn.Txn`) only when a rule, an ACL or a keyed balance needs
them: a proxy without rules forwards heads rebuilt straight from the raw
tuples.  Defaults live on the class, so creating a txn only stores what
differs (this runs once per request).  Timer names follow HAProxy (§8.4).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from lb.rules.message import Request, Response
from lb.rules.txn import Txn
from lb.logs.record import HTX_END_OF_HEADERS, HTX_START_LINE, LogRecord

NO_BODY_STATUS = (204, 304)
# HAProxy removes only the Connection header in both directions (Keep-Alive and
# Proxy-Connection are forwarded), and does not count it in HTX sizes.
HOP_BY_HOP = (b"connection",)
LAST_CHUNK = b"0\r\n\r\n"


def encode_chunk(data: bytes | memoryview) -> bytes:
    """One chunk of a chunked body as it goes on the wire (upper-case hex, as HAProxy writes it)."""
    return b"%X\r\n%s\r\n" % (len(data), data)


def last_chunk(trailers: list[tuple[bytes, bytes]] | None) -> bytes:
    """The end of a chunked body, with the trailer fields (names lower-cased) when any."""
    if not trailers:
        return LAST_CHUNK
    return b"0\r\n" + b"".join(b"%s: %s\r\n" % (n.lower(), v) for n, v in trailers) + b"\r\n"


def fields_size(fields: list[tuple[bytes, bytes]]) -> int:
    """HTX size of header fields: names plus values, Connection headers left out.

    Runs once per logged request: the lengths are summed in C, and only the
    rare Connection header is looked at in Python."""
    size = sum(map(len, chain.from_iterable(fields)))
    for name, value in fields:
        if len(name) == 10 and name.lower() == b"connection":  # HOP_BY_HOP's only name
            size -= len(name) + len(value)
    return size


def ms_between(start: float, end: float) -> int:
    return int((end - start) * 1000) if start >= 0 and end >= 0 else -1


class HttpTxn:
    # request, as parsed
    method = b""
    url = b""
    version = "1.1"
    keep_alive = True  # what the client asked for (httptools' should_keep_alive)
    upgrade = False
    chunked = False  # the request body is chunked
    complete = False  # the whole request has been received
    body: list | None = None  # wire-ready body not yet sent to the server
    body_size = 0
    bytes_in = 0
    early_tunnel_data = b""  # client bytes after an Upgrade request
    request: Request | None = None  # built on demand (rules, ACLs, keyed balance)
    rules: Txn | None = None
    # routing
    backend: Any = None
    server: Any = None
    persist: Any = None  # the server a persistence cookie named
    cookie_capture: tuple | None = None  # `capture cookie` in effect
    captured_cookie = "-"  # %CC
    captured_set_cookie = "-"  # %CS
    rt = 0  # %rt
    unique_id = "-"  # %ID
    connector: Any = None
    server_counted = False  # the server's in-flight count includes this txn
    retried = False
    local_reply = False  # answered by lb itself (deny, redirect, return, errors)
    started = False  # rules and routing have run
    rejected = False  # refused by the H1 layer (bad request, timeout): logged as HAProxy's <BADREQ>
    raw_in = 0  # bytes a refused request carried (HAProxy logs even these under dontlognull)
    # response
    response: Response | None = None
    resp_headers: list | None = None  # raw response header tuples
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
    trailers: list | None = None  # trailer fields of a chunked request
    resp_trailers: list | None = None
    local_data = b""  # the reply lb sent itself, for its logged size
    # timers (monotonic seconds; -1 = not reached) and log facts
    headers_at = -1.0
    sent_at = -1.0
    response_at = -1.0
    t_queue = -1
    t_connect = -1
    retries = 0
    redispatched = False
    term = "--"
    cookie_flags = "--"

    def __init__(self, begin: float, idle_ms: int) -> None:
        self.begin = begin  # monotonic time of the request's first byte (-1: none received)
        self.idle_ms = idle_ms
        self.raw_headers: list[tuple[bytes, bytes]] = []

    def build_request(self, facts: Any, frontend: Any) -> Request:
        """The rules-level request and txn, made once when something needs them."""
        if self.request is None:
            headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw_headers]
            self.request = Request(self.method.decode("latin-1"), self.url.decode("latin-1"), self.version, headers)
            self.rules = Txn(facts, self.request, frontend)
        return self.request

    def build_response(self, version: str, reason: bytes) -> Response:
        if self.response is None:
            headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.resp_headers or ()]
            self.response = Response(self.status, reason.decode("latin-1"), version, headers)
            if self.rules is not None:
                self.rules.response = self.response
        return self.response

    def request_line(self) -> str:
        if self.request is not None:
            return f"{self.request.method} {self.request.uri} HTTP/{self.request.version}"
        if not self.method:
            return "<BADREQ>"
        return f"{self.method.decode('latin-1')} {self.url.decode('latin-1')} HTTP/{self.version}"

    # HAProxy logs HTTP sizes (%B, %U) as its internal message size (HTX): a
    # fixed overhead, the three start-line strings, each header's name and
    # value, and the payload without chunk framing; Connection headers it
    # adds itself are not counted.

    def request_size(self) -> int:
        if not self.method or self.rejected:
            return 0
        size = HTX_START_LINE + len(self.method) + len(self.url) + 8 + HTX_END_OF_HEADERS + self.bytes_in
        return size + fields_size(self.raw_headers)

    def response_size(self) -> int:
        if self.rejected:
            return 0  # HAProxy does not count the pages its H1 layer sends
        if self.local_data:
            return raw_message_size(self.local_data)
        if self.resp_headers is None:
            return 0
        size = HTX_START_LINE + 8 + 3 + len(self.reason) + HTX_END_OF_HEADERS + self.resp_payload
        if self.status == 101:
            size += len(b"connectionUpgrade")  # HAProxy counts the Connection header of a 101
        if self.resp_chunked:  # the end-of-trailers block, and the trailers themselves
            size += 1 + sum(map(len, chain.from_iterable(self.resp_trailers or ())))
        size += self.interim_size
        return size + fields_size(self.resp_headers)

    def fill_record(self, record: LogRecord, now: float, accept_time: float, accept_date: float) -> None:
        """The HTTP fields of the log line (Stream.log fills the connection ones)."""
        record.request_date = accept_date + (self.begin - accept_time) if self.begin >= 0 else accept_date
        if self.rejected:  # HAProxy: -1/-1/-1/-1/0 for a request its H1 layer refused
            self.headers_at = self.sent_at = -1.0
            self.t_queue = self.t_connect = -1
        record.t_idle = self.idle_ms
        record.t_request = ms_between(self.begin, self.headers_at)
        record.t_queue = self.t_queue
        record.t_connect = self.t_connect
        record.t_response = ms_between(self.sent_at, self.response_at) if self.t_connect >= 0 else -1
        record.t_active = 0 if self.rejected else ms_between(self.begin, now)
        record.status = self.status
        record.bytes_out = self.response_size()
        record.bytes_in = self.request_size()
        record.received = self.raw_in
        record.term_state = self.term
        record.cookie_flags = self.cookie_flags
        record.retries, record.redispatched = self.retries, self.redispatched
        if self.rejected:
            record.request_line = ""  # logged as <BADREQ>: no method, URI or version
        elif self.request is not None:
            request = self.request
            record.method, record.uri, record.http_version = request.method, request.uri, f"HTTP/{request.version}"
            record.request_line = self.request_line()
        elif self.method:  # the raw path: decoded once for %HM %HU %HV and %r
            record.method, record.uri = self.method.decode("latin-1"), self.url.decode("latin-1")
            record.http_version = f"HTTP/{self.version}"
            record.request_line = f"{record.method} {record.uri} {record.http_version}"
        else:
            record.request_line = self.request_line()
        self.fill_captures(record)

    def fill_captures(self, record: LogRecord) -> None:
        record.captured_request_cookie = self.captured_cookie
        record.captured_response_cookie = self.captured_set_cookie
        rules = self.rules
        if rules is not None:
            record.captured_request_headers = rules.req_captures
            record.captured_response_headers = rules.res_captures
        record.unique_id = self.unique_id
        record.is_error = self.status >= 500 or self.term[0] not in "-L"


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
