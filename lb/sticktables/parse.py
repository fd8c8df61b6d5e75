"""`stick-table` arguments into a TableConfig, with HAProxy 2.6's messages (master, cli).

    stick-table type {ip | ipv6 | integer | string [len <n>] | binary [len <n>]}
                size <n>[k|m|g] [expire <time>] [nopurge] [peers <p>] [srvkey name|addr]
                [store <type>[(<period>)][,<type>...]]...

Pure functions: `parse_table(words, name, warn)` returns the TableConfig or
raises TableError with HAProxy's message (warnings, such as a data type
stored twice, go to `warn` as they are found, before any error).
"""

from __future__ import annotations

from typing import Callable, Iterator

from lb.config.types import TimeValueError, parse_time
from lb.sticktables.model import ALIASES, ARRAY_TYPES, DATA_KIND, KEY_TYPES, TAKES_PERIOD, TableConfig

KW = "stick-table"


class TableError(ValueError):
    """A bad `stick-table` line: HAProxy's message, and whether it is printed
    right after the location's bracket (`parsing [f:l]: `) instead of `parsing [f:l] : `."""

    def __init__(self, message: str, tight: bool = False) -> None:
        super().__init__(message)
        self.message, self.tight = message, tight


def _alert(message: str) -> TableError:
    return TableError(f"{KW}: {message}")


def parse_size_err(text: str) -> tuple[int | None, str]:
    """HAProxy's parse_size_err(): (value, "") or (None, the offending character)."""
    if not text[:1].isdigit():
        return None, text[:1]
    pos, value = 0, 0
    while pos < len(text) and text[pos].isdigit():
        value = value * 10 + int(text[pos])
        if value > 0xFFFFFFFF:
            return None, text[pos]
        pos += 1
    if pos == len(text):
        return value, ""
    shift = {"k": 10, "m": 20, "g": 30}.get(text[pos].lower())
    if shift is None or value > 0xFFFFFFFF >> shift:
        return None, text[pos]
    if pos + 1 < len(text):
        return None, text[pos + 1]
    return value << shift, ""


def _atol(text: str) -> int:
    digits = ""
    for char in text.lstrip(" \t"):
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0


def parse_table(words: list[str], name: str, warn: Callable[[str], None]) -> TableConfig:
    """Parse the words after `stick-table`; TableError when wrong (warnings go to `warn` first)."""
    cfg = TableConfig(name)
    args, i = list(words) + ["", "", ""], 0
    while args[i]:
        word = args[i]
        if word in ("size", "expire", "peers", "srvkey") and not args[i + 1]:
            raise _alert(f"missing argument after '{word}'.")
        if word == "size":
            value, bad = parse_size_err(args[i + 1])
            if value is None:
                raise _alert(f"unexpected character '{bad}' in argument of 'size'.")
            cfg.size, i = value, i + 2
        elif word == "peers":
            i += 2  # accepted; synchronization between nodes is not implemented (README)
        elif word == "expire":
            cfg.expire, i = _expire(args[i + 1]), i + 2
        elif word == "nopurge":
            cfg.nopurge, i = True, i + 1
        elif word == "type":
            i = _type(cfg, args, i + 1)
        elif word == "store":
            _store(cfg, args[i + 1], warn)
            i += 2
        elif word == "srvkey":
            if args[i + 1] not in ("name", "addr"):
                raise TableError(f"{KW} : unknown server key type '{args[i + 1]}'.")
            cfg.srvkey, i = args[i + 1], i + 2
        else:
            raise _alert(f"unknown argument '{word}'.")
    if not cfg.size:
        raise _alert("missing size.")
    if not cfg.key_type:
        raise _alert("missing type.")
    return cfg


def _expire(text: str) -> int:
    try:
        return parse_time(text)
    except TimeValueError as exc:
        if exc.bad_char is None:
            raise TableError(f"{KW}: timer overflow in argument <{text}> to <expire>, maximum value is "
                             "2147483647 ms (~24.8 days).", tight=True) from None  # fmt: skip
        raise _alert(f"unexpected character '{exc.bad_char}' in argument of 'expire'.") from None


def _type(cfg: TableConfig, args: list[str], i: int) -> int:
    """`type <t> [len <n>]` from args[i]; returns the index after it."""
    entry = KEY_TYPES.get(args[i])
    if entry is None:
        raise _alert(f"unknown type '{args[i]}'.")
    key_type, size = args[i], entry[1]
    i += 1
    if entry[2] and args[i] == "len":
        size = _atol(args[i + 1])
        if not size:
            raise _alert(f"unknown type '{args[i + 1]}'.")
        size += 1 if key_type == "string" else 0  # HAProxy counts the string's NUL
        i += 2
    elif key_type == "string":
        size += 1
    cfg.key_type, cfg.key_size = key_type, size
    return i


def split_store(text: str) -> Iterator[tuple[str, str | None]]:
    """`a(10s),b` -> ("a", "10s"), ("b", None), walked as HAProxy does: an item is
    yielded before the next one is read, so its problems come first."""
    pos, size = 0, len(text)
    while pos < size:
        start, name_end, arg = pos, -1, None
        while pos < size and text[pos] != ",":
            if text[pos] == "(":
                end = text.find(")", pos + 1)
                if end < 0:
                    raise _alert(f"missing closing parenthesis after store option '{text[start:pos]}'.")
                name_end, arg, pos = pos, text[pos + 1 : end], end
            pos += 1
        yield text[start : name_end if name_end >= 0 else pos], arg
        pos += 1


def _store(cfg: TableConfig, text: str, warn: Callable[[str], None]) -> None:
    for name, arg in split_store(text):
        data_type = ALIASES.get(name, name)
        if data_type in ARRAY_TYPES:
            raise _alert(f"store option '{name}' (an array of counters) is not supported by lb.")
        if data_type not in DATA_KIND:
            raise _alert(f"unknown store option '{name}'.")
        if data_type in cfg.store:
            warn(f"{KW}: store option '{name}' already enabled, ignored.")
            continue
        if data_type in TAKES_PERIOD:
            if arg is None:
                raise _alert(f"missing argument to store option '{name}'.")
            try:
                cfg.store[data_type] = parse_time(arg.split(",")[0])
            except TimeValueError:
                raise _alert(f"error when processing store option '{name}'.") from None
        elif arg is not None:
            raise _alert(f"unexpected argument to store option '{name}'.")
        else:
            cfg.store[data_type] = 0
