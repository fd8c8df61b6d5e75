"""HTTP check requests as sent, and the response parser."""

import pytest

from lb.checker.httpmsg import HttpResponse, build_request
from lb.checker.model import BUFSIZE, HttpSendRule


@pytest.mark.parametrize("rule,raw", [
    (HttpSendRule(), b"OPTIONS / HTTP/1.0\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"),
    (HttpSendRule(method="GET", uri="/ready", version="HTTP/1.1", headers=[("Host", "example.org")]),
     b"GET /ready HTTP/1.1\r\nhost: example.org\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"),
    (HttpSendRule(method="POST", uri="/c", body="ping"),
     b"POST /c HTTP/1.0\r\nconnection: close\r\ncontent-length: 4\r\n\r\nping"),
    (HttpSendRule(headers=[("Connection", "keep-alive")]),
     b"OPTIONS / HTTP/1.0\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n"),
])
def test_build_request(rule, raw):
    assert build_request(rule) == raw


def test_response_in_pieces():
    resp = HttpResponse()
    for piece in (b"HTTP/1.1 2", b"00 OK\r\nX-A: 1\r\nContent-Le", b"ngth: 4\r\n\r\nab", b"cd"):
        resp.feed(piece)
    assert (resp.status, resp.reason, resp.headers, bytes(resp.body), resp.complete) == \
        (200, b"OK", [(b"X-A", b"1"), (b"Content-Length", b"4")], b"abcd", True)


def test_body_is_capped_at_bufsize():
    resp = HttpResponse()
    resp.feed(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * (BUFSIZE + 100))
    assert len(resp.body) == BUFSIZE and resp.full


def test_garbage_is_an_error():
    resp = HttpResponse()
    resp.feed(b"+PONG\r\n")
    assert resp.error and not resp.headers_done
