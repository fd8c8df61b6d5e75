"""Sample types and HAProxy's casts between them (worker; checked in master, cli).

A sample is a Python value whose type is HAProxy's (src/sample.c):

    bool  -> bool          int  -> int (signed 64-bit)    str  -> str (latin-1 text)
    bin   -> bytes         ip   -> lb.rules.addr.Ip       meth -> str

`castable(src, dst)` is HAProxy's `sample_casts` matrix, used when a sample
expression is compiled ("converter 'hex' cannot be applied"); `cast(value,
dst)` converts one value at run time, None when it cannot (an empty string
is no integer, a binary sample no address).  The names are those of
lb.rules.fetches' Fetch.type, plus "addr" (an IPv4 or IPv6 address) and
"any" (variables: checked when the value is there).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from lb.rules.addr import Ip, parse_ip

SINT_MIN, SINT_MAX = -(2**63), 2**63 - 1
_ALL = frozenset(("bool", "int", "addr", "ip", "str", "bin", "meth", "any"))
# from -> the types it can become (HAProxy's sample_casts, IPv4/IPv6 merged as "ip")
_CASTS: dict[str, frozenset[str]] = {
    "bool": frozenset(("bool", "int", "str", "bin", "any")),
    "int": frozenset(("bool", "int", "addr", "ip", "str", "bin", "any")),
    "ip": frozenset(("int", "addr", "ip", "str", "bin", "any")),
    "str": frozenset(("bool", "int", "addr", "ip", "str", "bin", "meth", "any")),
    "bin": frozenset(("str", "bin", "meth", "any")),
    "meth": frozenset(("str", "bin", "meth", "any")),
    "any": _ALL,
}
_DIGITS = re.compile(r"[+-]?[0-9]*")


def castable(src: str, dst: str) -> bool:
    return dst in _CASTS.get(src, _ALL)


def type_of(value: Any) -> str:
    """The sample type of a run-time value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, bytes):
        return "bin"
    if isinstance(value, Ip):
        return "ip"
    return "str"


def read_int64(text: str) -> int:
    """HAProxy's read_int64(): an optional sign then digits, saturated; other characters end it."""
    match = _DIGITS.match(text)
    digits = match.group(0) if match else ""
    value = int(digits) if digits.lstrip("+-") else 0
    return max(SINT_MIN, min(SINT_MAX, value))


def to_text(value: Any) -> str | None:
    """Any sample as a string (c_int2str, c_ip2str, c_bin2str: binary stops at its first NUL)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, bytes):
        return value.split(b"\0", 1)[0].decode("latin-1")
    return str(value)


def to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return read_int64(value) if value else None  # c_str2int: an empty string fails
    if isinstance(value, Ip):
        return value.v4 if value.v4 is not None and value.v6 >> 32 == 0xFFFF else None
    return None


def to_bin(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1", "replace")
    if isinstance(value, bool):
        return int(value).to_bytes(8, "big")
    if isinstance(value, int):
        return (value & (2**64 - 1)).to_bytes(8, "big")  # c_int2bin: 8 bytes, network order
    if isinstance(value, Ip):
        if value.v4 is not None and value.v6 >> 32 == 0xFFFF:
            return value.v4.to_bytes(4, "big")
        return value.v6.to_bytes(16, "big")
    return None


def to_ip(value: Any) -> Ip | None:
    if isinstance(value, Ip):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return ip_from_int(value & 0xFFFFFFFF)
    if isinstance(value, str):
        return parse_ip(value)
    return None


def ip_from_int(v4: int) -> Ip:
    return Ip(v4, (0xFFFF << 32) | v4, str(ipaddress.IPv4Address(v4)))


def cast(value: Any, dst: str) -> Any:
    """`value` as type `dst`, or None when HAProxy's cast would fail."""
    if value is None or dst == "any":
        return value
    if dst == "str" or dst == "meth":
        return to_text(value)
    if dst == "int":
        return to_int(value)
    if dst == "bool":
        number = to_int(value)
        return None if number is None else number != 0
    if dst == "bin":
        return to_bin(value)
    if dst in ("ip", "addr"):
        return to_ip(value)
    return value
