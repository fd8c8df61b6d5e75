"""The first bytes of a connection as HAProxy reads them: ClientHello, payload slices, RDP cookie (lb.rules.payload).

ClientHellos are real ones, written by Python's ssl module into a memory
BIO; every prefix of one is tried, as if it arrived split at that byte.
"""

from __future__ import annotations

import ssl

import pytest

from lb.rules import payload as P


def client_hello(sni: str | None = None, alpn: list[str] | None = None) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        conn.do_handshake()
    return outgoing.read()


HELLO = client_hello("Example.COM", ["h2", "http/1.1"])


def test_sni_is_read_as_sent_case_included() -> None:
    assert P.ssl_sni(HELLO) == ("Example.COM", False)


def test_alpn_lists_the_protocols_in_the_clients_order() -> None:
    assert P.ssl_alpn(HELLO) == ["h2", "http/1.1"]


def test_handshake_type_and_version() -> None:
    assert P.ssl_hello_type(HELLO) == (1, False)
    assert P.ssl_version(HELLO) == (0x00030003, False)  # TLS 1.3 hellos say 3.3, as HAProxy reports


def test_a_hello_without_sni_never_has_one() -> None:
    hello = client_hello(None)
    assert P.ssl_sni(hello) == (None, False)
    assert P.ssl_hello_type(hello) == (1, False)


def test_every_split_of_a_hello_waits_for_more_until_haproxy_would_decide() -> None:
    """HAProxy reads the SNI once the handshake message announced by the header
    is there, minus the 4 bytes of its own header (it compares with what follows
    the record header): so do we, never deciding 'no SNI' on a partial hello."""
    hs_len = int.from_bytes(HELLO[6:9], "big")
    for cut in range(len(HELLO)):
        value, more = P.ssl_sni(HELLO[:cut])
        if cut < 5 + hs_len:
            assert (value, more) == (None, True), cut
        else:
            assert value == "Example.COM", cut
        assert P.ssl_hello_type(HELLO[:cut]) == ((None, True) if cut < 9 + hs_len else (1, False))


@pytest.mark.parametrize("data", [b"GET / HTTP/1.1\r\n\r\n", b"\x16\x02\x00", b"SSH-2.0-OpenSSH\r\n",
                                  b"\x17\x03\x03\x00\x10" + b"x" * 16])  # fmt: skip
def test_bytes_that_are_not_a_hello_never_match(data: bytes) -> None:
    assert P.ssl_sni(data) == (None, False)


def test_not_tls_is_told_from_the_first_byte() -> None:
    assert P.ssl_sni(b"G") == (None, False)
    assert P.ssl_hello_type(b"G") == (None, False)
    assert P.ssl_sni(b"") == (None, True)


def test_an_sslv2_hello_has_a_version() -> None:
    challenge = bytes(16)
    body = b"\x01\x03\x01" + (3).to_bytes(2, "big") + (0).to_bytes(2, "big") + (16).to_bytes(2, "big")
    body += b"\x00\x00\x04" + challenge
    record = bytes([0x80 | (len(body) >> 8), len(body) & 0xFF]) + body
    assert P.ssl_version(record) == (0x00030001, False)
    assert P.ssl_version(record[:5]) == (None, True)


def test_payload_slices() -> None:
    data = b"\x00\x03abcdef"
    assert P.payload(data, 2, 3) == ("abc", False)
    assert P.payload(data, 2, 10) == (None, True)
    assert P.payload(data, 2, 0) == ("abcdef", True)  # up to the end: may grow
    assert P.payload(data, 2, 0, final=True) == ("abcdef", False)
    assert P.payload(data, 0, 20000) == (None, False)  # beyond a buffer: never
    assert P.payload_lv(data, 0, 2) == ("abc", False)
    assert P.payload_lv(data, 0, 2, 1, relative=True) == ("bcd", False)
    assert P.payload_lv(data, 0, 2, 5) == ("def", False)
    assert P.payload_lv(data, 0, 2, 6) == (None, True)
    assert P.payload_lv(b"\x00", 0, 2) == (None, True)
    assert P.payload_lv(b"\x00\x00", 0, 2) == (None, False)  # a zero length never matches


RDP = b"\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=bob\r\n\x01\x00\x08\x00"


def test_rdp_cookie() -> None:
    assert P.rdp_cookie(RDP, "mstshash") == ("bob", False)
    assert P.rdp_cookie(RDP, "MSTSHASH") == ("bob", False)  # names compare without case
    assert P.rdp_cookie(RDP) == ("bob", False)
    assert P.rdp_cookie(RDP, "other") == (None, False)
    assert P.rdp_cookie(RDP[:20], "mstshash") == (None, True)
    assert P.rdp_cookie(b"\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00GET / HTTP/1.1") == (None, False)


def test_req_len_may_always_change() -> None:
    assert P.req_len(b"abc") == (3, True)
