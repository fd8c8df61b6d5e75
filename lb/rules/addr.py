"""IP addresses as ACL samples and patterns (worker; parsing also in master, cli).

HAProxy matches IPv4 and IPv6 against each other (cfg §7.1.6):
- v4 sample, v4 pattern: in IPv4 with the pattern's mask;
- v6 sample, v6 pattern: in IPv6;
- v6 sample, v4 pattern: in IPv4 when the sample embeds an IPv4 address as
  `::ffff:a.b.c.d`, `::a.b.c.d` or `2002:a.b.c.d::`, otherwise no match;
- v4 sample, v6 pattern: the sample becomes `::ffff:a.b.c.d`.
A sample is parsed once into both integers, so a match is a mask and a
compare.  IPv4 patterns accept HAProxy's abbreviated forms, which are
inet_aton()'s: `10.12` is 10.0.0.12, `127.1` is 127.0.0.1, and a dotted
mask (`/255.255.0.0`) as well as a bit count.
"""

from __future__ import annotations

import ipaddress
import socket

_V4_MAPPED = 0xFFFF << 32
_LOW32 = 0xFFFFFFFF


class Ip:
    """An address sample: `v4` is the IPv4 address it stands for (None if
    none), `v6` its IPv6 form, `text` how it prints."""

    __slots__ = ("v4", "v6", "text")

    def __init__(self, v4: int | None, v6: int, text: str) -> None:
        self.v4 = v4
        self.v6 = v6
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Ip({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ip) and other.v6 == self.v6 and other.v4 == self.v4


def parse_ip(text: str) -> Ip | None:
    """A literal IPv4 or IPv6 address (no abbreviation) as a sample, or None."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    value = int(addr)
    if addr.version == 4:
        return Ip(value, _V4_MAPPED | value, text)
    return Ip(_embedded_v4(value), value, text)


def _embedded_v4(v6: int) -> int | None:
    if v6 >> 32 in (0, 0xFFFF):
        return v6 & _LOW32  # ::ffff:a.b.c.d and the old ::a.b.c.d (HAProxy's pat_match_ip)
    if v6 >> 112 == 0x2002:
        return (v6 >> 80) & _LOW32  # 6to4: 2002:AABB:CCDD::
    return None


class Network:
    """An IP pattern: version 4 or 6, network and mask as integers."""

    __slots__ = ("version", "net", "mask", "text")

    def __init__(self, version: int, net: int, mask: int, text: str) -> None:
        self.version, self.net, self.mask, self.text = version, net, mask, text

    def contains(self, ip: Ip) -> bool:
        if self.version == 4:
            return ip.v4 is not None and ip.v4 & self.mask == self.net
        return ip.v6 & self.mask == self.net

    def __repr__(self) -> str:
        return f"Network({self.text!r})"


def parse_network(text: str) -> Network:
    """`a.b.c.d[/mask]` (abbreviated forms allowed) or `v6[/bits]`; ValueError otherwise."""
    addr, slash, mask = text.partition("/")
    if ":" in addr:
        try:
            net = ipaddress.IPv6Network(f"{addr}/{mask}" if slash else addr, strict=False)
        except ValueError:
            raise ValueError(f"'{text}' is not a valid IPv4 or IPv6 address") from None
        return Network(6, int(net.network_address), int(net.netmask), text)
    try:
        value = int.from_bytes(socket.inet_aton(addr), "big")
    except OSError:
        raise ValueError(f"'{text}' is not a valid IPv4 or IPv6 address") from None
    bits = _v4_mask(mask, text) if slash else _LOW32
    return Network(4, value & bits, bits, text)


def _v4_mask(mask: str, text: str) -> int:
    if mask.isdigit() and int(mask) <= 32:
        return (_LOW32 << (32 - int(mask))) & _LOW32
    try:
        return int.from_bytes(socket.inet_aton(mask), "big")
    except OSError:
        raise ValueError(f"'{text}' is not a valid IPv4 or IPv6 address") from None
