"""unique-id, capture.*, the PROXY v2 TLV fetches and their TLV parser, srv_name (unit)."""

from __future__ import annotations

import struct

import pytest

from lb.rules.message import Response
from lb.rules.pptlv import (
    PP2_TYPE_ALPN,
    PP2_TYPE_AUTHORITY,
    PP2_TYPE_CRC32C,
    PP2_TYPE_UNIQUE_ID,
    TlvError,
    build_tlv,
    crc32c,
    extract_tlvs,
)
from lb.rules.sample import compile_sample
from lb.rules.uniqueid import UniqueId
from tests.rules.helpers import load, txn, through
from workers.proxy_protocol import V2_SIGNATURE, parse_header


def one(expr: str, t):
    return compile_sample(expr).one(t)


def v2_header(tlvs: bytes, family: int = 0x11, crc: bool = False) -> bytes:
    """A PROXY v2 header from 127.0.0.1:1234 to 127.0.0.2:80 with `tlvs` after the addresses."""
    addresses = bytes([127, 0, 0, 1, 127, 0, 0, 2]) + struct.pack("!HH", 1234, 80) if family == 0x11 else b""
    if crc:
        tlvs += build_tlv(PP2_TYPE_CRC32C, b"\0\0\0\0")
    body = addresses + tlvs
    header = V2_SIGNATURE + bytes((0x21, family)) + struct.pack("!H", len(body)) + body
    if crc:
        header = header[:-4] + struct.pack("!I", crc32c(header))
    return header


def test_tlvs_are_extracted_and_the_address_part_still_parses() -> None:
    header = v2_header(build_tlv(PP2_TYPE_AUTHORITY, b"example.com") + build_tlv(PP2_TYPE_UNIQUE_ID, b"id-42")
                       + build_tlv(PP2_TYPE_ALPN, b"h2"), crc=True)  # fmt: skip
    assert parse_header(header + b"GET /")[0] == len(header)
    assert extract_tlvs(header) == {PP2_TYPE_AUTHORITY: b"example.com", PP2_TYPE_UNIQUE_ID: b"id-42",
                                    PP2_TYPE_ALPN: b"h2", PP2_TYPE_CRC32C: header[-4:]}  # fmt: skip


@pytest.mark.parametrize("tlvs, problem", [
    (build_tlv(PP2_TYPE_AUTHORITY, b"a" * 256), "AUTHORITY TLV longer than 255 bytes"),
    (build_tlv(PP2_TYPE_UNIQUE_ID, b"u" * 129), "UNIQUE_ID TLV longer than 128 bytes"),
    (build_tlv(PP2_TYPE_AUTHORITY, b"abc")[:-1], "TLV value overruns the PROXY header"),
    (b"\x02\x00", "TLV header overruns the PROXY header"),
    (build_tlv(PP2_TYPE_CRC32C, b"\0\0\0\1"), "PROXY header CRC32C mismatch"),
    (build_tlv(PP2_TYPE_CRC32C, b"\0\0\1"), "CRC32C TLV must be 4 bytes long"),
])  # fmt: skip
def test_invalid_tlvs_make_the_header_invalid(tlvs: bytes, problem: str) -> None:
    with pytest.raises(TlvError, match=problem):
        extract_tlvs(v2_header(tlvs))


def test_limits_are_inclusive_and_other_families_carry_none() -> None:
    ok = build_tlv(PP2_TYPE_AUTHORITY, b"a" * 255) + build_tlv(PP2_TYPE_UNIQUE_ID, b"u" * 128)
    assert len(extract_tlvs(v2_header(ok))) == 2
    assert extract_tlvs(v2_header(b"", family=0x00)) == {}  # UNSPEC: no address, no TLV parsing
    assert extract_tlvs(b"PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n") == {}


def test_pp_fetches_read_the_stored_tlvs() -> None:
    t = txn()
    assert one("fc_pp_authority", t) is None
    t.facts.pp_tlvs = extract_tlvs(v2_header(build_tlv(PP2_TYPE_AUTHORITY, b"example.com")
                                             + build_tlv(PP2_TYPE_UNIQUE_ID, b"abc")))  # fmt: skip
    assert (one("fc_pp_authority", t), one("fc_pp_unique_id", t)) == ("example.com", "abc")
    assert one("fc_pp_unique_id,length", t) == 3


def test_captures_and_the_request_line_as_received(tmp_path) -> None:
    config = load(tmp_path, "frontend fe\n    bind :8080\n    capture request header Host len 5\n"
                            "    capture response header Server len 20\n"
                            "    http-request set-uri /changed\n    default_backend be\n"
                            "backend be\n    server s1 127.0.0.1:9000\n")  # fmt: skip
    t = txn("http://www.example.com/orig?x=1", [("Host", "www.example.com")])
    t.req_captures, t.res_captures = [None], [None]
    _verdict, t = through(config, t, Response(200, "OK", "1.1", [("Server", "nginx/1.2")]))
    assert one("capture.req.hdr(0)", t) == "www.e"
    assert one("capture.res.hdr(0)", t) == "nginx/1.2"
    assert one("capture.req.hdr(1)", t) is None
    assert (one("capture.req.method", t), one("capture.req.uri", t), one("capture.req.ver", t)) == (
        "GET", "/orig?x=1", "HTTP/1.1")  # fmt: skip
    assert one("url", t) == "/changed"
    assert one("capture.res.ver", t) == "HTTP/1.1"
    assert one("srv_name", t) == "s1"


def test_unique_id_needs_a_format(tmp_path) -> None:
    config = load(tmp_path, "frontend fe\n    bind :8080\n    default_backend be\nbackend be\n"
                            "    server s1 127.0.0.1:9000\n")  # fmt: skip
    frontend = config.frontends["fe"]
    t = txn(frontend=frontend)
    t.unique_id = "stale"
    assert one("unique-id", t) is None  # HAProxy: no sample without unique-id-format
    frontend.areas["unique-id"] = UniqueId(format="%ci")
    assert one("unique-id", t) == "stale"


def test_so_name_srv_id_and_bin(tmp_path) -> None:
    config = load(tmp_path, "frontend fe\n    bind :8080 name plain\n    bind :8081\n    default_backend be\n"
                            "backend be\n    server s1 127.0.0.1:9000\n    server s2 127.0.0.1:9001\n")  # fmt: skip
    t = txn(frontend=config.frontends["fe"])
    t.facts.listener_id = 1
    assert one("so_name", t) == "plain"
    t.facts.listener_id = 2
    assert one("so_name", t) is None  # a bind without a name
    t.server = config.backends["be"].servers[1]
    assert (one("srv_id", t), one("srv_name", t)) == (2, "s2")
    assert one("bin(14fb9c03),ub64enc", t) == "FPucAw"
    with pytest.raises(Exception, match="as type 'binary'"):
        compile_sample("bin(xyz)")
