"""The facts a traffic log line is made of (worker; standard library only).

Sessions (workers/tcp.py, workers/http.py) fill one LogRecord per logged
stream as things happen; when the stream ends the proxy's compiled log
format (lb.logs.logformat) turns it into a line.  Field meanings follow
HAProxy's doc/configuration.txt §8.2-8.5; the alias each field feeds is
noted.  Times: `*_date` are wall-clock `time.time()` values; the `t_*`
timers are integer milliseconds with -1 meaning "this phase never happened".

Every timer holds the value the alias prints (Tw is `t_queue`, not a date
since accept).  One HAProxy quirk to reproduce in TCP: its request date is
unset there, so its Tw is the queue time plus one (`1/0/0` for a direct
connect, `-1` when the stream never queued, e.g. NOSRV).  Derived timers
(%Tq %Td %Tu, %Ta when `t_active` is -1) are computed by lb.logs.aliases.

Strings that come from the wire (request line, captured headers and
cookies, request headers) are expected as raw bytes decoded with latin-1;
the formatter encodes anything non-printable as `#XX`, as HAProxy does.
`None`/`""`/`"-"` mean "absent" for the optional strings.
"""

from __future__ import annotations


class LogRecord:
    __slots__ = (
        # who and where
        "client_ip", "client_port",          # %ci %cp (from the PROXY header with accept-proxy)
        "frontend_ip", "frontend_port",      # %fi %fp
        "backend_src_ip", "backend_src_port",  # %bi %bp: our side of the server connection
        "server_ip", "server_port",          # %si %sp
        "frontend", "backend", "server",     # %ft %b %s (backend None -> frontend name, server None -> <NOSRV>)
        "frontend_ssl",                      # %ft gets a '~' suffix
        # dates
        "accept_date",                       # %t %T: accept of the connection
        "request_date",                      # %tr: first byte of the request (HTTP); accept_date for TCP
        # timers, ms (-1: never reached)
        "t_handshake", "t_idle",             # %Th %Ti
        "t_request",                         # %TR
        "t_queue", "t_connect",              # %Tw %Tc
        "t_response",                        # %Tr (HTTP)
        "t_active",                          # %Ta (HTTP)
        "t_total",                           # %Tt
        # volumes
        "bytes_out",                         # %B: bytes sent to the client (headers included in HTTP)
        "bytes_in",                          # %U: bytes received from the client
        "received",                          # raw bytes read from the client (dontlognull's test; %U may be 0)
        # outcome
        "status",                            # %ST (HTTP), -1 when none
        "term_state",                        # %ts: 2 chars, e.g. "--", "SC", "cD"
        "cookie_flags",                      # 2 chars appended by %tsc, e.g. "NI", "--"
        "retries", "redispatched",           # %rc (with a '+' when redispatched)
        # concurrency at log time
        "actconn", "feconn", "beconn", "srvconn",  # %ac %fc %bc %sc
        "srv_queue", "backend_queue",        # %sq %bq
        # HTTP request facts
        "method", "uri", "http_version",     # %HM %HU %HV; %r is "METH URI VER"
        "request_line",                      # %r as received (may be truncated)
        "captured_request_headers",          # list[str] -> %hr {a|b}
        "captured_response_headers",         # list[str] -> %hs
        "captured_request_cookie",           # %CC
        "captured_response_cookie",          # %CS
        "unique_id",                         # %ID
        "is_error",                          # for option log-separate-errors
        # added by lb.logs (appended, nothing renamed)
        "request_counter",                   # %rt: requests (HTTP) or sessions (TCP) seen by this worker
        "request_headers",                   # %[req.hdr(x)]: [(name, value), ...] as parsed, or None
        "rules_txn",                         # %[sc_http_req_rate(0)]...: the lb.rules Txn of the stream, or None
    )  # fmt: skip

    def __init__(self) -> None:
        self.client_ip = "-"
        self.client_port = 0
        self.frontend_ip = "-"
        self.frontend_port = 0
        self.backend_src_ip = "-"
        self.backend_src_port = 0
        self.server_ip = "-"
        self.server_port = 0
        self.frontend = ""
        self.backend: str | None = None
        self.server: str | None = None
        self.frontend_ssl = False
        self.accept_date = 0.0
        self.request_date = 0.0
        self.t_handshake = 0
        self.t_idle = -1
        self.t_request = -1
        self.t_queue = -1
        self.t_connect = -1
        self.t_response = -1
        self.t_active = -1
        self.t_total = -1
        self.bytes_out = 0
        self.bytes_in = 0
        self.received = 0
        self.status = -1
        self.term_state = "--"
        self.cookie_flags = "--"
        self.retries = 0
        self.redispatched = False
        self.actconn = 0
        self.feconn = 0
        self.beconn = 0
        self.srvconn = 0
        self.srv_queue = 0
        self.backend_queue = 0
        self.method = ""
        self.uri = ""
        self.http_version = ""
        self.request_line = ""
        self.captured_request_headers: list[str] | None = None
        self.captured_response_headers: list[str] | None = None
        self.captured_request_cookie = "-"
        self.captured_response_cookie = "-"
        self.unique_id = "-"
        self.is_error = False
        self.request_counter = 0
        self.request_headers: list[tuple[str, str]] | None = None
        self.rules_txn: object = None


# HAProxy's %B and %U in HTTP are not the bytes on the wire but the size of the
# message in its internal HTX form (measured against haproxy 2.6: every
# recorded httplog byte count, e.g. the built-in 503 logs 217 while 233 bytes
# are sent).  The start line costs a 20-byte structure plus its three strings,
# each header its name and value (no ": " nor CRLF), the end of headers one
# byte, then the payload (no chunk framing).  Headers HAProxy's HTTP/1 layer
# consumes (the `close`/`keep-alive` Connection header) are not in HTX, and
# neither is what it adds when writing (`connection: close`).
HTX_START_LINE = 20
HTX_END_OF_HEADERS = 1


def htx_message_size(first: str, second: str, third: str, headers: list[tuple[str, str]], payload: int = 0) -> int:
    """HAProxy's byte count of an HTTP message: (method, uri, version) for a
    request, (version, status, reason) for a response; `headers` as HAProxy
    forwards them; `payload` body bytes without chunk framing."""
    size = HTX_START_LINE + len(first) + len(second) + len(third) + HTX_END_OF_HEADERS + payload
    return size + sum(len(name) + len(value) for name, value in headers)
