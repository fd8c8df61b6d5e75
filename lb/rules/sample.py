"""Sample expressions: `fetch(args),converter,...` compiled into a Fetch (master, cli; runs in worker).

Used by ACL criteria (`hdr(host),lower -m beg www.`), by `%[...]` in rule
values and by `set-var(...) <expr>`.  Converters supported: lower, upper,
length.  `to_str()` is how a sample prints (booleans as 0/1, addresses in
their usual text form).
"""

from __future__ import annotations

from typing import Any, Callable

import lb.rules.fetches_misc  # noqa: F401  (registers cookie, connection and variable fetches)
import lb.rules.fetches_payload  # noqa: F401  (registers req.len, req.payload, req.ssl_sni ...)
import lb.sticktables.fetches  # noqa: F401  (registers sc_*, src_*, table_* ...)
from lb.rules.addr import Ip
from lb.rules.fetches import FETCHES, USE_REQ, USE_RES, Fetch, FetchError

# Fetch names that follow the rule's direction in sample context (cfg: "hdr()
# is equivalent to req.hdr() when used on requests, and to res.hdr() on responses").
_DIRECTIONAL = {"hdr": "res.hdr", "hdr_cnt": "res.hdr_cnt", "hdr_val": "res.hdr_val", "hdr_ip": "res.hdr_ip"}


def to_str(value: Any) -> str | None:
    """A sample as text, HAProxy's way; None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _lower(value: Any) -> Any:
    text = to_str(value)
    return None if text is None else text.lower()


def _upper(value: Any) -> Any:
    text = to_str(value)
    return None if text is None else text.upper()


def _length(value: Any) -> Any:
    text = to_str(value)
    return None if text is None else len(text)


# name -> (function on one value, output type)
CONVERTERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "lower": (_lower, "str"),
    "upper": (_upper, "str"),
    "length": (_length, "int"),
}


def split_call(text: str) -> tuple[str, list[str]]:
    """`name(a,b)` -> ("name", ["a", "b"]); `name` -> ("name", [])."""
    paren = text.find("(")
    if paren < 0:
        return text, []
    if not text.endswith(")"):
        raise FetchError(f"missing closing ')' after arguments to '{text[:paren]}'")
    inner = text[paren + 1 : -1]
    return text[:paren], inner.split(",") if inner else []


def split_top(text: str) -> list[str]:
    """Split a sample expression at the commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def build_fetch(name: str, args: list[str], direction: int = USE_REQ) -> Fetch:
    """Compile one fetch call; FetchError with HAProxy's text when wrong."""
    if direction == USE_RES and name in _DIRECTIONAL:
        name = _DIRECTIONAL[name]
    fdef = FETCHES.get(name)
    if fdef is None:
        raise FetchError(f"unknown fetch method '{name}'")
    if len(args) < fdef.min_args:
        raise FetchError(f"fetch method '{name}' : missing arguments (got {len(args)}/{fdef.min_args})")
    if len(args) > fdef.max_args:
        raise FetchError(f"fetch method '{name}' : end of arguments expected at position {fdef.max_args + 1}, "
                         f"but got '{args[fdef.max_args]}'")  # fmt: skip
    one, every = fdef.build(args)
    return Fetch(name, fdef.type, fdef.use, one, every)


def compile_sample(text: str, direction: int = USE_REQ) -> Fetch:
    """`fetch(args),conv,...` -> Fetch."""
    if not text:
        raise FetchError("missing fetch method")
    first, *converters = split_top(text)
    name, args = split_call(first)
    if not name:
        raise FetchError("missing fetch method")
    compiled = build_fetch(name, args, direction)
    for conv_text in converters:
        compiled = apply_converter(compiled, conv_text)
    return compiled


def apply_converter(compiled: Fetch, text: str) -> Fetch:
    name, _args = split_call(text)
    entry = CONVERTERS.get(name)
    if entry is None:
        raise FetchError(f"unknown converter '{name}'")
    func, out_type = entry
    one, every = compiled.one, compiled.all

    def conv_one(txn: Any) -> Any:
        return func(one(txn))

    def conv_all(txn: Any) -> list[Any]:
        return [func(v) for v in every(txn)]

    return Fetch(compiled.name, out_type, compiled.use, conv_one, conv_all)


def usable_in(compiled: Fetch, direction: int) -> bool:
    """False when the fetch can never find its sample in rules of `direction`."""
    return bool(compiled.use & direction)


__all__ = ["compile_sample", "build_fetch", "to_str", "split_call", "split_top", "usable_in", "Ip",
           "FetchError", "USE_REQ", "USE_RES"]  # fmt: skip
