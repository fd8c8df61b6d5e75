"""One HTTP request/response exchange as the engine tracks it (worker).

HttpTxn holds the wire-level state of a request (body framing, what is
still to send, timers) next to the rules-level `lb.http.txn.Txn` that ACLs
and rules read.  Timer names follow HAProxy (cfg §8.4).
"""

from __future__ import annotations

import collections
from typing import Any

from lb.logs.record import LogRecord

NO_BODY_STATUS = (204, 304)


def encode_chunk(data: bytes | memoryview) -> bytes:
    """One chunk of a chunked body as it goes on the wire."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


class HttpTxn:
    def __init__(self, begin: float, date: float, idle_ms: int) -> None:
        # request, as parsed
        self.url = bytearray()
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.request: Any = None  # lb.http.message.Request
        self.rules: Any = None  # lb.http.txn.Txn
        self.version = "1.1"
        self.keep_alive = True  # what the client asked for (httptools' should_keep_alive)
        self.upgrade = False
        self.chunked = False  # request body is chunked
        self.has_body = False
        self.complete = False  # whole request received
        self.body: collections.deque[bytes] = collections.deque()  # wire-ready body not yet sent
        self.body_size = 0
        self.bytes_in = 0
        # routing
        self.backend: Any = None
        self.server: Any = None
        self.connector: Any = None
        self.local_reply = False  # answered by lb itself (deny, redirect, return, errors)
        # response
        self.response: Any = None
        self.status = -1
        self.resp_chunked = False
        self.resp_until_close = False
        self.resp_no_body = False
        self.resp_done = False
        self.server_close = False  # the server will close after this response
        self.retried = False  # sent again once after a reused connection failed
        self.server_counted = True  # the server's in-flight count still includes this txn
        self.early_tunnel_data = b""  # client bytes after an Upgrade request        self.close_after = False  # close the client connection once this response is sent
        self.bytes_out = 0
        # timers (monotonic seconds; -1 = not reached)
        self.begin = begin
        self.date = date
        self.idle_ms = idle_ms
        self.headers_at = -1.0
        self.sent_at = -1.0  # request head written to the server
        self.response_at = -1.0
        self.t_queue = -1
        self.t_connect = -1
        self.retries = 0
        self.redispatched = False
        self.term = "--"
        self.cookie_flags = "--"

    def request_line(self) -> str:
        request = self.request
        if request is None:
            return "<BADREQ>"
        return f"{request.method} {request.uri} HTTP/{request.version}"

    def fill_record(self, record: LogRecord, now: float) -> None:
        """The HTTP fields of the log line (Stream.log fills the connection ones)."""
        ms = lambda start, end: int((end - start) * 1000) if start >= 0 and end >= 0 else -1  # noqa: E731
        record.request_date = self.date
        record.t_idle = self.idle_ms
        record.t_request = ms(self.begin, self.headers_at)
        record.t_queue = self.t_queue
        record.t_connect = self.t_connect
        record.t_response = ms(self.sent_at, self.response_at) if self.t_connect >= 0 else -1
        record.t_active = ms(self.begin, now)
        record.status = self.status
        record.bytes_out = self.bytes_out
        record.bytes_in = self.bytes_in
        record.term_state = self.term
        record.cookie_flags = self.cookie_flags
        record.retries, record.redispatched = self.retries, self.redispatched
        request = self.request
        if request is not None:
            record.method, record.uri, record.http_version = request.method, request.uri, f"HTTP/{request.version}"
        record.request_line = self.request_line()
        rules = self.rules
        if rules is not None:
            record.captured_request_headers = rules.req_captures
            record.captured_response_headers = rules.res_captures
            record.unique_id = rules.unique_id or "-"
        record.is_error = self.status >= 500 or self.term[0] not in "-L"
