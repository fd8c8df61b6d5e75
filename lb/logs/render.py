"""Renders a log line by walking its steps over a LogRecord, in compiled code (worker, checker).

The compiled counterpart of the generated f-string function of
lb.logs.logformat (which stays the quicker form in plain Python): one loop
over lb.logs.steps, a branch per code on typed record fields, and
HAProxy's separator rule (a separator is written only after something was
written since the last one; a field counts as written even when empty,
except header captures when none is configured).
"""

from __future__ import annotations

from typing import Any

import cython

from lb.logs.dates import MILLIS_TEXT
from lb.logs.encoding import encode_url
from lb.logs.record import LogRecord
from lb.logs.steps import (
    ACCEPT_DATE, ACCEPT_DATE_S, ACCEPT_MILLIS, ACTCONN, BACKEND, BACKEND_QUEUE, BACKEND_SRC_IP,
    BACKEND_SRC_PORT, BECONN, BYTES_IN, BYTES_OUT, CLIENT_IP, CLIENT_PORT, FALLBACK, FECONN, FRONTEND,
    FRONTEND_IP, FRONTEND_PORT, FRONTEND_T, HOSTNAME, LOG_COUNT, PID, REQUEST_COUNTER, REQUEST_DATE,
    REQUEST_DATE_S, REQUEST_LINE, REQ_CAPTURES, REQ_COOKIE, RES_CAPTURES, RES_COOKIE, RETRIES, SEP, SERVER,
    SERVER_IP, SERVER_PORT, SRVCONN, SRV_QUEUE, STATUS_HTTP, STATUS_TCP, TERM, TERM_COOKIE, TERM_TCP, TEXT,
    T_ACTIVE, T_CONNECT, T_D_HTTP, T_D_TCP, T_HANDSHAKE, T_IDLE, T_Q, T_QUEUE, T_REQUEST, T_RESPONSE, T_TOTAL,
    T_U, UNIQUE_ID, Step,
)  # fmt: skip

COMPILED = cython.compiled  # lb.logs.runtime renders with the steps only when compiled
OPT_MANDATORY, OPT_QUOTE = 1, 2  # lb.logs.aliases


def render(steps: list[Step], r: LogRecord, c: Any) -> str:
    """The line of record `r` (`c`: the logger's RenderContext)."""
    parts: list[str] = []
    space = True  # HAProxy's last_isspace
    for step in steps:
        code = step.code
        if code == SEP:
            if not space:
                parts.append(" ")
                space = True
            continue
        value = step.text if code == TEXT else field(step, r, c)
        if value is not None:  # None: captures that are not configured print nothing
            parts.append(value)
            space = False
    return "".join(parts)


def text(value: Any, opts: int) -> str:
    """HAProxy's lf_text: an absent string is `-` (mandatory) or nothing, `""` when quoted."""
    if value is None or value == "" or value == "-":
        return '""' if opts & OPT_QUOTE else ("-" if opts & OPT_MANDATORY else "")
    return f'"{value}"' if opts & OPT_QUOTE else value


def name(value: str, opts: int) -> str:
    """Names that always exist (frontend, backend, server) print as they are by default."""
    return value if opts == OPT_MANDATORY else text(value, opts)


def port(ip: Any, value: int, opts: int) -> str:
    """A port of a connection that may not exist (backend side, server)."""
    if ip is None or ip == "" or ip == "-":
        return text(None, opts)
    return f"{value}"


def field(step: Step, r: LogRecord, c: Any) -> str | None:
    code = step.code
    if code <= SERVER_PORT:
        return address(step, r)
    if code <= HOSTNAME:
        return names(step, r, c)
    if code <= T_U:
        return timer(code, r)
    if code <= PID:
        return counter(code, r, c)
    return other(step, r, c)


def address(step: Step, r: LogRecord) -> str:
    code, opts = step.code, step.opts
    if code == CLIENT_IP:
        return text(r.client_ip, opts)
    if code == CLIENT_PORT:
        return f"{r.client_port}"
    if code == FRONTEND_IP:
        return text(r.frontend_ip, opts)
    if code == FRONTEND_PORT:
        return f"{r.frontend_port}"
    if code == BACKEND_SRC_IP:
        return text(r.backend_src_ip, opts)
    if code == BACKEND_SRC_PORT:
        return port(r.backend_src_ip, r.backend_src_port, opts)
    if code == SERVER_IP:
        return text(r.server_ip, opts)
    return port(r.server_ip, r.server_port, opts)


def names(step: Step, r: LogRecord, c: Any) -> str:
    code, opts = step.code, step.opts
    if code == FRONTEND:
        return name(r.frontend, opts)
    if code == FRONTEND_T:
        return name(r.frontend + "~" if r.frontend_ssl else r.frontend, opts)
    if code == BACKEND:
        return name(r.backend or r.frontend, opts)
    if code == SERVER:
        return name(r.server or "<NOSRV>", opts)
    return text(c.hostname, opts)


def timer(code: int, r: LogRecord) -> str:
    value: int
    if code == T_HANDSHAKE:
        value = r.t_handshake
    elif code == T_IDLE:
        value = r.t_idle
    elif code == T_REQUEST:
        value = r.t_request
    elif code == T_QUEUE:
        value = r.t_queue
    elif code == T_CONNECT:
        value = r.t_connect
    elif code == T_RESPONSE:
        value = r.t_response
    elif code == T_TOTAL:
        value = r.t_total
    elif code == T_ACTIVE:  # as recorded, else Tt - (Th + Ti)
        value = r.t_active if r.t_active >= 0 else r.t_total - (r.t_handshake + r.t_idle if r.t_idle >= 0 else 0)
    elif code == T_Q:  # Th + Ti + TR
        value = r.t_handshake + max(r.t_idle, 0) + r.t_request if r.t_request >= 0 else -1
    elif code == T_D_HTTP:
        value = -1 if r.t_response < 0 else r.t_total - (r.t_handshake + max(r.t_idle, 0) + r.t_request
                                                          + r.t_queue + r.t_connect + r.t_response)  # fmt: skip
    elif code == T_D_TCP:  # HAProxy's TCP Tw carries a +1 (lb.logs.aliases.td_tcp)
        value = -1 if r.t_connect < 0 else r.t_total - (r.t_queue - 1 + r.t_connect)
    else:  # T_U: Tt - Ti
        value = r.t_total - max(r.t_idle, 0)
    return f"{value}"


def counter(code: int, r: LogRecord, c: Any) -> str:
    value: int
    if code == BYTES_OUT:
        value = r.bytes_out
    elif code == BYTES_IN:
        value = r.bytes_in
    elif code == STATUS_HTTP:
        value = r.status
    elif code == STATUS_TCP:  # no HTTP transaction: 0
        value = r.status if r.status >= 0 else 0
    elif code == TERM:
        return r.term_state
    elif code == TERM_COOKIE:
        return r.term_state + r.cookie_flags
    elif code == TERM_TCP:
        return r.term_state + "--"
    elif code == ACTCONN:
        value = r.actconn
    elif code == FECONN:
        value = r.feconn
    elif code == BECONN:
        value = r.beconn
    elif code == SRVCONN:
        value = r.srvconn
    elif code == RETRIES:
        return f"+{r.retries}" if r.redispatched else f"{r.retries}"
    elif code == SRV_QUEUE:
        value = r.srv_queue
    elif code == BACKEND_QUEUE:
        value = r.backend_queue
    elif code == REQUEST_COUNTER:
        value = r.request_counter
    elif code == LOG_COUNT:
        value = c.log_count
    else:  # PID
        value = c.pid
    return f"{value}"


def other(step: Step, r: LogRecord, c: Any) -> str | None:
    code = step.code
    if code == ACCEPT_DATE or code == REQUEST_DATE:
        return date_ms(step, r.accept_date if code == ACCEPT_DATE else request_date(r))
    if code == ACCEPT_DATE_S or code == REQUEST_DATE_S:
        return date_s(step, r.accept_date if code == ACCEPT_DATE_S else request_date(r))
    if code == ACCEPT_MILLIS:
        return MILLIS_TEXT[millis_of(r.accept_date)][1:]
    if code == REQ_COOKIE:
        return text(r.captured_request_cookie, step.opts)
    if code == RES_COOKIE:
        return text(r.captured_response_cookie, step.opts)
    if code == UNIQUE_ID:
        return text(r.unique_id, step.opts)
    if code == REQ_CAPTURES:
        values = r.captured_request_headers
        return None if values is None else step.call(values)
    if code == RES_CAPTURES:
        values = r.captured_response_headers
        return None if values is None else step.call(values)
    if code == REQUEST_LINE:
        return url_text(request_line(r) or "<BADREQ>", step.opts)
    assert code == FALLBACK
    return step.call(r, c)


def url_text(line: str, opts: int) -> str:
    """%r: HAProxy's url encoding (lb.logs.encoding), skipped when nothing needs it."""
    if not (line.isascii() and line.isprintable() and '"' not in line and "#" not in line):
        line = encode_url(line)
    return f'"{line}"' if opts & OPT_QUOTE else line


def seconds_of(epoch: float) -> int:
    """The whole second of a date, moved up when its microseconds round to the next one
    (lb.logs.dates.split_time)."""
    second = int(epoch)
    return second + 1 if int((epoch - second) * 1_000_000 + 0.5) >= 1_000_000 else second


def millis_of(epoch: float) -> int:
    second = int(epoch)
    micros = int((epoch - second) * 1_000_000 + 0.5)
    return 0 if micros >= 1_000_000 else micros // 1000


def date_ms(step: Step, epoch: float) -> str:
    """%t %tr: the calendar part, rendered by the alias's formatter once a second, then `.mmm`."""
    second = seconds_of(epoch)
    if second != step.second:
        step.cached = step.call(float(second))[:-4]  # the formatter's `.000` of a whole second
        step.second = second
    return step.cached + MILLIS_TEXT[millis_of(epoch)]


def date_s(step: Step, epoch: float) -> str:
    """%T %Tl %trg %trl: the formatter's text, once a second."""
    second = seconds_of(epoch)
    if second != step.second:
        step.cached = step.call(float(second))
        step.second = second
    return step.cached


def request_date(r: LogRecord) -> float:
    """%tr: the request date, else HAProxy's accept + Th + Ti (lb.logs.aliases.request_date)."""
    if r.request_date:
        return r.request_date
    return r.accept_date + (r.t_handshake + r.t_idle) / 1000 if r.t_idle >= 0 else r.accept_date


def request_line(r: LogRecord) -> str | None:
    """The request line as received, or rebuilt from its parts (lb.logs.aliases.request_line)."""
    line = r.request_line
    if line:
        return line.decode("latin-1") if isinstance(line, bytes) else line
    if r.method:
        return f"{r.method} {r.uri} {r.http_version}"
    return None
