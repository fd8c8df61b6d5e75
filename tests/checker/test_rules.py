"""Parsers of tcp-check / http-check words: table-driven values and HAProxy's error wording."""

import pytest

from lb.checker import rules as r

CONNECT_OK = [
    ([], dict(port=None, addr=None, send_proxy=False, default=False)),
    (["port", "6379"], dict(port=6379)),
    (["addr", "127.0.0.2"], dict(addr="127.0.0.2", addr_port=None)),
    (["addr", "127.0.0.2:81"], dict(addr="127.0.0.2", addr_port=81)),
    (["addr", "[::1]:81"], dict(addr="::1", addr_port=81)),
    (["send-proxy", "default", "linger"], dict(send_proxy=True, default=True, linger=True)),
    (["comment", "hello"], dict(comment="hello")),
]


@pytest.mark.parametrize("words,fields", CONNECT_OK)
def test_connect(words, fields):
    rule = r.parse_connect(words)
    for name, value in fields.items():
        assert getattr(rule, name) == value


@pytest.mark.parametrize("words,message", [
    (["port"], "'port' expects a port number or a sample expression as argument."),
    (["port", "0"], "expects a valid TCP port (from range 1 to 65535), got 0"),
    (["port", "src_port"], "expects a valid TCP port (from range 1 to 65535), got src_port"),
    (["addr"], "'addr' expects <ipv4|ipv6> as argument."),
    (["comment"], "'comment' expects a string as argument."),
    (["ssl"], "'ssl' is not supported by lb"),
    (["bogus"], "expects 'comment', 'port', 'addr', 'send-proxy' or 'via-socks4', 'linger', 'default' "
                "but got 'bogus' as argument."),
])
def test_connect_errors(words, message):
    with pytest.raises(ValueError) as exc:
        r.parse_connect(words)
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize("action,words,data", [
    ("send", ["PING\r\n"], b"PING\r\n"),
    ("send-binary", ["50494e470d0a"], b"PING\r\n"),
    ("send-binary", ["0A0b"], b"\n\x0b"),
    ("send", ["info\x20replication\r\n", "comment", "c"], b"info replication\r\n"),
])
def test_send(action, words, data):
    assert r.parse_send(action, words).data == data


@pytest.mark.parametrize("action,words,message", [
    ("send", [], "'send' expects a string as argument"),
    ("send-binary", ["zz"], "'zz' invalid binary string (an hex digit is expected (found 'z'))."),
    ("send-binary", ["abc"], "'abc' invalid binary string (an even number of hex digit is expected)."),
    ("send", ["x", "oops"], "expects 'comment' but got 'oops' as argument."),
    ("send-lf", ["%[src]"], "'send-lf' is not supported by lb"),
])
def test_send_errors(action, words, message):
    with pytest.raises(ValueError) as exc:
        r.parse_send(action, words)
    assert str(exc.value).startswith(message)


EXPECT_OK = [
    (["string", "+PONG"], False, dict(kind="string", data=b"+PONG", inverse=False, min_recv=-1)),
    (["!", "string", "err"], False, dict(kind="string", inverse=True)),
    (["!string", "err"], False, dict(kind="string", inverse=True)),
    (["min-recv", "5", "binary", "0d0a"], False, dict(kind="binary", data=b"\r\n", min_recv=5)),
    (["rstring", "^role:master"], False, dict(kind="rstring", pattern="^role:master")),
    (["rbinary", "^2B"], False, dict(kind="rbinary")),
    (["status", "200,201,300-310"], True, dict(kind="status", codes=[(200, 200), (201, 201), (300, 310)])),
    (["!", "rstatus", "^5"], True, dict(kind="rstatus", inverse=True)),
    (["string", "status:ready"], True, dict(kind="string", data=b"status:ready", http=True)),
    (["status", "200", "comment", "c", "error-status", "l7rsp"], True, dict(comment="c", error_status="L7RSP")),
    (["string", "x", "ok-status", "L7OKC", "tout-status", "L4TOUT"], False,
     dict(ok_status="L7OKC", tout_status="L4TOUT")),
]


@pytest.mark.parametrize("words,http,fields", EXPECT_OK)
def test_expect(words, http, fields):
    rule = r.parse_expect(words, http)
    for name, value in fields.items():
        assert getattr(rule, name) == value


def test_expect_regexes_are_compiled_at_load():
    assert r.parse_expect(["rstring", "^role:(master|slave)"], False).regex.search(b"role:master")


def test_expect_hdr():
    rule = r.parse_expect(["hdr", "name", "x-state", "value", "-m", "beg", "rea"], True)
    assert (rule.kind, rule.hdr.name, rule.hdr.value, rule.hdr.value_match) == ("hdr", "x-state", "rea", "beg")


TCP_HELP = ("'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', "
            "'[!]binary-lf' or comment but got 'status' as argument.")


@pytest.mark.parametrize("words,http,message", [
    ([], False, "expects at least a matching pattern as arguments"),
    (["status", "200"], False, TCP_HELP),
    (["binary", "0d"], True, "'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', '[!]status', "
                             "'[!]rstatus', [!]hdr, [!]fhdr or comment but got 'binary' as argument."),
    (["string", "a", "string", "b"], False, "only on pattern expected"),
    (["string"], False, "'string' expects a <pattern> as argument"),
    (["min-recv", "x", "string", "a"], False, "'min-recv' expects -1 or an integer from 0 to INT_MAX"),
    (["comment", "c"], False, "pattern not found"),
    (["binary", "0"], False, "invalid binary string (an even number of hex digit is expected)"),
    (["status", "300-200"], True, "invalid range of status codes '300-200'"),
    (["status", "2xx"], True, "invalid character 'x' in the list of status codes"),
    (["rstring", "("], False, "regex '(' is invalid"),
    (["string", "a", "ok-status", "L7STS"], False,
     "'ok-status' only supports 'L4OK', 'L6OK', 'L7OK', 'L7OKC' status (got 'L7STS')."),
    (["string-lf", "%[var(x)]"], False, "'string-lf' is not supported by lb"),
])
def test_expect_errors(words, http, message):
    with pytest.raises(ValueError) as exc:
        r.parse_expect(words, http)
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize("words,fields", [
    ([], dict(method=None, uri=None, version=None, headers=[])),
    (["/health"], dict(method=None, uri="/health")),
    (["GET", "/health"], dict(method="GET", uri="/health", version=None)),
    (["HEAD", "/", "HTTP/1.1"], dict(method="HEAD", version="HTTP/1.1")),
    (["GET", "/", "HTTP/1.1", "www.example.com"], dict(headers=[("Host", "www.example.com")])),
    (["GET", "/", "HTTP/1.1\r\nHost: www\r\nX-A: b"], dict(version="HTTP/1.1", headers=[("Host", "www"), ("X-A", "b")])),
    (["POST", "/", "HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"], dict(headers=[], body="abc")),
])
def test_httpchk_option(words, fields):
    rule = r.parse_httpchk_option(words)
    assert rule.from_option
    for name, value in fields.items():
        assert getattr(rule, name) == value


def test_httpchk_option_too_many_arguments():
    with pytest.raises(ValueError, match="cannot handle unexpected argument 'e'"):
        r.parse_httpchk_option(["a", "b", "c", "d", "e"])


@pytest.mark.parametrize("words,fields", [
    (["meth", "GET", "uri", "/ready", "ver", "HTTP/1.1", "hdr", "Host", "x", "body", "hi"],
     dict(method="GET", uri="/ready", version="HTTP/1.1", headers=[("Host", "x")], body="hi")),
    (["hdr", "Content-Length", "9", "hdr", "X-A", "1"], dict(headers=[("X-A", "1")])),
])
def test_http_send(words, fields):
    rule = r.parse_http_send(words)
    for name, value in fields.items():
        assert getattr(rule, name) == value


@pytest.mark.parametrize("words,message", [
    (["hdr", "Host"], "'hdr' expects <name> and <value> as arguments"),
    (["hdr", "Host", "a", "hdr", "host", "b"], "'host' header already defined (previous value is 'a')"),
    (["meth"], "'meth' expects a string as argument."),
    (["nope"], "expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got 'nope'"),
])
def test_http_send_errors(words, message):
    with pytest.raises(ValueError) as exc:
        r.parse_http_send(words)
    assert str(exc.value).startswith(message)
