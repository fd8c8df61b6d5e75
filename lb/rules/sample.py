"""Sample expressions: `fetch(args),converter(args),...` compiled into a Fetch (master, cli; runs in worker).

Used by ACL criteria (`hdr(host),lower -m beg www.`), by `%[...]` in rule
values and by `set-var(...) <expr>`.  Arguments are split the way
HAProxy's make_arg_list() does: commas and `)` end an argument unless
quoted ('...' or "..."), backslashes escape `\\ ' " ` and space and write
\\r \\n \\t.  Converters are lb.rules.converters' (HAProxy 2.6's list, each
with its input and output types); a converter whose input type the
previous step cannot be cast to is refused at load, with HAProxy's text.
`to_str()` is how a sample prints (booleans as 0/1, addresses in their
usual text form, binary up to its first NUL).
"""

from __future__ import annotations

from typing import Any

import lb.rules.fetches_extra  # noqa: F401  (registers unique-id, capture, PROXY TLV and server fetches)
import lb.rules.fetches_misc  # noqa: F401  (registers cookie, connection and variable fetches)
import lb.rules.fetches_payload  # noqa: F401  (registers req.len, req.payload, req.ssl_sni ...)
import lb.sticktables.fetches  # noqa: F401  (registers sc_*, src_*, table_* ...)
from lb.rules.addr import Ip
from lb.rules.converters import CONVERTERS, ArgError
from lb.rules.fetches import FETCHES, USE_REQ, USE_RES, Fetch, FetchError
from lb.rules.samptypes import cast, castable, to_text

# Fetch names that follow the rule's direction in sample context (cfg: "hdr()
# is equivalent to req.hdr() when used on requests, and to res.hdr() on responses").
_DIRECTIONAL = {"hdr": "res.hdr", "hdr_cnt": "res.hdr_cnt", "hdr_val": "res.hdr_val", "hdr_ip": "res.hdr_ip"}
_ESCAPES = {"\\": "\\", " ": " ", '"': '"', "'": "'", "r": "\r", "n": "\n", "t": "\t"}
_IDCHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def to_str(value: Any) -> str | None:
    """A sample as text, HAProxy's way; None stays None."""
    return to_text(value)


def parse_args(text: str, start: int) -> tuple[list[str], int]:
    """The arguments of `name(...)` from just after the `(`: (args, index after the `)`).

    FetchError when the `)` is missing."""
    args: list[str] = []
    current: list[str] = []
    squote = dquote = False
    i = start
    while i < len(text):
        char = text[i]
        if char == '"' and not squote:
            dquote = not dquote
        elif char == "'" and not dquote:
            squote = not squote
        elif char == "\\" and not squote and i + 1 < len(text):
            nxt = text[i + 1]
            current.append(_ESCAPES.get(nxt, "\\" + nxt) if nxt in _ESCAPES else "\\")
            i += 2 if nxt in _ESCAPES else 1
            continue
        elif not squote and not dquote and char in ",)":
            args.append("".join(current))
            current = []
            if char == ")":
                return ([] if args == [""] else args), i + 1
        else:
            current.append(char)
        i += 1
    raise FetchError("missing closing ')' after arguments")


def _name_at(text: str, i: int) -> int:
    while i < len(text) and text[i] in _IDCHARS:
        i += 1
    return i


def scan(text: str, start: int = 0) -> tuple[list[tuple[str, list[str]]], int]:
    """`fetch(args),conv(args),...` from `start`: the calls and where the expression ends
    (the first character that cannot continue it, e.g. the `]` of `%[...]`)."""
    calls: list[tuple[str, list[str]]] = []
    i = start
    while True:
        end = _name_at(text, i)
        name = text[i:end]
        args: list[str] = []
        if end < len(text) and text[end] == "(":
            try:
                args, end = parse_args(text, end + 1)
            except FetchError:
                raise FetchError(f"missing closing ')' after arguments to '{name}'") from None
        calls.append((name, args))
        if end < len(text) and text[end] == ",":
            i = end + 1
            while i < len(text) and text[i] == ",":
                i += 1  # HAProxy skips doubled commas
            continue
        return calls, end


def split_call(text: str) -> tuple[str, list[str]]:
    """`name(a,b)` -> ("name", ["a", "b"]); `name` -> ("name", [])."""
    calls, end = scan(text)
    if end != len(text) or len(calls) != 1:
        name = text.split("(", 1)[0]
        raise FetchError(f"missing comma after fetch keyword '{name}'")
    return calls[0]


def split_top(text: str) -> list[str]:
    """Split a sample expression at the commas outside parentheses and quotes."""
    parts, depth, start, quote = [], 0, 0, ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"" and depth:
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part for part in parts if part] or [""]


def build_fetch(name: str, args: list[str], direction: int = USE_REQ) -> Fetch:
    """Compile one fetch call; FetchError with HAProxy's text when wrong."""
    if direction == USE_RES and name in _DIRECTIONAL:
        name = _DIRECTIONAL[name]
    fdef = FETCHES.get(name)
    if fdef is None:
        raise FetchError(f"unknown fetch method '{name}'")
    if len(args) < fdef.min_args:  # HAProxy: a missing string argument is empty (`str()`)
        args = args + [""] * (fdef.min_args - len(args))
    if len(args) > fdef.max_args:
        raise FetchError(f"fetch method '{name}' : end of arguments expected at position {fdef.max_args + 1}, "
                         f"but got '{args[fdef.max_args]}'")  # fmt: skip
    one, every = fdef.build(args)
    return Fetch(name, fdef.type, fdef.use, one, every)


def compile_sample(text: str, direction: int = USE_REQ) -> Fetch:
    """`fetch(args),conv,...` -> Fetch."""
    if not text:
        raise FetchError("missing fetch method")
    calls, end = scan(text)
    if end != len(text):
        raise FetchError(f"missing comma after {'converter' if len(calls) > 1 else 'fetch keyword'} "
                         f"'{calls[-1][0]}'")  # fmt: skip
    (name, args), *converters = calls
    if not name:
        raise FetchError("missing fetch method")
    compiled = build_fetch(name, args, direction)
    for conv_name, conv_args in converters:
        compiled = converted(compiled, conv_name, conv_args)
    return compiled


def apply_converter(compiled: Fetch, text: str) -> Fetch:
    """One `name(args)` converter step over `compiled` (ACL criteria)."""
    name, args = split_call(text)
    return converted(compiled, name, args)


def converted(compiled: Fetch, name: str, args: list[str]) -> Fetch:
    cdef = CONVERTERS.get(name)
    if cdef is None:
        raise FetchError(f"unknown converter '{name}'")
    if not castable(compiled.type, cdef.in_type):
        raise FetchError(f"converter '{name}' cannot be applied")
    if args and not cdef.max_args:
        raise FetchError(f"converter '{name}' does not support any args")
    if len(args) < cdef.min_args:  # as for fetches: missing string arguments are empty
        args = args + [""] * (cdef.min_args - len(args))
    if len(args) > cdef.max_args:
        raise FetchError(f"invalid arg {cdef.max_args + 1} in converter '{name}' : end of arguments expected at "
                         f"position {cdef.max_args + 1}, but got '{args[cdef.max_args]}'")  # fmt: skip
    try:
        func = cdef.build(args)
    except ArgError as exc:
        where = f"invalid arg {exc.position} in converter" if exc.position else "invalid args in converter"
        raise FetchError(f"{where} '{name}' : {exc}") from None
    return Fetch(compiled.name, cdef.out_type, compiled.use, *_chain(compiled, cdef.in_type, func))


def _chain(compiled: Fetch, in_type: str, func: Any) -> tuple[Any, Any]:
    one, every = compiled.one, compiled.all

    def step(value: Any, txn: Any) -> Any:
        value = cast(value, in_type)
        return None if value is None else func(value, txn)

    def conv_one(txn: Any) -> Any:
        return step(one(txn), txn)

    def conv_all(txn: Any) -> list[Any]:
        return [v for v in (step(value, txn) for value in every(txn)) if v is not None]

    return conv_one, conv_all


class _Holder:
    """What a converter chain built by `value_converters` runs on: one value, no variables."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def get_var(self, name: str) -> Any:
        return None


def value_converters(texts: list[str]) -> Any:
    """A function applying the converters `texts` (`["lower", "regsub(a,b)"]`) to a plain
    value, for samples computed outside a transaction (log lines); a converter reading
    a variable finds none.  FetchError with HAProxy's text when one is wrong."""
    chain = Fetch("value", "any", USE_REQ | USE_RES, lambda holder: holder.value, lambda holder: (holder.value,))
    for text in texts:
        chain = apply_converter(chain, text)
    one = chain.one
    return lambda value: None if value is None else one(_Holder(value))


def usable_in(compiled: Fetch, direction: int) -> bool:
    """False when the fetch can never find its sample in rules of `direction`."""
    return bool(compiled.use & direction)


__all__ = ["compile_sample", "build_fetch", "to_str", "split_call", "split_top", "scan", "parse_args", "usable_in",
           "Ip", "FetchError", "USE_REQ", "USE_RES", "CONVERTERS", "value_converters"]  # fmt: skip
