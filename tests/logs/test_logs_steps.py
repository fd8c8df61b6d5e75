"""The compiled step renderer (lb.logs.render) writes what the generated f-string writes.

Both forms of every compiled format must agree byte for byte: on every
traffic line recorded from haproxy 2.6 (read back into a record), and on
every alias with each flag combination, over a full record and an empty one.
"""

from __future__ import annotations

import pytest

from lb.logs.aliases import ALIASES
from lb.logs.logformat import STYLES, RenderContext, compile_format
from lb.logs.reader import parse_line
from lb.logs.record import LogRecord
from lb.logs.render import render
from lb.logs.steps import FALLBACK
from tests.logs.recorded import CUSTOM_FORMATS, HTTP_FRONTENDS, traffic_lines

CONTEXT = RenderContext(4242, "lbhost")


def both(fmt: str, mode: str, record: LogRecord) -> tuple[str, str]:
    compiled = compile_format(fmt, mode)
    return compiled.render(record, CONTEXT), render(compiled.steps, record, CONTEXT)


@pytest.mark.parametrize(("scenario", "frontend", "line"), traffic_lines(),
                         ids=[f"{s}-{i}" for i, (s, _f, _l) in enumerate(traffic_lines())])  # fmt: skip
def test_recorded_lines_render_the_same_both_ways(scenario: str, frontend: str, line: str) -> None:
    parsed = parse_line(line, CUSTOM_FORMATS)
    assert parsed is not None
    fmt = STYLES.get(parsed.style, parsed.style)
    generated, stepped = both(fmt, "http" if frontend in HTTP_FRONTENDS else "tcp", parsed.record)
    assert stepped == generated


def full_record() -> LogRecord:
    r = LogRecord()
    r.client_ip, r.client_port, r.frontend_ip, r.frontend_port = "127.0.0.1", 40000, "127.0.0.2", 80
    r.backend_src_ip, r.backend_src_port, r.server_ip, r.server_port = "127.0.0.3", 50000, "10.0.0.1", 8080
    r.frontend, r.backend, r.server, r.frontend_ssl = "fe", "be", "s1", True
    r.accept_date, r.request_date = 1795676934.768, 1795676934.770
    r.t_handshake, r.t_idle, r.t_request, r.t_queue, r.t_connect = 1, 2, 3, 4, 5
    r.t_response, r.t_active, r.t_total = 6, 20, 22
    r.bytes_out, r.bytes_in, r.received, r.status = 1234, 56, 78, 503
    r.term_state, r.cookie_flags, r.retries, r.redispatched = "sC", "NI", 2, True
    r.actconn, r.feconn, r.beconn, r.srvconn, r.srv_queue, r.backend_queue = 9, 8, 7, 6, 5, 4
    r.method, r.uri, r.http_version = "GET", "/a?b=c#\"d", "HTTP/1.1"
    r.captured_request_headers, r.captured_response_headers = ["host|x", ""], ['t{y}"']
    r.captured_request_cookie, r.captured_response_cookie, r.unique_id = "c=1", "-", "ID-1"
    r.request_counter = 77
    return r


FLAGS = ["", "%{+Q}", "%{-M}", "%{+X}", "%{+E}", "%{+Q,-M}", "%{+Q,+E}"]
ALIAS_NAMES = [name for name in ALIASES if name != "o"]


@pytest.mark.parametrize("mode", ["http", "tcp"])
@pytest.mark.parametrize("flags", FLAGS)
def test_every_alias_renders_the_same_both_ways(flags: str, mode: str) -> None:
    fmt = " ".join(f"{flags}{name}" for name in ALIAS_NAMES) + " end"
    for record in (full_record(), LogRecord()):
        generated, stepped = both(fmt, mode, record)
        assert stepped == generated


def test_separators_around_empty_and_unconfigured_fields() -> None:
    fmt = " %{-M}ID  %hr %hs %{-M}CC %ST x%{+Q}CS %[src] "
    for record in (full_record(), LogRecord()):
        generated, stepped = both(fmt, "http", record)
        assert stepped == generated


def test_the_standard_formats_need_no_python_call() -> None:
    """httplog, tcplog and clf render with step codes only: no fallback to a generated function."""
    for style, fmt in STYLES.items():
        steps = compile_format(fmt, "tcp" if style.startswith("tcp") else "http").steps
        assert [s for s in steps if s.code == FALLBACK] == [], style
