"""Redirects: exact bytes as HAProxy 2.6 sends them (recorded on the wire), and argument errors."""

from __future__ import annotations

import pytest

from lb.rules.redirect import RedirectError, parse_redirect
from tests.rules.helpers import txn


def reply(words: str, uri: str = "/r1", host: str = "ex.com", use_fmt: bool = True) -> bytes | None:
    rule, rest = parse_redirect(words.split(), use_fmt)
    assert rest == []
    verdict = rule(txn(uri, [("Host", host)] if host else []))
    return None if verdict is None else verdict.reply.render()


@pytest.mark.parametrize("words,uri,expected", [
    ("scheme https", "/r1",
     b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://ex.com/r1\r\ncache-control: no-cache\r\n\r\n"),
    ("prefix /new code 301", "/old/a?b=1",
     b"HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /new/old/a?b=1\r\n\r\n"),
    ("location /loc drop-query", "/dq?x=1",
     b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /loc\r\ncache-control: no-cache\r\n\r\n"),
    ("location /loc set-cookie FOO=bar", "/sc",
     b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /loc\r\ncache-control: no-cache\r\n"
     b"set-cookie: FOO=bar; path=/;\r\n\r\n"),
    ("location /loc clear-cookie FOO", "/cc",
     b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /loc\r\ncache-control: no-cache\r\n"
     b"set-cookie: FOO; path=/; Max-Age=0;\r\n\r\n"),
    ("prefix / append-slash", "/as/b",
     b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /as/b/\r\ncache-control: no-cache\r\n\r\n"),
    ("location /x code 307", "/",
     b"HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: /x\r\ncache-control: no-cache\r\n\r\n"),
    ("location /x code 303", "/",
     b"HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: /x\r\ncache-control: no-cache\r\n\r\n"),
    ("location /x code 308", "/", b"HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: /x\r\n\r\n"),
])  # fmt: skip
def test_recorded_bytes(words: str, uri: str, expected: bytes) -> None:
    assert reply(words, uri) == expected


@pytest.mark.parametrize("words,uri,host,location", [
    ("scheme https", "/a?b", "ex.com, other", "https://ex.com/a?b"),  # first Host value
    ("scheme https drop-query", "/a?b", "ex.com", "https://ex.com/a"),
    ("scheme https", "http://old/a?b", "ex.com", "https://ex.com/a?b"),  # path of an absolute URI
    ("scheme https", "*", "ex.com", "https://ex.com/"),
    ("scheme https", "/a", "", "https:///a"),  # no Host: empty authority, as HAProxy
    ("scheme https append-slash", "/a?b", "ex.com", "https://ex.com/a?b/"),  # the slash goes at the very end
    ("prefix http://new.example", "/p?q", "h", "http://new.example/p?q"),
    ("prefix http://new.example drop-query append-slash", "/p?q", "h", "http://new.example/p/"),
    ("location http://www.%[hdr(host)]%[path]", "/x?y", "ex.com", "http://www.ex.com/x"),
])  # fmt: skip
def test_locations(words: str, uri: str, host: str, location: str) -> None:
    assert f"location: {location}\r\n".encode() in reply(words, uri, host)


def test_standalone_keyword_value_is_literal() -> None:
    assert b"location: /%[path]\r\n" in reply("location /%[path]", use_fmt=False)


def test_ignore_empty_skips_the_rule() -> None:
    assert reply("location %[req.hdr(x-none)] ignore-empty") is None
    assert b"location: \r\n" in reply("location %[req.hdr(x-none)]")


def test_stops_at_the_condition() -> None:
    rule, rest = parse_redirect(["scheme", "https", "code", "301", "if", "a", "b"], True)
    assert rest == ["if", "a", "b"] and rule.code == 301


@pytest.mark.parametrize("words,error", [
    ("", "redirection type expected ('prefix', 'location', or 'scheme')"),
    ("location", "missing argument for 'location'"),
    ("location /x code 304", "'code': unsupported HTTP code '304' (must be one of 301, 302, 303, 307 or 308)"),
    ("location /x foo", "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', "
     "'drop-query', 'ignore-empty' or 'append-slash' (was 'foo')"),
])  # fmt: skip
def test_errors(words: str, error: str) -> None:
    with pytest.raises(RedirectError) as exc:
        parse_redirect(words.split(), True)
    assert str(exc.value) == error
