"""Stick-table keys: samples and CLI words into key words, and back into `show table` text (worker, master).

A key is stored as a tuple of 64-bit words (lb.sticktables.layout):
- ip: the IPv4 address as one integer (network order, so numeric order is
  HAProxy's byte order);
- ipv6: the address as two words (high, low);
- integer: the value as an unsigned 32-bit integer;
- string: the text truncated to key_size - 1 bytes, NUL-padded to key_size,
  8 bytes a word (big-endian, so word order is byte order);
- binary: the bytes truncated or zero-padded to key_size, likewise.

Sample casts follow HAProxy's sample_casts matrix for the types lb has:
an address feeds ip/ipv6/integer/string/binary tables, an integer feeds
integer/string/binary (and ip: HAProxy casts an int to an IPv4 address),
a string feeds every type it parses as.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Callable

from lb.rules.addr import Ip

Words = tuple[int, ...]
M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15

# sample type -> table key types it can be cast to (HAProxy's stktable_compatible_sample)
COMPATIBLE = {
    "ip": ("ip", "ipv6", "integer", "string", "binary"),
    "int": ("ip", "ipv6", "integer", "string", "binary"),
    "bool": ("ip", "ipv6", "integer", "string", "binary"),
    "str": ("ip", "ipv6", "integer", "string", "binary"),
    "meth": ("string", "binary"),
    "bin": ("string", "binary"),
    "any": ("ip", "ipv6", "integer", "string", "binary"),
}


def compatible(sample_type: str, key_type: str) -> bool:
    return key_type in COMPATIBLE.get(sample_type, ())


def bytes_to_words(data: bytes, size: int) -> Words:
    padded = data[:size].ljust(((size + 7) // 8) * 8, b"\0")
    return tuple(int.from_bytes(padded[i : i + 8], "big") for i in range(0, len(padded), 8))


def words_to_bytes(words: Words, size: int) -> bytes:
    return b"".join(w.to_bytes(8, "big") for w in words)[:size]


def _str_key(text: str, size: int) -> Words:
    raw = text.encode("latin-1", "replace")
    return bytes_to_words(raw[: size - 1], size)


def converter(key_type: str, key_size: int) -> Callable[[Any], Words | None]:
    """A function turning one sample value into the key words of a table (None: no key)."""
    if key_type == "ip":
        return _to_ipv4
    if key_type == "ipv6":
        return _to_ipv6
    if key_type == "integer":
        return _to_integer
    if key_type == "string":
        return lambda value: _to_string(value, key_size)
    return lambda value: _to_binary(value, key_size)


def _to_ipv4(value: Any) -> Words | None:
    if isinstance(value, Ip):
        return None if value.v4 is None else (value.v4,)
    if isinstance(value, bool):
        return (int(value),)
    if isinstance(value, int):
        return (value & M32,)
    if isinstance(value, str):
        try:
            return (int.from_bytes(socket.inet_aton(value), "big"),) if value.count(".") == 3 else None
        except OSError:
            return None
    return None


def _to_ipv6(value: Any) -> Words | None:
    if isinstance(value, Ip):
        return (value.v6 >> 64, value.v6 & M64)
    if isinstance(value, int):
        mapped = (0xFFFF << 32) | (value & M32)
        return (0, mapped)
    if isinstance(value, str):
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            return None
        v6 = int(addr) if addr.version == 6 else (0xFFFF << 32) | int(addr)
        return (v6 >> 64, v6 & M64)
    return None


def _to_integer(value: Any) -> Words | None:
    if isinstance(value, Ip):
        return None if value.v4 is None else (value.v4,)
    if isinstance(value, (bool, int)):
        return (int(value) & M32,)
    if isinstance(value, str):
        text = value.strip()
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        end = 0
        while end < len(digits) and digits[end].isdigit():
            end += 1
        return ((sign * int(digits[:end] or "0")) & M32,)
    return None


def _to_string(value: Any, size: int) -> Words | None:
    if value is None:
        return None
    if isinstance(value, bool):
        value = "1" if value else "0"
    return _str_key(str(value), size)


def _to_binary(value: Any, size: int) -> Words | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return bytes_to_words(value, size)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, Ip):
        raw = value.v4.to_bytes(4, "big") if value.v4 is not None else value.v6.to_bytes(16, "big")
        return bytes_to_words(raw, size)
    if isinstance(value, int):
        return bytes_to_words((value & M64).to_bytes(8, "big"), size)
    return bytes_to_words(str(value).encode("latin-1", "replace"), size)


def hash_words(words: Words) -> int:
    """A 64-bit hash of a key, the same in every process (no per-process seed)."""
    value = 0
    for word in words:
        value = ((value ^ word) * GOLDEN) & M64
        value ^= value >> 29
    return value


# -- the runtime API's words ---------------------------------------------------------


class KeyError_(ValueError):
    """A CLI key that does not parse (HAProxy: "Invalid key")."""


def parse_cli_key(key_type: str, key_size: int, text: str) -> Words:
    """`show|clear|set table <t> key <text>` as HAProxy parses it."""
    if key_type == "ip":
        return (_inetaddr_host(text),)
    if key_type == "ipv6":
        try:
            v6 = int(ipaddress.IPv6Address(text))
        except ValueError:
            raise KeyError_("Invalid key") from None
        return (v6 >> 64, v6 & M64)
    if key_type == "integer":
        return (_strtoul_u32(text),)
    return _str_key(text, key_size)


def _strtoul_u32(text: str) -> int:
    """HAProxy's check: strtoul() must read digits (leading blanks and a sign allowed,
    the rest ignored) and the value must fit 32 bits; a minus sign wraps, so fails."""
    body = text.lstrip(" \t\n\r\f\v")
    negative = body[:1] == "-"
    if body[:1] in "+-" and body:
        body = body[1:]
    digits = len(body) - len(body.lstrip("0123456789"))
    if not digits:
        raise KeyError_("Invalid key")
    value = int(body[:digits])
    if negative and value:
        value = (1 << 64) - value
    if value > M32:
        raise KeyError_("Invalid key")
    return value


def _inetaddr_host(text: str) -> int:
    """HAProxy's inetaddr_host(): up to four dot-separated groups of digits, the
    last three digits of each group weighted 100/10/1 in its byte (no check:
    `300` overflows into the next byte, a missing group is 0, garbage stops)."""
    zero = 0x30303030
    dig1 = dig10 = dig100 = zero
    raw = text.encode("latin-1", "replace") + b"\0"
    shift, start, pos = 24, 0, 0
    while True:
        while 0x30 <= raw[pos] <= 0x39:
            pos += 1
        digits = raw[start:pos][-3:]
        for index, char in enumerate(reversed(digits)):
            if index == 0:
                dig1 |= char << shift
            elif index == 1:
                dig10 |= char << shift
            else:
                dig100 |= char << shift
        if not shift or raw[pos] != 0x2E:
            break
        shift -= 8
        pos += 1
        start = pos
    dig100, dig10, dig1 = (dig100 - zero) & M32, (dig10 - zero) & M32, (dig1 - zero) & M32
    return (((dig100 * 10) + dig10) * 10 + dig1) & M32


def display(key_type: str, key_size: int, words: Words) -> str:
    """`key=...` text of `show table`, as HAProxy 2.6 prints it."""
    if key_type == "ip":
        return socket.inet_ntoa(words[0].to_bytes(4, "big"))
    if key_type == "ipv6":
        return socket.inet_ntop(socket.AF_INET6, ((words[0] << 64) | words[1]).to_bytes(16, "big"))
    if key_type == "integer":
        return str(words[0])
    raw = words_to_bytes(words, key_size)
    if key_type == "binary":
        return raw.hex().upper()
    return dump_text(raw)


def dump_text(raw: bytes) -> str:
    """HAProxy's dump_text(): up to the first NUL, blanks and '=' escaped, the rest printable or \\xHH."""
    out = []
    for byte in raw:
        if byte == 0:
            break
        char = chr(byte)
        if 0x20 < byte < 0x7F and char not in "\\=":
            out.append(char)
        elif char in "\t\n\r\x1b\\ =":
            out.append("\\" + {"\t": "t", "\n": "n", "\r": "r", "\x1b": "e"}.get(char, char))
        else:
            out.append(f"\\x{byte:02X}")
    return "".join(out)


def sort_key(key_type: str, key_size: int, words: Words) -> bytes:
    """The order of HAProxy's key tree (memcmp of the stored key bytes)."""
    if key_type == "integer":
        return words[0].to_bytes(4, "little")
    if key_type == "ip":
        return words[0].to_bytes(4, "big")
    return words_to_bytes(words, key_size)
