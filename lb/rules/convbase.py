"""The converter table and what converter modules share: argument helpers, errors (worker; built in master, cli).

lb.rules.converters (strings and encodings) and lb.rules.converters_num
(arithmetic, hashes, digests, addresses) register into CONVERTERS; the
sample compiler (lb.rules.sample) reads it.
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

from lb.rules.fetches import VAR_SCOPES, FetchError
from lb.rules.samptypes import read_int64

Conv = Callable[[Any, Any], Any]  # (value cast to the input type, txn) -> value or None
Builder = Callable[[list[str]], Conv]


class ConvDef(NamedTuple):
    name: str
    in_type: str
    out_type: str
    build: Builder
    min_args: int = 0
    max_args: int = 0


CONVERTERS: dict[str, ConvDef] = {}


def converter(name: str, in_type: str, out_type: str, args: tuple[int, int] = (0, 0)) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        CONVERTERS[name] = ConvDef(name, in_type, out_type, build, *args)
        return build

    return register


def simple(name: str, in_type: str, out_type: str, func: Callable[[Any], Any]) -> None:
    """A converter without arguments that only looks at its input."""
    CONVERTERS[name] = ConvDef(name, in_type, out_type, lambda args: lambda value, txn: func(value))


class ArgError(FetchError):
    """A converter argument is wrong; `position` is 1-based, 0 for the argument list as a whole."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.position = position


# -- argument helpers --------------------------------------------------------------------------


def int_arg(args: list[str], index: int, default: int | None = None) -> int:
    """An integer argument (read_int64, nothing may follow the digits)."""
    if index >= len(args) or args[index] == "":
        if default is None:
            raise ArgError("missing arguments", index + 1)
        return default
    text = args[index]
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ArgError(f"failed to parse '{text}' as type 'signed integer'", index + 1)
    return read_int64(text)


def is_var_name(text: str) -> bool:
    scope, dot, rest = text.partition(".")
    return bool(dot and rest and scope in (*VAR_SCOPES, "check"))


def var_reader(name: str) -> Callable[[Any], Any]:
    return lambda txn: txn.get_var(name)
