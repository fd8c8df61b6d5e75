"""PROXY protocol v1/v2 headers, byte for byte (worker, checker; reference §8)."""

from __future__ import annotations

import struct

import pytest

from workers.proxy_protocol import V1_MAX, ProxyHeaderError, header_for, header_v1, header_v2, parse_header

SIG = bytes.fromhex("0d0a0d0a000d0a515549540a")

V1 = [
    (("192.168.0.1", 56324), ("192.168.0.11", 443), b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
    (("127.0.0.1", 57362), ("127.0.0.1", 18200), b"PROXY TCP4 127.0.0.1 127.0.0.1 57362 18200\r\n"),
    (("2001:db8::1", 1000), ("::1", 80), b"PROXY TCP6 2001:db8::1 ::1 1000 80\r\n"),
    (("2001:0db8:0000::0001", 1), ("fe80::1%lo", 2), b"PROXY TCP6 2001:db8::1 fe80::1 1 2\r\n"),  # canonical, no scope
    # mixed families: both as IPv6, the IPv4 one ::ffff:-mapped, printed as inet_ntop does
    (("127.0.0.1", 5000), ("::1", 443), b"PROXY TCP6 ::ffff:127.0.0.1 ::1 5000 443\r\n"),
    (("::1", 5000), ("10.0.0.2", 443), b"PROXY TCP6 ::1 ::ffff:10.0.0.2 5000 443\r\n"),
    (None, ("127.0.0.1", 80), b"PROXY UNKNOWN\r\n"),
    (("127.0.0.1", 80), None, b"PROXY UNKNOWN\r\n"),
]


@pytest.mark.parametrize("src, dst, expected", V1)
def test_header_v1(src, dst, expected: bytes) -> None:  # type: ignore[no-untyped-def]
    assert header_v1(src, dst) == expected
    assert header_for(1, src, dst) == expected


V2 = [
    # [lab 2.6] what HAProxy sent for send-proxy-v2
    (("127.0.0.1", 45130), ("127.0.0.1", 18020), "21 11 000c 7f000001 7f000001 b04a 4664"),
    (("10.0.0.1", 1), ("10.0.0.2", 65535), "21 11 000c 0a000001 0a000002 0001 ffff"),
    (("::1", 80), ("2001:db8::2", 443),
     "21 21 0024 00000000000000000000000000000001 20010db8000000000000000000000002 0050 01bb"),
    (("127.0.0.1", 80), ("::1", 443),
     "21 21 0024 00000000000000000000ffff7f000001 00000000000000000000000000000001 0050 01bb"),
    (None, ("127.0.0.1", 80), "20 00 0000"),  # unknown source: LOCAL
]


@pytest.mark.parametrize("src, dst, tail", V2)
def test_header_v2(src, dst, tail: str) -> None:  # type: ignore[no-untyped-def]
    expected = SIG + bytes.fromhex(tail.replace(" ", ""))
    assert header_v2(src, dst) == expected
    assert header_for(2, src, dst) == expected


def test_header_v2_local_as_health_checks_send_it() -> None:
    # [lab 2.6] a check with send-proxy-v2 sent LOCAL, UNSPEC, length 0
    assert header_v2(("127.0.0.1", 1), ("127.0.0.1", 2), local=True) == SIG + b"\x20\x00\x00\x00"


# -- parsing ----------------------------------------------------------------------------

PARSE_V1 = [
    (b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", ("192.168.0.1", 56324), ("192.168.0.11", 443)),
    (b"PROXY TCP6 2001:db8::1 ::1 1000 80\r\n", ("2001:db8::1", 1000), ("::1", 80)),
    (b"PROXY UNKNOWN\r\n", None, None),
    (b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", None, None),  # the rest of an UNKNOWN line is ignored
]


@pytest.mark.parametrize("line, src, dst", PARSE_V1)
def test_parse_v1(line: bytes, src, dst) -> None:  # type: ignore[no-untyped-def]
    assert parse_header(line + b"GET / HTTP/1.1\r\n") == (len(line), src, dst)


@pytest.mark.parametrize("src, dst, _expected", [case for case in V1 if case[0] and case[1]])
def test_v1_round_trip(src, dst, _expected) -> None:  # type: ignore[no-untyped-def]
    header = header_v1(src, dst)
    length, got_src, got_dst = parse_header(header + b"payload")
    assert length == len(header) and got_src[1] == src[1] and got_dst[1] == dst[1]


@pytest.mark.parametrize("src, dst, _tail", [case for case in V2 if case[0]])
def test_v2_round_trip(src, dst, _tail) -> None:  # type: ignore[no-untyped-def]
    header = header_v2(src, dst)
    length, got_src, got_dst = parse_header(header + b"payload")
    assert length == len(header)
    assert (got_src[1], got_dst[1]) == (src[1], dst[1])
    if ":" not in src[0] + dst[0]:
        assert (got_src, got_dst) == (src, dst)


@pytest.mark.parametrize("line", [b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", b"PROXY UNKNOWN\r\n"])
def test_parse_v1_partial_returns_none_until_complete(line: bytes) -> None:
    for cut in range(len(line)):
        assert parse_header(line[:cut]) is None, line[:cut]
    assert parse_header(line)[0] == len(line)


def test_parse_v2_partial_returns_none_until_complete() -> None:
    header = header_v2(("127.0.0.1", 1), ("127.0.0.2", 2))
    for cut in range(len(header)):
        assert parse_header(header[:cut]) is None, cut
    assert parse_header(header) == (28, ("127.0.0.1", 1), ("127.0.0.2", 2))


GARBAGE = [
    b"GET / HTTP/1.1\r\n",
    b"X",
    b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",  # case matters
    b"PROXYTCP4",
    b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
    b"PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 x 2\r\n",
    b"PROXY \r\n",
    b"\r\n\r\n\x00\r\nQUIX\n",  # wrong v2 signature, short
    b"\r\nGET / HTTP/1.1\r\n\r\n",
    SIG + b"\x11\x11\x00\x0c" + bytes(12),  # version 1 in a v2 signature
    SIG + b"\x22\x11\x00\x0c" + bytes(12),  # command 2 does not exist
]


@pytest.mark.parametrize("data", GARBAGE)
def test_parse_garbage_raises(data: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        parse_header(data)


def test_v1_line_limit_is_107_bytes_with_crlf() -> None:
    longest = b"PROXY UNKNOWN " + b"x" * (V1_MAX - 16) + b"\r\n"
    assert len(longest) == 107 == V1_MAX
    assert parse_header(longest) == (107, None, None)
    too_long = b"PROXY UNKNOWN " + b"x" * (V1_MAX - 15) + b"\r\n"
    with pytest.raises(ProxyHeaderError, match="107"):
        parse_header(too_long)
    assert parse_header(longest[:106]) is None  # 106 bytes without CRLF: may still end in time
    with pytest.raises(ProxyHeaderError):
        parse_header(too_long[:107])  # 107 bytes and still no CRLF: can never be valid


def test_v2_tlvs_are_skipped() -> None:
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x03\x00\x00\x00"  # ALPN "h2", NOOP of 3 bytes
    body = bytes.fromhex("7f000001 7f000002 0050 01bb".replace(" ", "")) + tlvs
    header = SIG + b"\x21\x11" + struct.pack("!H", len(body)) + body
    assert parse_header(header + b"GET") == (len(header), ("127.0.0.1", 80), ("127.0.0.2", 443))


@pytest.mark.parametrize("ver_cmd, family, body", [
    (0x20, 0x00, b""),  # LOCAL
    (0x20, 0x11, bytes(12)),  # LOCAL with an address block: skipped
    (0x21, 0x00, b""),  # PROXY but UNSPEC: keep the real endpoints
    (0x21, 0x31, bytes(216)),  # UNIX
    (0x21, 0x12, bytes(12)),  # UDP4
])  # fmt: skip
def test_v2_without_usable_addresses(ver_cmd: int, family: int, body: bytes) -> None:
    header = SIG + bytes((ver_cmd, family)) + struct.pack("!H", len(body)) + body
    assert parse_header(header + b"data") == (len(header), None, None)


def test_v2_mapped_address_reads_as_inet_ntop_prints_it() -> None:
    header = header_v2(("127.0.0.1", 5000), ("::1", 443))
    assert parse_header(header) == (len(header), ("::ffff:127.0.0.1", 5000), ("::1", 443))


def test_v1_mapped_address_reads_as_inet_ntop_prints_it() -> None:
    line = b"PROXY TCP6 ::ffff:127.0.0.1 ::1 5000 443\r\n"
    assert parse_header(line) == (len(line), ("::ffff:127.0.0.1", 5000), ("::1", 443))


@pytest.mark.parametrize("line", [b"PROXY TCP4 ::1 ::1 1 2\r\n", b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"])
def test_v1_family_must_match_the_addresses(line: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        parse_header(line)
