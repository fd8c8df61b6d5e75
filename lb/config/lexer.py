"""Split HAProxy configuration text into words, line by line (master, cli).

The rules follow HAProxy's `parse_line()` (doc/configuration.txt 2.2-2.3):
words are separated by blanks; `#` starts a comment; a backslash escapes the
next character (`\\ `, `\\#`, `\\\\`, `\\'`, `\\"`) or writes `\\r \\n \\t \\xNN`;
single quotes quote strongly (nothing is interpreted inside), double quotes
quote weakly (escapes and `${VAR}` / `${VAR-default}` are expanded inside).
Quotes can join parts of one word: `"abc"'def'ghi` is one word.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterator, Mapping

from lb.config.model import Location

_ESCAPES = {"r": "\r", "n": "\n", "t": "\t", " ": " ", "#": "#", "\\": "\\", "'": "'", '"': '"'}
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:-([^}]*))?\}")


class LexError(ValueError):
    """A line that cannot be split (unmatched quote, bad escape)."""


@dataclass
class Line:
    words: list[str]
    loc: Location


def expand_env(text: str, env: Mapping[str, str]) -> str:
    """`${VAR}` -> its value ('' when unset); `${VAR-default}` -> value or default."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None:
            return default if default is not None else ""
        return value

    return _ENV_RE.sub(replace, text)


def _read_escape(text: str, i: int) -> tuple[str, int]:
    """Decode the escape starting at text[i] == '\\'; return (chars, next index)."""
    if i + 1 >= len(text):
        return "\\", i + 1
    nxt = text[i + 1]
    if nxt == "x":
        digits = text[i + 2 : i + 4]
        if len(digits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise LexError(f"truncated or invalid hexadecimal sequence at position {i + 1}")
        return chr(int(digits, 16)), i + 4
    if nxt in _ESCAPES:
        return _ESCAPES[nxt], i + 2
    return "\\" + nxt, i + 2  # unknown escapes are kept verbatim, as HAProxy does


def split_words(text: str, env: Mapping[str, str] | None = None) -> list[str]:
    """Split one logical line into words; LexError on an unmatched quote."""
    env = os.environ if env is None else env
    words: list[str] = []
    current: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                current.append(c)
            i += 1
        elif quote == '"':
            if c == '"':
                quote = ""
                i += 1
            elif c == "\\":
                chars, i = _read_escape(text, i)
                current.append(chars)
            elif c == "$" and text.startswith("${", i):
                end = text.find("}", i)
                if end < 0:
                    raise LexError(f"unterminated environment variable reference at position {i + 1}")
                current.append(expand_env(text[i : end + 1], env))
                i = end + 1
            else:
                current.append(c)
                i += 1
        elif c in " \t":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
        elif c == "#":
            break
        elif c == "\\":
            chars, i = _read_escape(text, i)
            current.append(chars)
            in_word = True
        elif c in "'\"":
            quote, in_word = c, True
            i += 1
        else:
            current.append(c)
            in_word = True
            i += 1
    if quote:
        raise LexError(f"unmatched quote ({quote}) in line")
    if in_word:
        words.append("".join(current))
    return words


def lex(text: str, filename: str, env: Mapping[str, str] | None = None) -> Iterator[Line | LexError]:
    """Yield a Line per non-empty line, or a LexError carrying its location."""
    for number, raw in enumerate(text.splitlines(), start=1):
        loc = Location(filename, number)
        try:
            words = split_words(raw.rstrip("\r"), env)
        except LexError as exc:
            exc.loc = loc  # type: ignore[attr-defined]
            yield exc
            continue
        if words:
            yield Line(words, loc)
