"""HAProxy's compression decisions as pure functions (tests only; no sockets).

Expectations come from HAProxy 2.6's flt_http_comp.c and were checked
against /usr/sbin/haproxy 2.6 on the same requests (the scenario tests do
it again end to end)."""

from __future__ import annotations

import pytest

from lb.compression.model import ALGORITHM_TOKENS
from lb.compression.rules import (
    Algorithm,
    choose_algorithm,
    compressed_head,
    compressible,
    elements,
    etag_valid,
    framing,
    old_browser,
    parse_qvalue,
    qvalue_of,
    split_elements,
    token_length,
    word_match,
)


def algos(*names: str) -> tuple[Algorithm, ...]:
    """As `compression algo <names>` leaves HAProxy's list: last configured first."""
    return tuple(Algorithm(n, ALGORITHM_TOKENS[n]) for n in reversed(names))


def choose(accept: str, *configured: str) -> tuple[str | None, bool]:
    values = elements([(b"Accept-Encoding", accept.encode())], b"accept-encoding")
    algo, named = choose_algorithm(values, algos(*configured))
    return (algo.name if algo else None), named


@pytest.mark.parametrize("accept, expected", [
    ("gzip", ("gzip", True)),
    ("gzip, deflate", ("gzip", True)),  # equal q: the client's first wins
    ("deflate, gzip", ("deflate", True)),
    ("deflate;q=0.5, gzip", ("gzip", True)),
    ("deflate;q=1.0, gzip;q=0.999", ("deflate", True)),
    ("gzip ; q=0.5 , deflate;q=0.6", ("deflate", True)),
    ("gzip;q=0", (None, False)),  # q=0: not acceptable
    ("gzip;q=0.000", (None, False)),
    ("GZIP", ("gzip", True)),  # tokens in any case
    ("x-gzip", (None, False)),
    ("br", (None, False)),
    ("*", ("deflate", True)),  # the first of HAProxy's list: the last configured
    ("*;q=0.1", ("deflate", True)),
    ("*;q=0", (None, False)),
    ("deflate;Q=0", ("deflate", True)),  # `q=` is looked for case-sensitively: no q-value, 1
    ("gzip;level=1;q=0.2, deflate;q=0.1", ("gzip", True)),  # q after another parameter
    ("", (None, False)),
    (",,gzip", ("gzip", True)),
])  # fmt: skip
def test_the_algorithm_follows_accept_encoding(accept: str, expected: tuple[str | None, bool]) -> None:
    assert choose(accept, "gzip", "deflate") == expected


def test_identity_is_taken_when_nothing_else_is_named() -> None:
    assert choose("br", "gzip", "identity") == ("identity", False)
    assert choose("gzip;q=0", "gzip", "identity") == ("identity", False)
    assert choose("identity", "gzip", "identity") == ("identity", True)
    assert choose("*", "gzip", "identity") == ("identity", True)  # identity is last configured
    assert choose("gzip", "gzip", "identity") == ("gzip", True)


def test_raw_deflate_answers_to_deflate() -> None:
    assert choose("deflate", "raw-deflate") == ("raw-deflate", True)


def test_accept_encoding_spread_over_fields() -> None:
    headers = [(b"accept-encoding", b"br;q=1"), (b"Accept-Encoding", b"gzip;q=0.3, deflate;q=0.2")]
    algo, _ = choose_algorithm(elements(headers, b"accept-encoding"), algos("gzip", "deflate"))
    assert algo is not None and algo.name == "gzip"


@pytest.mark.parametrize("text, q", [
    (b"1", 1000), (b"0", 0), (b"0.5", 500), (b"0.55", 550), (b"0.555", 555), (b"0.5555", 555),
    (b"1.5", 1000), (b"2", 1000), (b".5", 1000), (b"", 1000), (b"x", 1000), (b"0.x", 0), (b"0.5x", 500),
])  # fmt: skip
def test_qvalues_parse_as_haproxy(text: bytes, q: int) -> None:
    assert parse_qvalue(text) == q


def test_qvalue_search_skips_other_parameters() -> None:
    element = b"gzip ; level=3 ; q=0.3"
    assert qvalue_of(element, token_length(element)) == 300
    assert qvalue_of(b"gzip;", 4) == 1000
    assert qvalue_of(b"gzip;q", 4) == 1000  # a cut `q=`: no digits, 1000


def test_word_match_is_haproxys() -> None:
    assert word_match(b"GZip", b"gzip")
    assert word_match(b"no-transform  ", b"no-transform")
    assert not word_match(b"no-transformx", b"no-transform")
    assert not word_match(b"gzi", b"gzip")


def test_elements_keep_quoted_commas() -> None:
    assert split_elements(b'private="a, b", no-transform') == [b'private="a, b"', b"no-transform"]
    assert split_elements(b" gzip ,deflate ") == [b"gzip", b"deflate"]


@pytest.mark.parametrize("agent, excluded", [
    (None, False),
    (b"curl/8.0", False),
    (b"Mozilla/5.0 (X11; Linux x86_64)", False),
    (b"Mozilla/4.0", True),
    (b"Mozilla/4.0 (compatible; MSIE 5.5; Windows NT 5.0)", True),
    (b"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", True),
    (b"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", False),
    (b"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", False),
])  # fmt: skip
def test_old_browsers_get_nothing(agent: bytes | None, excluded: bool) -> None:
    assert old_browser(agent) is excluded


TEXT = [(b"Content-Type", b"text/plain"), (b"Content-Length", b"10")]


def decide(headers: list[tuple[bytes, bytes]], status: int = 200, method: bytes = b"GET", req: str = "1.1",
           resp: str = "1.1", types: tuple[bytes, ...] = ()) -> bool:  # fmt: skip
    return compressible(req, resp, method, status, headers, types)


@pytest.mark.parametrize("status, expected", [(200, True), (201, True), (202, True), (203, True), (204, False),
                                              (206, False), (301, False), (304, False), (404, False), (500, False)])
def test_only_200_to_203_are_compressed(status: int, expected: bool) -> None:
    assert decide(TEXT, status) is expected


def test_http10_on_either_side_head_and_unknown_lengths_are_not() -> None:
    assert not decide(TEXT, req="1.0")
    assert not decide(TEXT, resp="1.0")
    assert decide(TEXT, req="2.0")  # an h2 stream
    assert not decide(TEXT, method=b"HEAD")
    assert not decide([(b"Content-Type", b"text/plain")])  # delimited by the close
    assert not decide([(b"Content-Type", b"text/plain"), (b"Content-Length", b"0")])  # HAProxy: bodyless
    assert decide([(b"Content-Type", b"text/plain"), (b"Transfer-Encoding", b"chunked")])


@pytest.mark.parametrize("extra, expected", [
    ((b"Content-Encoding", b"br"), False),
    ((b"Content-Encoding", b"identity"), False),
    ((b"Cache-Control", b"public, No-Transform"), False),
    ((b"Cache-Control", b"no-transformed"), True),
    ((b"ETag", b'"abc"'), True),
    ((b"ETag", b'W/"abc"'), True),
    ((b"ETag", b"abc"), False),
    ((b"ETag", b'"'), False),
])  # fmt: skip
def test_response_fields_that_prevent_compression(extra: tuple[bytes, bytes], expected: bool) -> None:
    assert decide(TEXT + [extra]) is expected


def test_two_etags_prevent_compression() -> None:
    assert not decide(TEXT + [(b"ETag", b'"a"'), (b"etag", b'"b"')])


@pytest.mark.parametrize("content_type, types, expected", [
    (b"text/html; charset=utf-8", (b"text/html",), True),  # a prefix of the whole value
    (b"TEXT/HTML", (b"text/html",), True),
    (b"text/htmlx", (b"text/html",), True),  # HAProxy compares a prefix, nothing more
    (b"application/json", (b"text/html", b"text/plain"), False),
    (b"multipart/mixed", (), False),
    (b"Multipart/form-data", (b"multipart/",), False),
    (None, (b"text/html",), False),  # a type is required once types are listed
    (None, (), True),
])  # fmt: skip
def test_content_types(content_type: bytes | None, types: tuple[bytes, ...], expected: bool) -> None:
    headers = [(b"Content-Length", b"10")] + ([(b"Content-Type", content_type)] if content_type else [])
    assert decide(headers, types=types) is expected


def test_etag_validity() -> None:
    assert etag_valid(b'""') and etag_valid(b'W/""') and not etag_valid(b"W/") and not etag_valid(b'w/"a"')


def test_framing_reads_the_server_head() -> None:
    assert framing([(b"Content-Length", b"12")]) == (False, 12)
    assert framing([(b"Transfer-Encoding", b"chunked")]) == (True, -1)
    assert framing([]) == (False, -1)


def test_the_compressed_head_is_haproxys() -> None:
    headers = [(b"Content-Type", b"text/plain"), (b"ETag", b'"v1"'), (b"Content-Length", b"10"),
               (b"Vary", b"Cookie"), (b"etag", b'"v2"')]  # fmt: skip
    assert compressed_head(headers, algos("gzip")[0], server_chunked=False) == [
        (b"Content-Type", b"text/plain"), (b"ETag", b'W/"v1"'), (b"Vary", b"Cookie"), (b"etag", b'"v2"'),
        (b"transfer-encoding", b"chunked"), (b"vary", b"Accept-Encoding"), (b"content-encoding", b"gzip"),
    ]  # fmt: skip


def test_identity_and_chunked_responses() -> None:
    headers = [(b"Transfer-Encoding", b"chunked"), (b"ETag", b'W/"a"')]
    assert compressed_head(headers, algos("identity")[0], server_chunked=True) == [
        (b"Transfer-Encoding", b"chunked"), (b"ETag", b'W/"a"'), (b"vary", b"Accept-Encoding")]
    assert compressed_head([], algos("raw-deflate")[0], server_chunked=False)[-1] == (b"content-encoding", b"deflate")
