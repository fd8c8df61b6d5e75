"""Fetches on a mode tcp stream's first bytes: req.len, req.payload, req.ssl_sni... (worker; compiled in master, cli).

Registered into lb.rules.fetches.FETCHES on import.  The bytes are
`txn.content` (lb.rules.txn.Content), filled by the engine while
`tcp-request content` rules wait; the parsing is lb.rules.payload.  A
fetch that needs more bytes than received marks `content.missing` (unless
`content.final`), which the content rules read as "not decided yet"
(lb.rules.tcp_rules.tri_state).  Without buffered content (mode http, or
rules that run after the inspection) these fetches find no sample, except
req.len which reads 0: lb's HTTP engine streams bodies.
"""

from __future__ import annotations

from typing import Any, Callable

from lb.rules import payload
from lb.rules.fetches import FETCHES, USE_REQ, FetchDef, FetchError, _single

Parser = Callable[[bytes], tuple[Any, bool]]


def _on_content(parse: Parser, when_absent: Any = None) -> Callable[[Any], Any]:
    """A fetch over txn.content that flags missing data while it may still come."""

    def get(txn: Any) -> Any:
        content = txn.content
        if content is None:
            return when_absent
        value, more = parse(content.data)
        if more and not content.final:
            content.missing = True
        return value

    return get


def _int_arg(name: str, args: list[str], position: int) -> int:
    text = args[position - 1] if len(args) >= position else ""
    if not text:
        raise FetchError(f"fetch method '{name}' : expected type 'integer' at position {position}, but got nothing")
    try:
        return int(text)
    except ValueError:
        raise FetchError(f"fetch method '{name}' : failed to parse '{text}' as type 'integer' at position "
                         f"{position}") from None  # fmt: skip


def _register(names: tuple[str, ...], type_: str, build: Callable[[list[str]], tuple[Any, Any]],
              max_args: int = 0) -> None:  # fmt: skip
    for name in names:
        FETCHES[name] = FetchDef(name, type_, USE_REQ, build, 0, max_args)


def _req_len(args: list[str]) -> tuple[Any, Any]:
    return _single(_on_content(payload.req_len, 0))


def _payload(name: str) -> Callable[[list[str]], tuple[Any, Any]]:
    def build(args: list[str]) -> tuple[Any, Any]:
        offset, length = _int_arg(name, args, 1), _int_arg(name, args, 2)

        def get(txn: Any) -> Any:
            content = txn.content
            if content is None:
                return None
            value, more = payload.payload(content.data, offset, length, final=content.final)
            if more and not content.final:
                content.missing = True
            return value

        return _single(get)

    return build


def _payload_lv(name: str) -> Callable[[list[str]], tuple[Any, Any]]:
    def build(args: list[str]) -> tuple[Any, Any]:
        len_offset, len_size = _int_arg(name, args, 1), _int_arg(name, args, 2)
        if len_offset < 0:
            raise FetchError("payload offset1 must be positive")
        if not len_size:
            raise FetchError("payload length must be > 0")
        third = args[2] if len(args) > 2 else ""
        buf_offset, relative = None, False
        if third:
            relative = third[0] in "+-"
            try:
                buf_offset = int(third)
            except ValueError:
                raise FetchError("payload offset2 is not a number") from None
            if len_offset + len_size + buf_offset < 0:
                raise FetchError("payload offset2 too negative")
        return _single(_on_content(lambda data: payload.payload_lv(data, len_offset, len_size, buf_offset, relative)))

    return build


def _alpn(args: list[str]) -> tuple[Any, Any]:
    def every(txn: Any) -> list[str]:
        content = txn.content
        if content is None:
            return []
        found = payload.ssl_alpn(content.data)
        if isinstance(found, list):
            return found
        if found[1] and not content.final:
            content.missing = True
        return []

    def first(txn: Any) -> Any:
        names = every(txn)
        return names[0] if names else None

    return first, every


def _rdp_cookie(args: list[str]) -> tuple[Any, Any]:
    name = args[0] if args else ""
    return _single(_on_content(lambda data: payload.rdp_cookie(data, name)))


def _rdp_cookie_cnt(args: list[str]) -> tuple[Any, Any]:
    name = args[0] if args else ""

    def get(txn: Any) -> Any:
        content = txn.content
        if content is None:
            return 0
        value, more = payload.rdp_cookie(content.data, name)
        if more and value is None:
            if not content.final:
                content.missing = True
                return None
        return 0 if value is None else 1

    return _single(get)


def _simple(parse: Parser) -> Callable[[list[str]], tuple[Any, Any]]:
    return lambda args: _single(_on_content(parse))


_register(("req.len", "req_len"), "int", _req_len)
_register(("req.payload", "payload"), "bin", _payload("req.payload"), 2)
_register(("req.payload_lv", "payload_lv"), "bin", _payload_lv("req.payload_lv"), 3)
_register(("req.ssl_hello_type", "req_ssl_hello_type"), "int", _simple(payload.ssl_hello_type))
_register(("req.ssl_sni", "req_ssl_sni"), "str", _simple(payload.ssl_sni))
_register(("req.ssl_ver", "req_ssl_ver"), "int", _simple(payload.ssl_version))
_register(("req.ssl_alpn",), "str", _alpn)
_register(("req.rdp_cookie", "rdp_cookie", "req_rdp_cookie"), "str", _rdp_cookie, 1)
_register(("req.rdp_cookie_cnt", "rdp_cookie_cnt", "req_rdp_cookie_cnt"), "int", _rdp_cookie_cnt, 1)
DOTTED_VERSION = frozenset(("req.ssl_ver", "req_ssl_ver"))  # ACL patterns written `3.1` (lb.rules.acl)


def _wait_end(args: list[str]) -> tuple[Any, Any]:
    """wait_end: true once nothing more will be waited for (HAProxy: MAY_CHANGE until final)."""

    def get(txn: Any) -> Any:
        content = txn.content
        if content is not None and not content.final:
            content.missing = True
            return None
        return True

    return _single(get)


FETCHES["wait_end"] = FetchDef("wait_end", "bool", 3, _wait_end)
