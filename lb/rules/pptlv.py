"""The TLVs of a PROXY protocol v2 header, checked as HAProxy 2.6 checks them (worker).

    tlvs = extract_tlvs(header)     # header: the whole v2 header, as workers.proxy_protocol measured it
    facts.pp_tlvs = tlvs            # {type: value}; read by fc_pp_authority, fc_pp_unique_id

A v2 header may carry, after the addresses of a TCP4 or TCP6 PROXY
command, type-length-value fields (doc/proxy-protocol.txt 2.2):
ALPN (0x01), AUTHORITY (0x02, the SNI, at most 255 bytes), CRC32C (0x03),
UNIQUE_ID (0x05, at most 128 bytes), SSL (0x20) ...  HAProxy
(src/connection.c conn_recv_proxy) refuses the whole header, closing the
connection, when a TLV overruns the header, when AUTHORITY or UNIQUE_ID
is too long, or when a CRC32C TLV does not match the header's checksum
(computed with the CRC field zeroed); `extract_tlvs` raises TlvError in
exactly those cases.  Pure functions: no sockets.
"""

from __future__ import annotations

import struct

PP2_TYPE_ALPN = 0x01
PP2_TYPE_AUTHORITY = 0x02
PP2_TYPE_CRC32C = 0x03
PP2_TYPE_NOOP = 0x04
PP2_TYPE_UNIQUE_ID = 0x05
PP2_TYPE_SSL = 0x20
PP2_AUTHORITY_MAX = 255
UNIQUEID_LEN = 128
HEADER_LEN = 16
_ADDRESS_LEN = {0x11: 12, 0x21: 36}  # TCP4, TCP6: TLVs follow these address blocks only


class TlvError(ValueError):
    """The TLVs make the PROXY header invalid: the connection must be closed."""


def extract_tlvs(header: bytes) -> dict[int, bytes]:
    """The TLVs of a complete v2 `header` by type (the last one of a type wins).

    Headers without TLVs (LOCAL, UNSPEC, v1) give {}."""
    if len(header) < HEADER_LEN or header[12] & 0x0F != 0x01:
        return {}
    (size,) = struct.unpack_from("!H", header, 14)
    total = HEADER_LEN + size
    if len(header) < total:
        raise TlvError("truncated PROXY v2 header")
    address = _ADDRESS_LEN.get(header[13])
    if address is None:
        return {}
    tlvs: dict[int, bytes] = {}
    offset = HEADER_LEN + address
    while offset < total:
        if offset + 3 > total:
            raise TlvError("TLV header overruns the PROXY header")
        kind = header[offset]
        (length,) = struct.unpack_from("!H", header, offset + 1)
        value = header[offset + 3 : offset + 3 + length]
        if offset + 3 + length > total:
            raise TlvError("TLV value overruns the PROXY header")
        _check(kind, value, header[:total], offset)
        tlvs[kind] = value
        offset += 3 + length
    return tlvs


def _check(kind: int, value: bytes, header: bytes, offset: int) -> None:
    if kind == PP2_TYPE_CRC32C:
        if len(value) != 4:
            raise TlvError("CRC32C TLV must be 4 bytes long")
        zeroed = header[: offset + 3] + b"\0\0\0\0" + header[offset + 7 :]
        if crc32c(zeroed) != struct.unpack("!I", value)[0]:
            raise TlvError("PROXY header CRC32C mismatch")
    elif kind == PP2_TYPE_AUTHORITY and len(value) > PP2_AUTHORITY_MAX:
        raise TlvError("AUTHORITY TLV longer than 255 bytes")
    elif kind == PP2_TYPE_UNIQUE_ID and len(value) > UNIQUEID_LEN:
        raise TlvError("UNIQUE_ID TLV longer than 128 bytes")


def crc32c(data: bytes) -> int:
    from lb.rules.converters_num import crc32c as compute

    return compute(data)


def build_tlv(kind: int, value: bytes) -> bytes:
    """One TLV as a sender writes it (tests, `proxy-v2-options` one day)."""
    return bytes((kind,)) + struct.pack("!H", len(value)) + value
