"""Converters: the `,name(args)` steps of sample expressions, HAProxy 2.6's (worker; built in master, cli).

Each converter declares its input and output types (lb.rules.samptypes) and
a builder that turns its arguments, checked at load with HAProxy's texts,
into a function `(value, txn) -> value | None`; the value it receives is
already cast to its input type (src/sample.c `sample_conv_kws`).  None
means "no sample", as a converter returning 0 in HAProxy.  This module
holds the string and encoding converters; lb.rules.converters_num the
arithmetic, hashes and digests.

    str(f1_f2_f3__f5),field(2,_,0)   -> "f2_f3__f5"
    hdr(x),regsub('/+','/','g')      -> every run of slashes made one
    req.fhdr(sl1),crc32              -> the CRC32 of the header's value
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from lb.rules.actions import expand
from lb.rules.convbase import CONVERTERS, ArgError, Conv, ConvDef, converter, int_arg, is_var_name, simple, var_reader
from lb.rules.samptypes import to_int, to_text

# -- encodings ---------------------------------------------------------------------------------

simple("hex", "bin", "str", lambda value: value.hex().upper())
simple("base64", "bin", "str", lambda value: base64.b64encode(value).decode("ascii"))
simple("ub64enc", "bin", "str", lambda value: base64.urlsafe_b64encode(value).decode("ascii").rstrip("="))
simple("upper", "str", "str", lambda value: value.upper())
simple("lower", "str", "str", lambda value: value.lower())
simple("length", "str", "int", len)
simple("cut_crlf", "str", "str", lambda value: re.split(r"[\r\n]", value, maxsplit=1)[0])


def _b64dec(value: str, url: bool) -> bytes | None:
    try:
        if url:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if len(value) % 4:
            return None  # HAProxy's base64dec() needs whole quadruplets
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


simple("b64dec", "str", "bin", lambda value: _b64dec(value, False))
simple("ub64dec", "str", "bin", lambda value: _b64dec(value, True))


def _hex2i(value: str) -> int | None:
    if not re.fullmatch(r"[0-9A-Fa-f]*", value):
        return None
    number = int(value, 16) if value else 0
    number &= 2**64 - 1
    return number - 2**64 if number >= 2**63 else number


simple("hex2i", "str", "int", _hex2i)


@converter("be2hex", "bin", "str", (0, 3))
def _be2hex(args: list[str]) -> Conv:
    sep = args[0] if args else ""
    size, truncate = int_arg(args, 1, 0), int_arg(args, 2, 0)
    _check_chunks(sep, size, truncate)

    def convert(value: bytes, txn: Any) -> str:
        chunk = size if sep or truncate else len(value)
        return sep.join(piece.hex().upper() for piece in _chunks(value, chunk, truncate))

    return convert


@converter("be2dec", "bin", "str", (2, 3))
def _be2dec(args: list[str]) -> Conv:
    sep, size, truncate = args[0], int_arg(args, 1), int_arg(args, 2, 0)
    if not 1 <= size <= 8:
        raise ArgError(f"Chunk size must be in range 1..{8} ({size})")
    _check_chunks(sep, size, truncate)
    return lambda value, txn: sep.join(str(int.from_bytes(piece, "big")) for piece in _chunks(value, size, truncate))


def _check_chunks(sep: str, size: int, truncate: int) -> None:
    if size <= 0 and (sep or truncate):
        raise ArgError(f"chunk_size needs to be positive ({size})")
    if truncate not in (0, 1):
        raise ArgError(f"Unsupported truncate value ({truncate})")


def _chunks(value: bytes, size: int, truncate: int) -> list[bytes]:
    if size <= 0:
        return [value] if value else []
    pieces = [value[i : i + size] for i in range(0, len(value), size)]
    return [p for p in pieces if len(p) == size] if truncate else pieces


@converter("url_dec", "str", "str", (0, 1))
def _url_dec(args: list[str]) -> Conv:
    in_form = int_arg(args, 0, 0) != 0

    def convert(value: str, txn: Any) -> str | None:
        out, form, i = [], in_form, 0
        while i < len(value):
            char = value[i]
            if char == "%":
                code = value[i + 1 : i + 3]
                if len(code) < 2 or not re.fullmatch(r"[0-9A-Fa-f]{2}", code):
                    return None
                out.append(chr(int(code, 16)))
                i += 3
                continue
            if char == "+" and form:
                char = " "
            form = form or char == "?"  # after a '?', a '+' is a space (query string)
            out.append(char)
            i += 1
        return "".join(out)

    return convert


@converter("url_enc", "str", "str", (0, 1))
def _url_enc(args: list[str]) -> Conv:
    if args and args[0] not in ("", "query"):
        raise ArgError("Unexpected encode type. Allowed value is 'query'")
    keep = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    return lambda value, txn: "".join(c if c in keep else f"%{ord(c) & 0xFF:02X}" for c in value)


# -- strings -------------------------------------------------------------------------------------


@converter("concat", "str", "str", (1, 3))
def _concat(args: list[str]) -> Conv:
    start, var, end = (args + ["", "", ""])[:3]
    if var and not is_var_name(var):
        raise ArgError(f"failed to register variable name '{var}'")
    read = var_reader(var) if var else None

    def convert(value: str, txn: Any) -> str:
        middle = to_text(read(txn)) if read is not None else None
        return value + start + (middle or "") + end

    return convert


@converter("add_item", "str", "str", (2, 3))
def _add_item(args: list[str]) -> Conv:
    delim, var, suffix = (args + ["", "", ""])[:3]
    if var and not is_var_name(var):
        raise ArgError(f"failed to register variable name '{var}'")
    if not var and not suffix:
        raise ArgError("one of the optional arguments has to be nonempty")
    read = var_reader(var) if var else None

    def convert(value: str, txn: Any) -> str:
        middle = to_text(read(txn)) if read is not None else None
        glue = delim if value and (middle or suffix) else ""
        return value + glue + (middle or "") + suffix

    return convert


@converter("strcmp", "str", "int", (1, 1))
def _strcmp(args: list[str]) -> Conv:
    if not is_var_name(args[0]):
        raise ArgError(f"failed to register variable name '{args[0]}'")
    read = var_reader(args[0])

    def convert(value: str, txn: Any) -> int | None:
        other = to_text(read(txn))
        if other is None:
            return None
        mine, theirs = value.encode("latin-1", "replace"), other.encode("latin-1", "replace")
        return (mine > theirs) - (mine < theirs)

    return convert


def _field_args(args: list[str]) -> tuple[int, str, int]:
    index, delims, count = int_arg(args, 0), args[1], int_arg(args, 2, 1)
    if index == 0:
        raise ArgError("Unexpected value 0 for index")
    if not delims:
        raise ArgError("Empty separators list")
    return index, delims, count


@converter("field", "str", "str", (2, 3))
def _field(args: list[str]) -> Conv:
    index, delims, count = _field_args(args)
    pattern = re.compile("[" + re.escape(delims) + "]")

    def convert(value: str, txn: Any) -> str | None:
        parts, seps = pattern.split(value), pattern.findall(value)
        pos = index - 1 if index > 0 else len(parts) + index
        if not 0 <= pos < len(parts):
            return None
        if index > 0:
            last = len(parts) if count == 0 else min(len(parts), pos + count)
            first = pos
        else:
            first = 0 if count == 0 else max(0, pos - count + 1)
            last = pos + 1
        return "".join(parts[i] + (seps[i] if i < last - 1 else "") for i in range(first, last))

    return convert


@converter("word", "str", "str", (2, 3))
def _word(args: list[str]) -> Conv:
    index, delims, count = _field_args(args)
    words_re = re.compile("[^" + re.escape(delims) + "]+")

    def convert(value: str, txn: Any) -> str | None:
        spans = [m.span() for m in words_re.finditer(value)]
        pos = index - 1 if index > 0 else len(spans) + index
        if not 0 <= pos < len(spans):
            return None
        if index > 0:
            first, last = pos, (len(spans) if count == 0 else min(len(spans), pos + count)) - 1
        else:
            first, last = (0 if count == 0 else max(0, pos - count + 1)), pos
        return value[spans[first][0] : spans[last][1]]

    return convert


@converter("regsub", "str", "str", (2, 3))
def _regsub(args: list[str]) -> Conv:
    flags = args[2] if len(args) > 2 else ""
    for flag in flags:
        if flag not in "ig":
            raise ArgError(f"invalid regex flag '{flag}', only 'i' and 'g' are supported")
    try:
        regex = re.compile(args[0], re.IGNORECASE if "i" in flags else 0)
    except re.error as exc:
        raise ArgError(f"invalid regex '{args[0]}' ({exc})", 1) from None
    template, everywhere = args[1], "g" in flags
    return lambda value, txn: regex.sub(lambda m: expand(template, m), value, count=0 if everywhere else 1)


@converter("ltrim", "str", "str", (1, 1))
def _ltrim(args: list[str]) -> Conv:
    chars = args[0]
    return lambda value, txn: value.lstrip(chars) if chars else value


@converter("rtrim", "str", "str", (1, 1))
def _rtrim(args: list[str]) -> Conv:
    chars = args[0]
    return lambda value, txn: value.rstrip(chars) if chars else value


@converter("bytes", "bin", "bin", (1, 2))
def _bytes(args: list[str]) -> Conv:
    offset = int_arg(args, 0)
    length = int_arg(args, 1, -1)

    def convert(value: bytes, txn: Any) -> bytes:
        if offset < 0 or len(value) <= offset:
            return b""
        rest = value[offset:]
        return rest[:length] if length >= 0 else rest

    return convert


@converter("iif", "bool", "str", (2, 2))
def _iif(args: list[str]) -> Conv:
    yes, no = args[0], args[1]
    return lambda value, txn: yes if value else no


_JSON_INPUTS = ("", "ascii", "utf8", "utf8s", "utf8p", "utf8ps")
_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\r": "\\r", "\n": "\\n",
               "\t": "\\t"}  # fmt: skip


@converter("json", "str", "str", (0, 1))
def _json(args: list[str]) -> Conv:
    mode = args[0] if args else ""
    if mode not in _JSON_INPUTS:
        raise ArgError("Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'")
    return lambda value, txn: json_escape(value, mode or "ascii")


def json_escape(value: str, mode: str) -> str | None:
    """HAProxy's json converter: `"\\/` and controls escaped, non-printable as \\u00XX."""
    if mode == "ascii":
        chars: Any = value
    else:
        raw = value.encode("latin-1", "replace")
        strict = mode in ("utf8", "utf8p")
        try:
            chars = raw.decode("utf-8")
        except UnicodeDecodeError:
            if strict:
                return None
            chars = raw.decode("utf-8", "ignore")
    out = []
    for char in chars:
        code = ord(char)
        if char in _JSON_SHORT:
            out.append(_JSON_SHORT[char])
        elif code > 0xFFFF:
            if mode in ("utf8", "utf8p"):
                return None
        elif code > 0xFF or not (0x20 <= code < 0x7F):
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _host_only(value: str) -> str:
    colon = max(value.rfind(":"), value.rfind("]"))
    host = value[:colon] if colon >= 0 and value[colon] == ":" else value
    return host.lower()


def _port_only(value: str) -> int:
    colon = max(value.rfind(":"), value.rfind("]"))
    if colon < 0 or value[colon] != ":":
        return 0
    digits = re.match(r"[0-9]*", value[colon + 1 :])
    return int(digits.group(0)) if digits and digits.group(0) else 0


simple("host_only", "str", "str", _host_only)
simple("port_only", "str", "int", _port_only)


@converter("debug", "any", "any", (0, 2))
def _debug(args: list[str]) -> Conv:
    return lambda value, txn: value  # HAProxy sends a copy to an event ring; lb has none: pass-through


# HAProxy 2.6 converters lb does not implement (stick tables, maps, Lua-free protocol parsers, JWT ...):
# a log-format using one loads with a warning; elsewhere it is refused by name.
HAPROXY_ONLY = frozenset((
    "51d.single", "aes_gcm_dec", "capture-req", "capture-res", "da-csv-conv", "fix_is_valid", "fix_tag_value",
    "in_table", "json_query", "jwt_header_query", "jwt_payload_query", "jwt_verify", "language", "map",
    "mqtt_field_value", "mqtt_is_valid", "nbsrv", "protobuf", "srv_queue", "ungrpc", "xxh3", "xxh32", "xxh64",
))  # fmt: skip

import lb.rules.converters_num  # noqa: E402,F401  (registers the arithmetic, hash and digest converters)

__all__ = ["CONVERTERS", "ConvDef", "ArgError", "converter", "int_arg", "is_var_name", "to_int"]
