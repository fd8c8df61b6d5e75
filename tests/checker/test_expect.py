"""Expect evaluation (pure): matches, waits for more data, failure statuses and info texts."""

import pytest

from lb.checker import status as st
from lb.checker.expect import CONTINUE, FAIL, WAIT, eval_http, eval_tcp, failure_info, success_info
from lb.checker.httpmsg import HttpResponse
from lb.checker.rules import parse_expect


def tcp(*words):
    rule = parse_expect(list(words), http=False)
    rule.index = 1
    return rule


def http(*words):
    return parse_expect(list(words), http=True)


def response(raw: bytes) -> HttpResponse:
    resp = HttpResponse()
    resp.feed(raw)
    return resp


@pytest.mark.parametrize("rule,buf,last,outcome", [
    (tcp("string", "+PONG"), b"+PONG\r\n", False, CONTINUE),
    (tcp("string", "+PONG"), b"+PO", False, WAIT),           # shorter than the pattern: wait
    (tcp("string", "+PONG"), b"-ERR nope\r\n", False, WAIT),  # no match yet, min-recv unset: wait
    (tcp("string", "+PONG"), b"-ERR nope\r\n", True, FAIL),
    (tcp("min-recv", "4", "string", "+PONG"), b"-ERR\r\n", False, FAIL),  # enough data: conclusive
    (tcp("!", "string", "ERR"), b"+OK\r\n", True, CONTINUE),
    (tcp("!", "string", "ERR"), b"-ERR\r\n", False, FAIL),
    (tcp("binary", "2b504f4e47"), b"+PONG", False, CONTINUE),
    (tcp("rstring", "role:(master|slave)"), b"# Replication\r\nrole:master\r\n", False, CONTINUE),
    (tcp("rbinary", "^2B50"), b"+PONG", False, CONTINUE),
    (tcp("string", "x"), b"a" * 16384, False, FAIL),  # full buffer counts as the last read
])
def test_eval_tcp(rule, buf, last, outcome):
    assert eval_tcp(rule, buf, last, 2).outcome == outcome


def test_tcp_failure_info_and_status():
    verdict = eval_tcp(tcp("string", "+PONG"), b"-ERR\r\n", True, 3)
    assert verdict == (FAIL, st.L7RSP, "TCPCHK did not match content '+PONG' at step 3")
    verdict = eval_tcp(tcp("!", "string", "ERR", "comment", "no errors"), b"-ERR", True, 2)
    assert verdict.info == "TCPCHK matched unwanted content 'ERR' at step 2 comment: no errors"
    assert eval_tcp(tcp("binary", "00", "error-status", "L7STS"), b"x", True, 1).status == st.L7STS


@pytest.mark.parametrize("words,info", [
    (("binary", "00"), "TCPCHK did not match content (binary) at step 4"),
    (("rstring", "^x"), "TCPCHK did not match content (regex) at step 4"),
    (("rbinary", "^00"), "TCPCHK did not match content (binary regex) at step 4"),
    (("string", "x", "on-error", "custom text"), "custom text"),
])
def test_tcp_failure_texts(words, info):
    assert failure_info(tcp(*words), False, 4) == info


def test_success_info():
    assert success_info(tcp("string", "x"), tcp_check=True) == "(tcp-check)"
    assert success_info(http("status", "200"), tcp_check=False) == ""
    assert success_info(tcp("string", "x", "on-success", "fine"), tcp_check=True) == "fine"


OK_READY = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nstatus:ready"


@pytest.mark.parametrize("rule,raw,last,expected", [
    (http("status", "200"), OK_READY, False, (CONTINUE, st.UNK, "")),
    (http("status", "200-399"), b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", False, (CONTINUE, st.UNK, "")),
    (http("status", "200"), b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", False,
     (FAIL, st.L7STS, "Service Unavailable")),
    (http("!", "rstatus", "^5"), b"HTTP/1.0 500 Oops\r\n\r\n", True, (FAIL, st.L7STS, "Oops")),
    (http("status", "200"), b"HTTP/1.1 20", False, (WAIT, st.UNK, "")),
    (http("status", "200"), b"HTTP/1.1 20", True, (FAIL, st.L7RSP, "")),
    (http("status", "200"), b"SSH-2.0-OpenSSH\r\n\r\n", False, (FAIL, st.L7RSP, "")),
    (http("string", "status:ready"), OK_READY, False, (CONTINUE, st.UNK, "")),
    (http("string", "status:ready"), b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nstatus:", False,
     (WAIT, st.UNK, "")),
    (http("string", "status:ready"), b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nstatus:broken", False,
     (FAIL, st.L7RSP, "HTTP content check did not match")),
    (http("!", "string", "maintenance"), b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nmaintenance", False,
     (FAIL, st.L7RSP, "HTTP check matched unwanted content")),
    (http("string", "x"), b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", False,
     (FAIL, st.L7RSP, "HTTP content check could not find a response body")),
    (http("rstring", "ready|ok"), OK_READY, False, (CONTINUE, st.UNK, "")),
    (http("hdr", "name", "x-state", "value", "up"), b"HTTP/1.1 200 OK\r\nX-State: down, up\r\n\r\n", True,
     (CONTINUE, st.UNK, "")),
    (http("fhdr", "name", "x-state", "value", "up"), b"HTTP/1.1 200 OK\r\nX-State: down, up\r\n\r\n", True,
     (FAIL, st.L7STS, "OK")),
    (http("hdr", "name", "-m", "beg", "x-"), b"HTTP/1.1 200 OK\r\nX-Any: 1\r\n\r\n", True, (CONTINUE, st.UNK, "")),
])
def test_eval_http(rule, raw, last, expected):
    assert tuple(eval_http(rule, response(raw), last, 1)) == expected
