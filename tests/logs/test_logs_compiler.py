"""The format compiler writes HAProxy 2.6's lines byte for byte.

Every traffic line recorded from a real haproxy 2.6 (tests/logs/data) is read
back into a LogRecord and rendered again with the same format: the result
must be the recorded line.  The reader only stores primary values, so every
derived field (Tq, Td, Tu, %T, %Tl, %trg, %HU/%HP/%HPO/%HQ/%HV, %tsc in tcp,
%ST in tcp, hex and quoted forms, merged separators) is recomputed by the
compiler and compared with what HAProxy printed.
"""

from __future__ import annotations

import pytest

from lb.logs.logformat import HTTPLOG, STYLES, TCPLOG, RenderContext, compile_format
from lb.logs.reader import parse_line
from lb.logs.record import LogRecord
from tests.logs.recorded import CUSTOM_FORMATS, HTTP_FRONTENDS, traffic_lines

HAPROXY_BODY_LIMIT = 1023  # global.max_syslog_len - 1 with the default `len 1024`


def render_again(line: str, frontend: str) -> str:
    parsed = parse_line(line, CUSTOM_FORMATS)
    assert parsed is not None, f"unreadable recorded line {line!r}"
    mode = "http" if frontend in HTTP_FRONTENDS else "tcp"
    compiled = compile_format(STYLES.get(parsed.style, parsed.style), mode)
    return compiled.render(parsed.record, RenderContext(0, ""))[:HAPROXY_BODY_LIMIT]


@pytest.mark.parametrize(("scenario", "frontend", "line"), traffic_lines(),
                         ids=[f"{s}-{i}" for i, (s, _f, _l) in enumerate(traffic_lines())])
def test_recorded_line_renders_identically(scenario: str, frontend: str, line: str) -> None:
    assert render_again(line, frontend) == line


def lab_record(**fields: object) -> LogRecord:
    record = LogRecord()
    record.client_ip, record.client_port = "127.0.0.1", 37536
    record.accept_date = record.request_date = 1795676934.768  # 26/Nov/2026:07:08:54.768 UTC
    for name, value in fields.items():
        setattr(record, name, value)
    return record


# The [lab 2.6] lines of shared/reference/haproxy-semantics.md §1, built from the facts a session knows.
LAB_CASES = [
    (TCPLOG, "tcp", dict(frontend="ft_tcp", backend="bk_tcp", server="s1", t_queue=1, t_connect=0, t_total=1,
                         bytes_out=190, actconn=1, feconn=1),
     "127.0.0.1:37536 [26/Nov/2026:07:08:54.768] ft_tcp bk_tcp/s1 1/0/1 190 -- 1/1/0/0/0 0/0"),
    (TCPLOG, "tcp", dict(frontend="ft", backend="bk", term_state="SC", t_total=0, actconn=1, feconn=1),
     "127.0.0.1:37536 [26/Nov/2026:07:08:54.768] ft bk/<NOSRV> -1/-1/0 0 SC 1/1/0/0/0 0/0"),
    (TCPLOG, "tcp", dict(frontend="ft2", backend="bk2", server="nocheck", term_state="SC", t_queue=1,
                         t_total=3003, retries=3, actconn=1, feconn=1),
     "127.0.0.1:37536 [26/Nov/2026:07:08:54.768] ft2 bk2/nocheck 1/-1/3003 0 SC 1/1/0/0/3 0/0"),
    (HTTPLOG, "http", dict(frontend="ft_http", backend="bk_http", server="web1", t_request=0, t_queue=0,
                           t_connect=0, t_response=1, t_active=1, status=200, bytes_out=185, cookie_flags="NI",
                           actconn=1, feconn=1, captured_request_headers=["www.example.com"],
                           request_line="GET /index.html HTTP/1.1"),
     '127.0.0.1:37536 [26/Nov/2026:07:08:54.768] ft_http bk_http/web1 0/0/0/1/1 200 185 - - --NI 1/1/0/0/0 0/0 '
     '{www.example.com} "GET /index.html HTTP/1.1"'),
    (HTTPLOG, "http", dict(frontend="f_pp", t_request=0, t_active=0, status=302, bytes_out=98, term_state="LR",
                           actconn=1, feconn=1, request_line="GET /r1 HTTP/1.1"),
     '127.0.0.1:37536 [26/Nov/2026:07:08:54.768] f_pp f_pp/<NOSRV> 0/-1/-1/-1/0 302 98 - - LR-- 1/1/0/0/0 0/0 '
     '"GET /r1 HTTP/1.1"'),
    (HTTPLOG, "http", dict(frontend="fh", backend="bh", server="slow", t_request=0, t_queue=0, t_connect=0,
                           t_active=1001, status=504, bytes_out=198, term_state="sH", actconn=1, feconn=1,
                           method="GET", uri="/slow", http_version="HTTP/1.1"),
     '127.0.0.1:37536 [26/Nov/2026:07:08:54.768] fh bh/slow 0/0/0/-1/1001 504 198 - - sH-- 1/1/0/0/0 0/0 '
     '"GET /slow HTTP/1.1"'),
    (HTTPLOG, "http", dict(frontend="f", backend="b", server="s", t_request=1, t_queue=0, t_connect=0,
                           t_response=0, t_active=5, status=200, bytes_out=9, retries=1, redispatched=True,
                           request_line="GET / HTTP/1.1", frontend_ssl=True),
     '127.0.0.1:37536 [26/Nov/2026:07:08:54.768] f~ b/s 1/0/0/0/5 200 9 - - ---- 0/0/0/0/+1 0/0 "GET / HTTP/1.1"'),
]


@pytest.mark.parametrize(("fmt", "mode", "fields", "expected"), LAB_CASES)
def test_lab_lines_from_session_facts(fmt: str, mode: str, fields: dict, expected: str) -> None:
    assert compile_format(fmt, mode).render(lab_record(**fields), RenderContext()) == expected


@pytest.mark.parametrize(("fmt", "expected"), [
    ("%pid %H %lc %{+X}pid %{+X}lc", "4242 box 7 1092 0007"),
    ("%{+X}rt %rt", "002A 42"),
    ("a%%b %-c", "a%b -c"),  # '%%' is a '%'; '%' before another char is dropped, as HAProxy
    ("  lead  trail  ", "lead trail "),
    ("%sslv %{+Q}sslc %{-M}sslc|", '- "" |'),
    ("%[src]:%[src_port] %[fe_name] %{+Q}[be_name] %[srv_name]", '127.0.0.1:37536 fe "fe" -'),
    ("%[req.hdr(host)] %[capture.req.hdr(1)] %[method] %[path] %[query]", "b.example /x GET /p ?q"),
])
def test_context_samples_and_literals(fmt: str, expected: str) -> None:
    context = RenderContext(4242, "box")
    context.log_count = 7
    record = lab_record(frontend="fe", request_counter=42, request_line="GET /p?q HTTP/1.1",
                        request_headers=[("Host", "a.example"), ("HOST", "b.example")],
                        captured_request_headers=["x", "/x"])
    assert compile_format(fmt, "http").render(record, context) == expected


def test_strings_from_the_wire_are_encoded_whatever_their_type() -> None:
    record = lab_record(frontend="fe", request_line=b"GET /\xe9\"# HTTP/1.1",
                        captured_request_headers=[b"a{b}|c", None, "\u20ac"])
    line = compile_format("%r %hr %hrl", "http").render(record, RenderContext())
    assert line == 'GET /#E9#22#23 HTTP/1.1 {a#7Bb#7D#7Cc||#E2#82#AC} a#7Bb#7D#7Cc - #E2#82#AC'


def test_generated_source_has_no_test_for_formats_without_optional_fields() -> None:
    """tcplog renders from one f-string: no separator needs a runtime decision."""
    source = compile_format(TCPLOG, "tcp").source
    assert "_SP if" not in source and source.count("\n") == 2
    assert "_SP if (v" in compile_format(HTTPLOG, "http").source  # the captures' separators


@pytest.mark.parametrize(("parts", "headers", "payload", "logged"), [
    # the built-in 503, 403 and 504 and a redirect, as HAProxy 2.6 logged them (recorded)
    (("HTTP/1.1", "503", "Service Unavailable"),
     [("content-length", "107"), ("cache-control", "no-cache"), ("content-type", "text/html")], 107, 217),
    (("HTTP/1.1", "403", "Forbidden"),
     [("content-length", "93"), ("cache-control", "no-cache"), ("content-type", "text/html")], 93, 192),
    (("HTTP/1.1", "504", "Gateway Time-out"),
     [("content-length", "92"), ("cache-control", "no-cache"), ("content-type", "text/html")], 92, 198),
    (("HTTP/1.1", "302", "Found"), [("content-length", "0"), ("location", "/elsewhere"), ("cache-control", "no-cache")],
     0, 91),
    # a request: %U of the recorded http_all_escapes line (latin-1 header bytes count one each)
    (("GET", '/a"b?q=1', "HTTP/1.0"), [("host", 'w{1|2}"#\xe9\x01 x'), ("user-agent", "\xe9t\xe9")], 0, 69),
])
def test_htx_message_size_matches_haproxy_byte_counts(parts: tuple, headers: list, payload: int, logged: int) -> None:
    from lb.logs.record import htx_message_size

    assert htx_message_size(*parts, headers, payload) == logged


def test_an_empty_optional_field_keeps_its_separators() -> None:
    """Recorded from haproxy 2.6.12 (`http-request return status 200`): an empty
    `%{-M}` field prints nothing, but counts as written (its separators stay);
    only unconfigured captures take their separator along."""
    fmt = "%{-M}ID %ST %{-M}CC %{-M}bi %B %hr %{-M}HQ %U"
    record = LogRecord()
    record.status, record.bytes_out, record.bytes_in = 200, 49, 0
    record.unique_id = record.captured_request_cookie = ""
    record.request_line = "GET / HTTP/1.1"
    assert compile_format(fmt, "http").render(record, RenderContext(0, "")) == " 200   49  0"
    parsed = parse_line(" 200   49  0", (fmt,))
    assert parsed is not None and (parsed.record.status, parsed.record.bytes_out) == (200, 49)
