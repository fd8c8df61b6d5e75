"""Reading lines back: syslog headers of every kind, the known formats, and record -> line -> record round trips."""

from __future__ import annotations

import random

import pytest

from lb.logs.logformat import HTTPLOG, HTTPLOG_CLF, TCPLOG, TCPLOG_CLF, RenderContext, compile_format
from lb.logs.reader import parse_line, record_as_dict, split_header
from lb.logs.record import LogRecord
from tests.logs.recorded import CUSTOM_FORMATS, RECORDED, scenario

BODY = '127.0.0.1:5 [26/Nov/2026:17:39:44.525] fe be/s1 0/0/0/1/1 200 160 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"'


@pytest.mark.parametrize(("line", "priority", "hostname", "tag", "pid"), [
    (f"<134>Nov 26 17:39:44 lb[15183]: {BODY}", 134, None, "lb", 15183),
    (f"<142>Nov  6 17:39:44 localhost lb[15183]: {BODY}", 142, "localhost", "lb", 15183),
    (f"<150>1 2026-11-26T17:39:44.527051+00:00 - lb 15183 - - {BODY}", 150, None, "lb", 15183),
    (f"<150>1 2026-11-26T17:39:44.527051+00:00 host lb 15183 - [a@1 b=\"c\"] {BODY}", 150, "host", "lb", 15183),
    (f"<6>{BODY}", 6, None, None, None),
    (f"<6>2026-11-26T17:39:44.527067+00:00 {BODY}", 6, None, None, None),
    (f"2026-11-26T17:39:44.527071+00:00 {BODY}", None, None, None, None),
    (f"Nov 26 17:39:44 web-1 haproxy[99]: {BODY}", None, "web-1", "haproxy", 99),  # rsyslog's file format
    (f"2026-11-26T17:39:44+01:00 web-1 haproxy[99]: {BODY}", None, "web-1", "haproxy", 99),  # RFC3339 files
    (BODY, None, None, None, None),
])
def test_headers(line: str, priority: int | None, hostname: str | None, tag: str | None, pid: int | None) -> None:
    header, body = split_header(line)
    assert body == BODY
    assert (header.priority, header.hostname, header.tag, header.pid) == (priority, hostname, tag, pid)


def test_every_recorded_datagram_is_read() -> None:
    datagrams = [d for item in RECORDED["scenarios"] for d in item["syslog"]] + RECORDED["hostname_syslog"]
    parsed = [parse_line(d, CUSTOM_FORMATS) for d in datagrams]
    unread = [d for d, p in zip(datagrams, parsed) if p is None]
    assert unread == [scenario("http_truncated")["syslog"][0]]  # `len 100` cut it in the middle of a field


@pytest.mark.parametrize(("line", "style", "checks"), [
    (scenario("http_ok_capture")["lines"][0], "httplog",
     dict(captured_request_headers=["www.example.com"], cookie_flags="NI", status=200, method="GET")),
    (scenario("http_redirect")["lines"][0], "httplog", dict(backend="f_pp", server=None, term_state="LR")),
    (scenario("tcp_redispatch")["lines"][0], "tcplog", dict(retries=1, redispatched=True, server="s2")),
    (scenario("http_bad_request")["lines"][0], "httplog", dict(request_line="", status=400, t_request=-1)),
    (scenario("http_clf")["lines"][0], "httplog clf", dict(frontend="ft_clf", captured_request_headers=["www.example.com"])),
    (scenario("http_truncated")["lines"][0], "httplog", dict(status=200)),  # the request line lost its end
    (scenario("connect_from")["lines"][0], "connect", dict(frontend="f_noformat")),
])
def test_known_formats(line: str, style: str, checks: dict) -> None:
    parsed = parse_line(line)
    assert parsed is not None and parsed.style == style
    assert {key: getattr(parsed.record, key) for key in checks} == checks


def test_not_a_log_line() -> None:
    assert parse_line("Server bk/s1 is DOWN, reason: Layer4 connection problem.") is None
    assert parse_line("") is None


def random_record(rng: random.Random, http: bool) -> LogRecord:
    r = LogRecord()
    r.client_ip = rng.choice(["127.0.0.1", "::1", "10.1.2.3"])
    r.client_port = rng.randrange(1, 65536)
    r.frontend, r.frontend_ssl = rng.choice(["fe", "www-in"]), rng.random() < 0.3
    r.backend, r.server = rng.choice([("be", "s1"), ("be", None), ("api", "a2")])
    r.accept_date = r.request_date = 1795715127 + rng.randrange(0, 10**6) / 1000
    r.t_queue, r.t_connect, r.t_total = rng.choice([-1, 0, 3]), rng.choice([-1, 0, 12]), rng.randrange(0, 99999)
    r.bytes_out, r.bytes_in = rng.randrange(0, 10**9), rng.randrange(1, 10**6)
    r.term_state = rng.choice(["--", "SC", "cD", "sH", "LR", "PR"])
    r.actconn, r.feconn, r.beconn, r.srvconn = (rng.randrange(0, 100) for _ in range(4))
    r.retries, r.redispatched = rng.choice([(0, False), (2, False), (1, True)])
    r.srv_queue, r.backend_queue = rng.randrange(0, 9), rng.randrange(0, 9)
    if http:
        r.t_request, r.t_response, r.t_active = rng.choice([-1, 0, 5]), rng.choice([-1, 7]), rng.randrange(0, 9999)
        r.status = rng.choice([200, 302, 404, 503, -1])
        r.cookie_flags = rng.choice(["--", "NI", "VN"])
        r.captured_request_cookie = rng.choice(["-", "SRV=a1"])
        # one capture at most: two lists side by side cannot be told apart (HAProxy's clf has %hrl %hsl)
        r.captured_request_headers = rng.choice([None, ["h.example"], [""], ["a|b{c}\"#"]])
        r.captured_response_headers = rng.choice([None, ["x"]])
        r.request_line = rng.choice(["GET / HTTP/1.1", "POST /a?b=\"c\" HTTP/1.0", ""])
    return r


ROUND_TRIP = [
    (TCPLOG, "tcp"), (TCPLOG_CLF, "tcp"), (HTTPLOG, "http"), (HTTPLOG_CLF, "http"),
    (RECORDED["formats"]["ft_http_all"], "http"), (RECORDED["formats"]["ft_flags"], "http"),
    ("%{+Q}o %ci %b %s %CC %r %{-Q}ST %hr", "http"),
]


@pytest.mark.parametrize(("fmt", "mode"), ROUND_TRIP)
def test_round_trip(fmt: str, mode: str) -> None:
    """Format a record, read the line, format again: the same line (so the same fields)."""
    rng = random.Random(f"{fmt}{mode}")
    compiled = compile_format(fmt, mode)
    for _ in range(200):
        line = compiled.render(random_record(rng, mode == "http"), RenderContext(1, "h"))
        parsed = parse_line(line, (fmt,))
        assert parsed is not None, line
        assert compiled.render(parsed.record, RenderContext(1, "h")) == line


def test_json_fields() -> None:
    parsed = parse_line(f"<134>Nov 26 17:39:44 lb[7]: {BODY}")
    assert parsed is not None
    fields = record_as_dict(parsed)
    assert fields["syslog_facility"] == "local0" and fields["syslog_level"] == "info" and fields["syslog_pid"] == 7
    assert fields["request_date"] == "2026-11-26T17:39:44.525+00:00"
    assert (fields["backend"], fields["server"], fields["status"], fields["t_active"]) == ("be", "s1", 200, 1)
    assert (fields["method"], fields["uri"], fields["http_version"]) == ("GET", "/", "HTTP/1.1")
