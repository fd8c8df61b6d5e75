"""Split HAProxy configuration text into words, line by line (master, cli).

The rules are those of HAProxy's `parse_line()` (doc/configuration.txt 2.2
"Quoting and escaping", 2.3 "Environment variables"):

- leading blanks are skipped; blanks separate words; `#` outside quotes
  starts a comment, even in the middle of a word; `\\r` ends the line,
  except within leading blanks or a run of blanks between words, where
  C's isspace() counts it as one of them;
- a backslash outside single quotes writes `\\ ` `\\\\` `\\#` `\\'` `\\"`
  as the character itself, `\\t \\n \\r` as control characters, `\\xHH` as
  that byte, `\\$` as `$` inside double quotes; any other backslash is kept;
- single quotes quote strongly (nothing is interpreted inside); double
  quotes quote weakly: backslashes and `$VAR`, `${VAR}`, `${VAR-default}`
  and `${VAR[*]}` (one word per blank-separated part of the value) are
  expanded inside them, and only there.  Unset variables expand to nothing.
  `${.LINE}`, `${.FILE}` and `${.SECTION}` are HAProxy's pseudo-variables;
- quotes join parts of one word: `"abc"'def'ghi` is one word; `""` is an
  empty word, except at the end of a line;
- a line is made of at most 64 words;
- lines end at LF; how a file is cut into lines, and the bounds on what is
  read, are lb.config.reader's.

Errors carry HAProxy's text, with the line echoed and a caret under the
offending character.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

from lb.config.model import Location
from lb.config.reader import END_EOF, END_LONG, END_NUL, MAX_LINE_BYTES, LineReader, RawLine, ReadProblem

MAX_LINE_ARGS = 64  # HAProxy's MAX_LINE_ARGS: words per line
_C_SPACES = " \t\n\v\f\r"  # C isspace(): a CR met inside a run of blanks is one of them
_LINE_END = "\r\n\0"
_HEX = "0123456789abcdefABCDEF"
_SIMPLE_ESCAPES = {" ": " ", "\\": "\\", "t": "\t", "n": "\n", "r": "\r", "#": "#", "'": "'", '"': '"'}


class LexError(ValueError):
    """A line that cannot be split.  `str()` is HAProxy's message, without location."""

    def __init__(self, message: str, loc: Location | None = None) -> None:
        super().__init__(message)
        self.loc = loc


@dataclass
class Line:
    words: list[str]
    loc: Location


class _SplitError(Exception):
    def __init__(self, what: str, index: int) -> None:
        super().__init__(what)
        self.what, self.index = what, index


def sanitize_for_printing(line: str, pos: int, width: int = 80) -> tuple[str, int]:
    """The line as HAProxy echoes it under an error, and the caret column.

    Blanks become ' ' and other non-printable characters '?' (C's isspace()
    and isprint()).  As HAProxy's sanitize_for_printing(): a line is cut
    at `width` characters, unless `pos` lies beyond them: then `pos` is
    centred and "..." written on both sides.
    """
    text = "".join(" " if c in _C_SPACES else c if " " <= c < "\x7f" else "?" for c in line)
    if pos < width:
        return text[:width], pos
    shift = pos - width // 2  # HAProxy centres the error, between two "..."
    return "..." + text[shift + 3 : shift + width - 3] + "...", pos - shift


def caret_message(what: str, line: str, index: int, offset: int = 0, width: int = 80) -> str:
    """HAProxy's "<what> at position N:\n  <line>\n  <spaces>^" error shape.

    HAProxy counts bytes: a character outside ASCII counts (and is echoed)
    as one '?' per byte of its UTF-8 form.
    """
    raw = line.encode("utf-8", "surrogateescape").decode("latin-1")  # one character per byte
    index = len(line[:index].encode("utf-8", "surrogateescape"))
    shown, column = sanitize_for_printing(raw, index, width)
    return f"{what} at position {offset + index + 1}:\n  {shown}\n  {' ' * column}^"


class _Splitter:
    """One pass over one line, as parse_line() does it."""

    def __init__(self, text: str, env: Mapping[str, str], pseudo: Mapping[str, str]) -> None:
        self.text, self.env, self.pseudo = text, env, pseudo
        self.words: list[str] = []
        self.current: list[str] = []

    def at(self, i: int) -> str:
        return self.text[i] if i < len(self.text) else ""

    def run(self) -> list[str]:
        squote = dquote = False
        quote_at = -1
        i = 0
        while (c := self.at(i)) and c not in _LINE_END:
            if c == "#" and not squote and not dquote:
                break
            if c == '"' and not squote:
                dquote, quote_at, i = not dquote, i, i + 1
            elif c == "'" and not dquote:
                squote, quote_at, i = not squote, i, i + 1
            elif c == "\\" and not squote:
                i = self.escape(i, dquote)
            elif c in _C_SPACES and not squote and not dquote:
                while self.at(i) and self.at(i) in _C_SPACES:
                    i += 1
                self.end_word()
            elif c == "$" and dquote:
                i = self.variable(i + 1)
            else:
                self.current.append(c)
                i += 1
        if squote or dquote:
            raise _SplitError("unmatched quote", quote_at)
        if self.current:  # an empty word at the end of the line does not count
            self.end_word()
        return self.words

    def end_word(self) -> None:
        self.words.append("".join(self.current))
        self.current = []

    def escape(self, i: int, dquote: bool) -> int:
        """Decode the backslash at `i`; return the index of the next character."""
        nxt = self.at(i + 1)
        if nxt in _SIMPLE_ESCAPES:
            self.current.append(_SIMPLE_ESCAPES[nxt])
            return i + 2
        if nxt == "$" and dquote:
            self.current.append("$")
            return i + 2
        if nxt == "x":
            digits = self.text[i + 2 : i + 4]
            if len(digits) != 2 or any(d not in _HEX for d in digits):
                raise _SplitError("truncated or invalid hexadecimal sequence", i)
            self.current.append(chr(int(digits, 16)))
            return i + 4
        self.current.append("\\")  # not an escape sequence: kept as written
        return i + 1

    def variable(self, i: int) -> int:
        """Expand the variable whose name starts at `i` (just after '$')."""
        brace = -1
        if self.at(i) == "{":
            brace, i = i, i + 1
        first = self.at(i)
        if not first or not (first.isascii() and (first.isalpha() or first in "_.")):
            raise _SplitError("forbidden first char in environment variable name", i)
        start = i
        i += 1 if first == "." else 0
        while (c := self.at(i)) and c.isascii() and (c.isalnum() or c == "_"):
            i += 1
        name = self.text[start:i]
        value = self.lookup(name, start)
        expand_words = False
        if self.at(i) == "[" and brace >= 0:
            if self.text[i : i + 3] != "[*]":
                raise _SplitError("truncated or invalid word expansion sequence", i)
            expand_words, i = True, i + 3
        if brace >= 0:
            i, value = self.close_brace(i, brace, value)
        self.emit_value(value or "", expand_words)
        return i

    def lookup(self, name: str, start: int) -> str | None:
        if name.startswith("."):
            if name not in (".LINE", ".FILE", ".SECTION"):
                raise _SplitError("forbidden first char in environment variable name", start)
            return self.pseudo.get(name, "")
        return self.env.get(name)

    def close_brace(self, i: int, brace: int, value: str | None) -> tuple[int, str | None]:
        """Handle `-default}` or `}` after a braced name; return (next index, value)."""
        if self.at(i) == "-":
            end = self.text.find("}", i)
            if end < 0:
                raise _SplitError("unmatched brace in environment variable name", brace)
            return end + 1, value if value is not None else self.text[i + 1 : end]
        if self.at(i) != "}":
            raise _SplitError("unmatched brace in environment variable name", brace)
        return i + 1, value

    def emit_value(self, value: str, expand_words: bool) -> None:
        """Append a variable's value; with `[*]`, each blank run in it splits words."""
        i = 0
        while i < len(value):
            if expand_words and value[i] in _C_SPACES:
                self.end_word()
                while i < len(value) and value[i] in _C_SPACES:
                    i += 1
            else:
                self.current.append(value[i])
                i += 1


def split_words(
    text: str, env: Mapping[str, str] | None = None, pseudo: Mapping[str, str] | None = None
) -> list[str]:
    """Split one line into words; LexError (HAProxy's text, with caret) when it cannot."""
    env = os.environ if env is None else env
    stripped = text.lstrip(_C_SPACES)  # readcfgfile() skips isspace(), a CR included
    offset = len(text) - len(stripped)
    try:
        words = _Splitter(stripped, env, pseudo or {}).run()
    except _SplitError as err:
        raise LexError(caret_message(err.what, stripped, err.index, offset)) from None
    if len(words) > MAX_LINE_ARGS:
        last = words[MAX_LINE_ARGS - 1]
        position = sum(len(w) + 1 for w in words[: MAX_LINE_ARGS - 1]) + 1
        raise LexError(
            f"too many words, truncating after word {MAX_LINE_ARGS}, position {position}: <{last}>."
        )
    return words


def lex(
    text: str,
    filename: str,
    env: Mapping[str, str] | None = None,
    pseudo: dict[str, str] | None = None,
) -> Iterator[Line | LexError]:
    """Yield a Line per non-empty line of `text`, or a LexError carrying its location."""
    return lex_lines(LineReader.of_text(text), filename, env, pseudo)


def lex_lines(
    lines: Iterable[RawLine | ReadProblem],
    filename: str,
    env: Mapping[str, str] | None = None,
    pseudo: dict[str, str] | None = None,
) -> Iterator[Line | LexError]:
    """Yield a Line per non-empty line read (lb.config.reader), or a LexError carrying its location.

    `pseudo` is updated with `.FILE` and `.LINE` before each line is split;
    the parser sets `.SECTION`.  A line cut by a NUL or missing its LF is
    still parsed, then reported the way HAProxy does; a NUL followed by
    more lines stops the file there.
    """
    pseudo = {} if pseudo is None else pseudo
    pseudo[".FILE"] = filename
    for raw in lines:
        loc = Location(filename, raw.number)
        if isinstance(raw, ReadProblem):
            yield LexError(raw.message, loc)
            return
        if raw.end == END_LONG:
            yield LexError(f"line too long (more than {MAX_LINE_BYTES} bytes), skipping it.", loc)
            continue
        pseudo[".LINE"] = str(raw.number)
        try:
            words = split_words(raw.text, env, pseudo)
        except LexError as exc:
            exc.loc = loc
            yield exc
            words = []
        if words and words[0]:  # HAProxy skips a line whose first word is empty
            yield Line(words, loc)
        if raw.end == END_NUL and raw.more:
            yield LexError(f"Stray NUL character at position {raw.position}.", loc)
        elif raw.end in (END_NUL, END_EOF):
            yield LexError(f"Missing LF on last line, file might have been truncated at position {raw.position}.", loc)
