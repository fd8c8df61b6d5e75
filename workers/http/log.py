"""The end of an exchange: its counters and its log line (worker).

`account()` adds a finished exchange to the statistics of its frontend,
backend and server (HAProxy's stream_process_counters and the
hrsp/req_tot/abort counts of its HTTP analysers), through the tallies
workers/counting.py publishes; `log_exchange()` fills a LogRecord from the exchange and the
client connection, both passed as arguments, and hands it to the
frontend's compiled log format.

HAProxy logs HTTP sizes (%B, %U) as its internal message size (HTX): a
fixed overhead, the three start-line strings, each header's name and
value, and the payload without chunk framing; Connection headers it adds
itself are not counted.
"""

from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING, Any

from lb.logs.record import HTX_END_OF_HEADERS, HTX_START_LINE, LogRecord
from workers.counting import (
    BYTES_IN,
    BYTES_OUT,
    REQUESTS,
    SESSIONS,
    T_CONNECT,
    T_COUNT,
    T_DATA,
    T_QUEUE,
    T_TOTAL,
    hrsp_slot,
)
from workers.http import policy
from workers.http.heads import fields_size, raw_message_size
from workers.runtime import C_CLI_ABORTS, C_DENIED, C_DENIED_RESP, C_INTERCEPTED, C_SRV_ABORTS

if TYPE_CHECKING:
    from workers.http.exchange import ClientSide, Exchange
    from workers.http.h1 import H1Connection
    from workers.runtime import FrontendRuntime


def ms_between(start: float, end: float) -> int:
    return int((end - start) * 1000) if start >= 0 and end >= 0 else -1


# -- counters ------------------------------------------------------------------------------


def account(frontend: FrontendRuntime, ex: Exchange, wire_in: int, now: float) -> None:
    """Count the finished exchange (once, before its log line), in the tallies
    workers/counting.py publishes once a second; `wire_in` is what the client sent
    for it, `now` the loop's time."""
    status = ex.status
    slot = hrsp_slot(status)
    bytes_out = ex.bytes_out
    tally = frontend.tally
    if status > 0:
        tally[slot] += 1
    tally[BYTES_IN] += wire_in
    tally[BYTES_OUT] += bytes_out
    server = ex.server
    if server is not None and ex.sent_at >= 0:  # the backend's share comes from its servers' tallies
        tally = server.tally
        tally[SESSIONS] += 1
        tally[BYTES_IN] += wire_in
        tally[BYTES_OUT] += bytes_out
        if ex.response_at >= 0:  # the server answered (HAProxy counts its responses only)
            tally[REQUESTS] += 1
            tally[slot] += 1
            tally[T_COUNT] += 1
            if ex.t_queue > 0:
                tally[T_QUEUE] += ex.t_queue
            tally[T_CONNECT] += ex.t_connect
            tally[T_DATA] += int((ex.response_at - ex.sent_at) * 1000)
            tally[T_TOTAL] += int((now - ex.begin) * 1000)
        elif status > 0 and ex.backend is not None:  # lb answered for it (502, 504...)
            tally = ex.backend.tally
            tally[REQUESTS] += 1
            tally[slot] += 1
    elif ex.backend is not None:  # no server was reached: the backend alone
        tally = ex.backend.tally
        tally[SESSIONS] += 1
        tally[BYTES_IN] += wire_in
        tally[BYTES_OUT] += bytes_out
        if status > 0:
            tally[REQUESTS] += 1
            tally[slot] += 1
    term = ex.term
    if term[1] == "D" or ex.local_reply:
        count_outcome(frontend, ex, term)


def count_outcome(frontend: FrontendRuntime, ex: Exchange, term: str) -> None:
    """Aborts during the transfer and what rules denied (rarer: kept off the main path)."""
    if term[1] == "D":
        counter = C_CLI_ABORTS if term[0] in "Cc" else C_SRV_ABORTS if term[0] in "Ss" else -1
    elif ex.rejected:
        return
    elif term == "LR":  # redirects, returns, the stats page, services (HAProxy's intercepted_req)
        frontend.count(C_INTERCEPTED)
        return
    else:
        counter = C_DENIED if term == "PR" else C_DENIED_RESP if term == "PH" else -1
    if counter < 0:
        return
    objects = [frontend, ex.backend] + ([ex.server] if counter in (C_CLI_ABORTS, C_SRV_ABORTS, C_DENIED_RESP)
                                             else [])  # fmt: skip
    if counter in (C_DENIED, C_DENIED_RESP):
        objects.append(ex.client.client.counts)  # the listener's, with socket-stats (HAProxy counts denials there)
    for obj in objects:
        if obj is not None:
            obj.count(counter)


# -- the log line ----------------------------------------------------------------------------


def exchange_ended(side: ClientSide, ex: Exchange, wire_in: int, counts: Any) -> None:
    """Once per exchange, served or cut short, whatever protocol drove it: counted,
    its bytes added to the listener's `counts` (`option socket-stats`), logged, then
    the stick-table entries it tracked released (after the line: %[sc_*] still sees them)."""
    frontend = side.frontend
    account(frontend, ex, wire_in, side.loop.now)
    if counts is not None:
        counts.add_bytes(wire_in, ex.bytes_out)
    if frontend.logger is not None:
        log_exchange(side, ex)  # type: ignore[arg-type]  # the log reads what every client side has
    rules = ex.rules
    if rules is not None and (rules.stkctr is not None or side.facts.stkctr is not None):
        policy.tracked_end(ex, wire_in)


def log_exchange(conn: H1Connection, ex: Exchange) -> None:
    """The frontend's log line for `ex`, if it has a log target."""
    logger = conn.frontend.logger
    if logger is None or not logger.enabled:
        return
    try:
        record = conn.client.base_record()
        fill_record(record, conn, ex)
        logger.log(record)
    except Exception as exc:  # a bug in logging must not end the connection
        conn.worker.report_error(conn, exc)


def fill_record(record: LogRecord, conn: H1Connection, ex: Exchange) -> None:
    now = conn.loop.now
    record.request_date = conn.accept_date + (ex.begin - conn.accept_time) if ex.begin >= 0 else conn.accept_date
    if ex.rejected:  # HAProxy: -1/-1/-1/-1/0 for a request its H1 layer refused
        ex.headers_at = ex.sent_at = -1.0
        ex.t_queue = ex.t_connect = -1
    record.t_idle = ex.idle_ms
    record.t_request = ms_between(ex.begin, ex.headers_at)
    record.t_queue = ex.t_queue
    record.t_connect = ex.t_connect
    record.t_response = ms_between(ex.sent_at, ex.response_at) if ex.t_connect >= 0 else -1
    record.t_active = 0 if ex.rejected else ms_between(ex.begin, now)
    if conn.requests > 1:
        record.t_total = ex.idle_ms + record.t_active
    record.status = ex.status
    record.bytes_out = response_size(ex)
    record.bytes_in = request_size(ex)
    record.received = ex.raw_in
    record.term_state = ex.term
    record.cookie_flags = policy.cookie_flags(ex)
    record.retries, record.redispatched = ex.retries, ex.redispatched
    record.request_counter = ex.rt
    fill_request_line(record, ex)
    fill_captures(record, ex)
    backend, server = ex.backend, ex.server
    record.backend = backend.name if backend is not None else None
    record.server = server.name if server is not None else None
    if ex.service is not None:  # an applet: HAProxy logs its name and 0 for Tw, Tc, Tr
        record.server = ex.service.log_name
        record.t_queue = record.t_connect = record.t_response = 0
    if server is not None:
        record.server_ip, record.server_port = server.address
        record.srvconn = server.current_conns()
        server_conn = ex.conn
        if server_conn is not None:
            record.backend_src_ip, record.backend_src_port = server_conn.local_ip, server_conn.local_port
    if backend is not None:
        record.beconn = backend.current_conns()
        record.backend_queue = len(backend.queue)


def fill_request_line(record: LogRecord, ex: Exchange) -> None:
    request = ex.request
    if ex.rejected:
        record.request_line = ""  # logged as <BADREQ>: no method, URI or version
    elif not ex.method:
        record.request_line = "<BADREQ>"
    elif request is not None:
        record.method, record.uri, record.http_version = request.method, request.uri, f"HTTP/{request.version}"
        record.request_line = f"{request.method} {request.uri} HTTP/{request.version}"
    else:  # the raw path: decoded once for %HM %HU %HV and %r
        record.method, record.uri = ex.method.decode("latin-1"), ex.url.decode("latin-1")
        record.http_version = f"HTTP/{ex.version}"
        record.request_line = f"{record.method} {record.uri} {record.http_version}"


def fill_captures(record: LogRecord, ex: Exchange) -> None:
    record.captured_request_cookie = ex.captured_cookie
    record.captured_response_cookie = ex.captured_set_cookie
    rules = ex.rules
    if rules is not None:
        record.captured_request_headers = rules.req_captures
        record.captured_response_headers = rules.res_captures
    record.unique_id = ex.unique_id
    record.rules_txn = rules  # %[sc_*] in log-format read the stream's counters
    record.is_error = ex.status >= 500 or ex.term[0] not in "-L"


def request_size(ex: Exchange) -> int:
    if not ex.method or ex.rejected:
        return 0
    size = HTX_START_LINE + len(ex.method) + len(ex.url) + 8 + HTX_END_OF_HEADERS + ex.bytes_in
    return size + fields_size(ex.raw_headers)


def response_size(ex: Exchange) -> int:
    if ex.rejected:
        return 0  # HAProxy does not count the pages its H1 layer sends
    if ex.local_data:
        return raw_message_size(ex.local_data)
    if ex.resp_headers is None:
        return 0
    size = HTX_START_LINE + 8 + 3 + len(ex.reason) + HTX_END_OF_HEADERS + ex.resp_payload
    if ex.status == 101:
        size += len(b"connectionUpgrade")  # HAProxy counts the Connection header of a 101
    if ex.resp_chunked:  # the end-of-trailers block, and the trailers themselves
        size += 1 + sum(map(len, chain.from_iterable(ex.resp_trailers or ())))
    size += ex.interim_size
    return size + fields_size(ex.resp_headers)
