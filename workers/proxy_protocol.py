"""PROXY protocol v1 and v2: headers sent to servers, headers accepted on binds (worker, checker).

Byte-exact per haproxy doc/proxy-protocol.txt (reference §8).  Pure
functions: no sockets here.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_CMD_LOCAL = 0x20
V2_CMD_PROXY = 0x21
V2_FAM_UNSPEC = 0x00
V2_FAM_TCP4 = 0x11
V2_FAM_TCP6 = 0x21
V1_MAX = 107  # the whole line, CRLF included

Address = tuple[str, int]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text.split("%", 1)[0])


def _same_family(src: Address, dst: Address):
    """Both addresses in one family; mixed families become IPv6 (::ffff: mapped), as HAProxy."""
    a, b = _ip(src[0]), _ip(dst[0])
    if a.version == b.version:
        return a, b
    as6 = [ipaddress.IPv6Address(f"::ffff:{x}") if x.version == 4 else x for x in (a, b)]
    return as6[0], as6[1]


def header_v1(src: Address | None, dst: Address | None) -> bytes:
    """`PROXY TCP4 <src> <dst> <sport> <dport>\\r\\n`, or `PROXY UNKNOWN\\r\\n`."""
    if src is None or dst is None:
        return b"PROXY UNKNOWN\r\n"
    a, b = _same_family(src, dst)
    proto = "TCP4" if a.version == 4 else "TCP6"
    return f"PROXY {proto} {_text(a)} {_text(b)} {src[1]} {dst[1]}\r\n".encode("ascii")


def _text(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """inet_ntop's text (what HAProxy prints), e.g. `::ffff:127.0.0.1` for a mapped address."""
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    return socket.inet_ntop(family, ip.packed)


def header_v2(src: Address | None, dst: Address | None, local: bool = False) -> bytes:
    """Binary v2 header; `local` (or unknown addresses) gives the LOCAL command with no address."""
    if local or src is None or dst is None:
        return V2_SIGNATURE + bytes((V2_CMD_LOCAL, V2_FAM_UNSPEC)) + b"\x00\x00"
    a, b = _same_family(src, dst)
    family = V2_FAM_TCP4 if a.version == 4 else V2_FAM_TCP6
    body = a.packed + b.packed + struct.pack("!HH", src[1], dst[1])
    return V2_SIGNATURE + bytes((V2_CMD_PROXY, family)) + struct.pack("!H", len(body)) + body


def header_for(version: int, src: Address | None, dst: Address | None) -> bytes:
    return header_v1(src, dst) if version == 1 else header_v2(src, dst)


class ProxyHeaderError(ValueError):
    """The bytes do not start with a valid PROXY header: the connection is aborted."""


def parse_header(data: bytes) -> tuple[int, Address | None, Address | None] | None:
    """Parse a PROXY header at the start of `data`.

    Returns (length of the header, source, destination), with addresses None
    for LOCAL/UNKNOWN, or None when more bytes are needed.  Raises
    ProxyHeaderError when the data cannot be a PROXY header.
    """
    if len(data) >= 1 and data[:1] == b"\r":
        if len(data) < 16:
            if not V2_SIGNATURE.startswith(data[:12]):
                raise ProxyHeaderError("invalid PROXY v2 signature")
            return None
        return _parse_v2(data)
    if len(data) < 6:
        if not b"PROXY ".startswith(data):
            raise ProxyHeaderError("missing PROXY protocol header")
        return None
    if not data.startswith(b"PROXY "):
        raise ProxyHeaderError("missing PROXY protocol header")
    end = data.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        if len(data) >= V1_MAX:
            raise ProxyHeaderError("PROXY v1 line longer than 107 bytes")
        return None
    return _parse_v1(data[:end].decode("ascii", "replace"), end + 2)


def _parse_v1(line: str, length: int) -> tuple[int, Address | None, Address | None]:
    words = line.split(" ")
    if len(words) >= 2 and words[1] == "UNKNOWN":
        return length, None, None
    if len(words) != 6 or words[1] not in ("TCP4", "TCP6"):
        raise ProxyHeaderError(f"malformed PROXY v1 line {line!r}")
    family = socket.AF_INET if words[1] == "TCP4" else socket.AF_INET6
    try:  # inet_pton, as HAProxy: a TCP4 line must carry IPv4 addresses, TCP6 IPv6 ones
        src = socket.inet_ntop(family, socket.inet_pton(family, words[2]))
        dst = socket.inet_ntop(family, socket.inet_pton(family, words[3]))
        sport, dport = int(words[4]), int(words[5])
    except (OSError, ValueError):
        raise ProxyHeaderError(f"malformed PROXY v1 line {line!r}") from None
    if not (0 <= sport <= 65535 and 0 <= dport <= 65535):
        raise ProxyHeaderError("PROXY v1 port out of range")
    return length, (src, sport), (dst, dport)


def _parse_v2(data: bytes) -> tuple[int, Address | None, Address | None] | None:
    if data[:12] != V2_SIGNATURE or data[12] & 0xF0 != 0x20:
        raise ProxyHeaderError("invalid PROXY v2 signature or version")
    (size,) = struct.unpack_from("!H", data, 14)
    if len(data) < 16 + size:
        return None
    command, family = data[12] & 0x0F, data[13]
    total = 16 + size
    if command == 0:
        return total, None, None
    if command != 1:
        raise ProxyHeaderError("unknown PROXY v2 command")
    if family == V2_FAM_TCP4 and size >= 12:
        src_ip = socket.inet_ntop(socket.AF_INET, data[16:20])
        dst_ip = socket.inet_ntop(socket.AF_INET, data[20:24])
        sport, dport = struct.unpack_from("!HH", data, 24)
    elif family == V2_FAM_TCP6 and size >= 36:
        src_ip = socket.inet_ntop(socket.AF_INET6, data[16:32])
        dst_ip = socket.inet_ntop(socket.AF_INET6, data[32:48])
        sport, dport = struct.unpack_from("!HH", data, 48)
    else:
        return total, None, None  # UNSPEC / UNIX / DGRAM: keep the real endpoints
    return total, (src_ip, sport), (dst_ip, dport)
