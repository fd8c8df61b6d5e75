"""Arithmetic, bit, hash, digest and address converters, HAProxy 2.6's (worker; built in master, cli).

Registered into lb.rules.convbase.CONVERTERS on import (lb.rules.converters imports this module).  Arithmetic is
on signed 64-bit integers and saturates instead of wrapping (`add`,
`sub`, `mul`), `div` by zero gives the largest integer and `mod` by zero
0, as src/sample.c does; their argument is an integer or a variable name
(`add(txn.offset)`), a missing variable giving no sample.  The 32-bit
hashes are HAProxy's (src/hash.c), `1` as argument adds its full
avalanche (Bob Jenkins' integer hash).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import zlib
from typing import Any, Callable

from lb.rules.convbase import CONVERTERS, ArgError, Conv, ConvDef, converter, int_arg, is_var_name, simple
from lb.rules.samptypes import SINT_MAX, SINT_MIN, ip_from_int, to_int, to_text
from lb.rules.addr import Ip, parse_ip

MASK32 = 0xFFFFFFFF


def saturate(value: int) -> int:
    return max(SINT_MIN, min(SINT_MAX, value))


def _operand(args: list[str]) -> Callable[[Any], int | None]:
    """`add(<value>)`'s argument: an integer, or a variable read when the sample is converted."""
    text = args[0]
    if is_var_name(text):
        return lambda txn: to_int(txn.get_var(text))
    number = int_arg_text(text)
    return lambda txn: number


def int_arg_text(text: str) -> int:
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdigit():
        raise ArgError("expects an integer or a variable name")
    return saturate(int(text))


def _c_div(a: int, b: int) -> int:
    """C's truncating division."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def _arith(name: str, op: Callable[[int, int], int]) -> None:
    def build(args: list[str]) -> Conv:
        operand = _operand(args)

        def convert(value: int, txn: Any) -> int | None:
            other = operand(txn)
            return None if other is None else op(value, other)

        return convert

    CONVERTERS[name] = ConvDef(name, "int", "int", build, 1, 1)


_arith("add", lambda a, b: saturate(a + b))
_arith("sub", lambda a, b: saturate(a - b))
_arith("mul", lambda a, b: saturate(a * b))
_arith("div", lambda a, b: SINT_MAX if b == 0 else saturate(_c_div(a, b)))
_arith("mod", lambda a, b: 0 if b == 0 or (a == SINT_MIN and b == -1) else a - _c_div(a, b) * b)
_arith("and", lambda a, b: a & b)
_arith("or", lambda a, b: a | b)
_arith("xor", lambda a, b: a ^ b)
simple("neg", "int", "int", lambda value: SINT_MAX if value == SINT_MIN else -value)
simple("cpl", "int", "int", lambda value: ~value)
simple("bool", "int", "bool", lambda value: value != 0)
simple("not", "int", "bool", lambda value: value == 0)
simple("odd", "int", "bool", lambda value: value & 1 == 1)
simple("even", "int", "bool", lambda value: value & 1 == 0)
simple("htonl", "int", "bin", lambda value: (value & MASK32).to_bytes(4, "big"))


# -- hashes -------------------------------------------------------------------------------------


def full_hash(a: int) -> int:
    a = ((a + 0x7ED55D16) + (a << 12)) & MASK32
    a = ((a ^ 0xC761C23C) ^ (a >> 19)) & MASK32
    a = ((a + 0x165667B1) + (a << 5)) & MASK32
    a = ((a + 0xD3A2646C) ^ (a << 9)) & MASK32
    a = ((a + 0xFD7046C5) + (a << 3)) & MASK32
    a = ((a ^ 0xB55A4F09) ^ (a >> 16)) & MASK32
    return (a * 3221225473) & MASK32


def djb2(data: bytes) -> int:
    value = 5381
    for byte in data:
        value = ((value << 5) + value + byte) & MASK32
    return value


def sdbm(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (byte + (value << 6) + (value << 16) - value) & MASK32
    return value


def wt6(data: bytes) -> int:
    h0, h1, step0, step1 = 0xA53C965A, 0x5CA6953A, 6, 18
    for byte in data:
        h0 = ~(h0 ^ byte) & MASK32
        h1 = ~(h1 + byte) & MASK32
        t = ((h1 << step0) | (h1 >> (32 - step0))) & MASK32
        h1 = ((h0 << step1) | (h0 >> (32 - step1))) & MASK32
        h0 = t
        t = ((h0 >> 16) ^ h1) & 0xFFFF
        step0, step1 = t & 0x1F, t >> 11
    return h0 ^ h1


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        value = n
        for _ in range(8):
            value = (value >> 1) ^ 0x82F63B78 if value & 1 else value >> 1
        table.append(value)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    value = MASK32
    for byte in data:
        value = _CRC32C[(value ^ byte) & 0xFF] ^ (value >> 8)
    return value ^ MASK32


def _hash(name: str, func: Callable[[bytes], int]) -> None:
    def build(args: list[str]) -> Conv:
        avalanche = int_arg(args, 0, 0) != 0
        return lambda value, txn: full_hash(func(value)) if avalanche else func(value)

    CONVERTERS[name] = ConvDef(name, "bin", "int", build, 0, 1)


_hash("crc32", zlib.crc32)
_hash("crc32c", crc32c)
_hash("djb2", djb2)
_hash("sdbm", sdbm)
_hash("wt6", wt6)


# -- digests (HAProxy needs OpenSSL for some: lb has hashlib, backed by OpenSSL) -------------------

simple("sha1", "bin", "bin", lambda value: hashlib.sha1(value).digest())


@converter("sha2", "bin", "bin", (0, 1))
def _sha2(args: list[str]) -> Conv:
    bits = int_arg(args, 0, 256)
    if bits not in (224, 256, 384, 512):
        raise ArgError(f"Unsupported number of bits: '{bits}'.")
    name = f"sha{bits}"
    return lambda value, txn: hashlib.new(name, value).digest()


def _algorithm(name: str) -> str:
    try:
        hashlib.new(name)
    except ValueError:
        raise ArgError("algorithm must be a valid OpenSSL message digest name.") from None
    return name


@converter("digest", "bin", "bin", (1, 1))
def _digest(args: list[str]) -> Conv:
    algorithm = _algorithm(args[0])
    return lambda value, txn: hashlib.new(algorithm, value).digest()


@converter("hmac", "bin", "bin", (2, 2))
def _hmac(args: list[str]) -> Conv:
    import base64
    import binascii

    algorithm, key_text = _algorithm(args[0]), args[1]
    if is_var_name(key_text):
        read_key: Callable[[Any], Any] = lambda txn: to_text(txn.get_var(key_text))  # noqa: E731
    else:
        read_key = lambda txn: key_text  # noqa: E731

    def convert(value: bytes, txn: Any) -> bytes | None:
        encoded = read_key(txn)
        if encoded is None:
            return None
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None
        return hmac.new(key, value, algorithm).digest()

    return convert


@converter("secure_memcmp", "bin", "bool", (1, 1))
def _secure_memcmp(args: list[str]) -> Conv:
    if not is_var_name(args[0]):
        raise ArgError(f"failed to register variable name '{args[0]}'")
    name = args[0]

    def convert(value: bytes, txn: Any) -> bool | None:
        from lb.rules.samptypes import to_bin

        other = to_bin(txn.get_var(name))
        if other is None:
            return None
        return len(other) == len(value) and hmac.compare_digest(other, value)

    return convert


# -- addresses and dates ----------------------------------------------------------------------------


def _mask4(text: str) -> int:
    if text.isdigit() and int(text) <= 32:
        return (MASK32 << (32 - int(text))) & MASK32
    ip = parse_ip(text)
    if ip is None or ip.v4 is None or ":" in text:
        raise ArgError(f"failed to parse '{text}' as type 'IPv4 mask'", 1)
    return ip.v4


def _mask6(text: str) -> int:
    if text.isdigit() and int(text) <= 128:
        return ((1 << 128) - 1) ^ ((1 << (128 - int(text))) - 1)
    ip = parse_ip(text)
    if ip is None or ":" not in text:
        raise ArgError(f"failed to parse '{text}' as type 'IPv6 mask'", 2)
    return ip.v6


@converter("ipmask", "addr", "ip", (1, 2))
def _ipmask(args: list[str]) -> Conv:
    mask4 = _mask4(args[0])
    mask6 = _mask6(args[1]) if len(args) > 1 and args[1] else None

    def convert(value: Ip, txn: Any) -> Ip | None:
        if value.v4 is not None and (value.v6 >> 32 == 0xFFFF or value.v6 >> 32 == 0):
            return ip_from_int(value.v4 & mask4)
        if mask6 is None:
            return None
        import ipaddress

        masked = value.v6 & mask6
        return Ip(None, masked, str(ipaddress.IPv6Address(masked)))

    return convert


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@converter("http_date", "int", "str", (0, 2))
def _http_date(args: list[str]) -> Conv:
    offset = int_arg(args, 0, 0)
    unit = args[1] if len(args) > 1 else "s"
    divisor = {"s": 1, "ms": 1000, "us": 1_000_000}.get(unit or "s")
    if divisor is None:
        raise ArgError(f"Invalid unit '{unit}'. Allowed values are 's', 'ms' and 'us'")

    def convert(value: int, txn: Any) -> str:
        value += offset
        seconds, fraction = divmod(value, divisor) if divisor > 1 else (value, 0)
        t = time.gmtime(seconds & 0x007FFFFFFFFFFFFF)
        frac = f".{fraction}" if divisor > 1 else ""
        return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}{frac} GMT")  # fmt: skip

    return convert


def _time_format(local: bool) -> Callable[[list[str]], Conv]:
    def build(args: list[str]) -> Conv:
        fmt, offset = args[0], int_arg(args, 1, 0)
        to_tm = time.localtime if local else time.gmtime
        return lambda value, txn: time.strftime(fmt, to_tm((value & 0x007FFFFFFFFFFFFF) + offset))

    return build


CONVERTERS["ltime"] = ConvDef("ltime", "int", "str", _time_format(True), 1, 2)
CONVERTERS["utime"] = ConvDef("utime", "int", "str", _time_format(False), 1, 2)
