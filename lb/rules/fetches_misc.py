"""Sample fetches on cookies, the connection, variables and constants (worker; compiled in master, cli).

Registered into lb.rules.fetches.FETCHES on import (see that module for
what a fetch is).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from lb.rules.fetches import (
    USE_ANY,
    USE_REQ,
    USE_RES,
    VAR_NAME_ERROR,
    VAR_SCOPES,
    All,
    FetchDef,
    FetchError,
    FETCHES,
    One,
    _single,
    fetch,
    to_int,
)

_COOKIE_SPLIT = re.compile(r"[;,]")


def parse_cookies(value: str, is_list: bool = True) -> list[tuple[str, str]]:
    """(name, value) pairs of a Cookie header (`;` and `,` separate them),
    or the first pair of a Set-Cookie header (`is_list` False).  Blanks
    around names and values are dropped; `$` attributes and words without
    `=` are skipped (HAProxy's http_extract_cookie_value)."""
    parts = _split_cookie_list(value) if is_list else [_split_cookie_list(value)[0]]
    pairs = []
    for part in parts:
        name, eq, val = part.partition("=")
        name = name.strip(" \t")
        if eq and not name.startswith("$"):
            pairs.append((name, val.strip(" \t")))
    return pairs


def _split_cookie_list(value: str) -> list[str]:
    if '"' not in value:
        return _COOKIE_SPLIT.split(value)
    parts, start, quoted = [], 0, False
    for i, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in ";,":
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return parts


def _cookies(direction: int, name: str) -> All:
    header = "cookie" if direction == USE_REQ else "set-cookie"

    def every(txn: Any) -> list[str]:
        message = txn.request if direction == USE_REQ else txn.response
        if message is None:
            return []
        found = []
        for full in message.get_all(header):
            for cname, cvalue in parse_cookies(full, direction == USE_REQ):
                if not name or cname == name:
                    found.append(cvalue)
        return found

    return every


def _cook(direction: int):
    def build(args: list[str]) -> tuple[One, All]:
        name = args[0] if args else ""
        every = _cookies(direction, name)

        def one(txn: Any) -> str | None:
            values = every(txn)
            if not values:
                return None
            return values[-1] if name else values[0]  # the last one, or the first cookie without a name

        return one, every

    return build


def _cook_cnt(args: list[str]) -> tuple[One, All]:
    every = _cookies(USE_REQ, args[0] if args else "")
    return _single(lambda txn: len(every(txn)))


def _cook_val(args: list[str]) -> tuple[One, All]:
    one, every = _cook(USE_REQ)(args)

    def all_ints(txn: Any) -> list[int]:
        return [v for v in map(to_int, every(txn)) if v is not None]

    return (lambda txn: (lambda v: None if v is None else to_int(v))(one(txn))), all_ints


for _name in ("req.cook", "cook"):
    FETCHES[_name] = FetchDef(_name, "str", USE_REQ, _cook(USE_REQ), 0, 1)
for _name in ("req.cook_cnt", "cook_cnt"):
    FETCHES[_name] = FetchDef(_name, "int", USE_REQ, _cook_cnt, 0, 1)
for _name in ("req.cook_val", "cook_val"):
    FETCHES[_name] = FetchDef(_name, "int", USE_REQ, _cook_val, 0, 1)
for _name in ("res.cook", "scook"):
    FETCHES[_name] = FetchDef(_name, "str", USE_RES, _cook(USE_RES), 0, 1)


# -- the connection ---------------------------------------------------------------


@fetch("src", "ip", USE_ANY)
def _src(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.facts.src)


@fetch("src_port", "int", USE_ANY)
def _src_port(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.facts.client_port)


@fetch("dst", "ip", USE_ANY)
def _dst(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.facts.dst)


@fetch("dst_port", "int", USE_ANY)
def _dst_port(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.facts.dst_port)


@fetch("so_id", "int", USE_ANY)
def _so_id(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.facts.listener_id)


@fetch("ssl_fc", "bool", USE_ANY)
def _ssl_fc(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: bool(txn.facts.ssl))


@fetch("ssl_fc_sni", "str", USE_ANY)
def _ssl_fc_sni(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.facts.sni if txn.facts.ssl else None)


@fetch("ssl_fc_alpn", "str", USE_ANY)
def _ssl_fc_alpn(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.facts.alpn if txn.facts.ssl else None)


@fetch("http_first_req", "bool", USE_ANY)
def _first_req(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.facts.requests <= 1)


@fetch("fe_name", "str", USE_ANY)
def _fe_name(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.frontend.name if txn.frontend is not None else None)


@fetch("be_name", "str", USE_ANY)
def _be_name(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.backend.name if txn.backend is not None else None)


# -- variables and constants ----------------------------------------------------------


def check_var_name(name: str) -> str:
    """`scope.name` or FetchError with HAProxy's text."""
    scope, dot, rest = name.partition(".")
    if not dot or scope not in VAR_SCOPES or not rest:
        raise FetchError(VAR_NAME_ERROR.format(name))
    return name


@fetch("var", "any", USE_ANY, args=(1, 2))
def _var(args: list[str]) -> tuple[One, All]:
    name = check_var_name(args[0])
    default = args[1] if len(args) > 1 else None
    return _single(lambda txn: (lambda v: default if v is None else v)(txn.get_var(name)))


def _const(value: Any) -> tuple[One, All]:
    values: Sequence[Any] = (value,)
    return (lambda txn: value), (lambda txn: values)


@fetch("str", "str", USE_ANY, args=(1, 1))
def _str(args: list[str]) -> tuple[One, All]:
    return _const(args[0])


@fetch("int", "int", USE_ANY, args=(1, 1))
def _int(args: list[str]) -> tuple[One, All]:
    if args[0] == "":
        raise FetchError("expected type 'integer' at position 1, but got nothing")
    try:
        return _const(int(args[0]))
    except ValueError:
        raise FetchError(f"failed to parse '{args[0]}' as type 'signed integer' at position 1") from None


@fetch("bool", "bool", USE_ANY, args=(1, 1))
def _bool(args: list[str]) -> tuple[One, All]:
    try:
        return _const(int(args[0]) != 0)
    except ValueError:
        raise FetchError(f"failed to parse '{args[0]}' as type 'signed integer' at position 1") from None


for _name, _value in (("always_true", True), ("always_false", False), ("req.proto_http", True),
                      ("wait_end", True)):  # fmt: skip
    FETCHES[_name] = FetchDef(_name, "bool", USE_ANY, lambda a, v=_value: _const(v))
