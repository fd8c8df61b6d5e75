"""Conditional blocks and message directives of configuration files (master, cli).

HAProxy's preprocessor (doc/configuration.txt 2.4, src/cfgcond.c):

    .if <cond>  /  .elif <cond>  /  .else  /  .endif
    .diag "msg" / .notice "msg" / .warning "msg" / .alert "msg"

A condition is a boolean expression over terms: an integer (non-zero is
true), `(expr)`, `!term`, or a predicate among `defined(<var>)`,
`feature(<name>)`, `streq(<a>,<b>)`, `strneq(<a>,<b>)`,
`version_atleast(<ver>)`, `version_before(<ver>)`; terms combine with
`&&`, which binds tighter than `||`.  The words of a `.if` line are joined
with single spaces before the expression is parsed, as HAProxy does.

Versions are compared with the HAProxy release whose behaviour lb follows
(lb.features.MODELED_HAPROXY_VERSION), so that `.if version_atleast(2.4)`
in a file written for HAProxy picks the same branch.  `feature(NAME)` is
true for what an lb module declared in lb.features (OPENSSL, EPOLL ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from lb import features
from lb.config.lexer import caret_message
from lb.config.model import LOC_PARSING_TIGHT, Diagnostic, Location

MAX_NESTED_CONDS = 10  # HAProxy's MAXNESTEDCONDS
MAX_RECURSION = 64
PREDICATES = {"defined": 1, "feature": 1, "streq": 2, "strneq": 2, "version_atleast": 1, "version_before": 1}
BLOCK_DIRECTIVES = (".if", ".elif", ".else", ".endif")
MESSAGE_DIRECTIVES = {".diag": "DIAG", ".notice": "NOTICE", ".warning": "WARNING", ".alert": "ALERT"}
_NUMBER_RE = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|[1-9][0-9]*|0[0-7]*)")
_BLANK = " \t"


class CondError(Exception):
    """A condition that does not parse; `index` points at the offending character."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def version_tuple(text: str) -> tuple[int, ...]:
    """`2.6.12-1+deb12u4` -> (2, 6, 12): the leading dotted numbers."""
    numbers = re.match(r"\d+(?:\.\d+)*", text)
    return tuple(int(n) for n in numbers.group(0).split(".")) if numbers else ()


def _compare_version(wanted: str) -> int:
    """<0, 0, >0 as the modeled HAProxy release is before, equal to or after `wanted`."""
    current, other = list(version_tuple(features.MODELED_HAPROXY_VERSION)), list(version_tuple(wanted))
    width = max(len(current), len(other))
    current += [0] * (width - len(current))
    other += [0] * (width - len(other))
    return (current > other) - (current < other)


_EVALUATORS: dict[str, Callable[[list[str], Mapping[str, str]], bool]] = {
    "defined": lambda args, env: args[0] in env,
    "feature": lambda args, env: features.has(args[0]),
    "streq": lambda args, env: args[0] == args[1],
    "strneq": lambda args, env: args[0] != args[1],
    "version_atleast": lambda args, env: _compare_version(args[0]) >= 0,
    "version_before": lambda args, env: _compare_version(args[0]) < 0,
}


class _Parser:
    """Recursive descent over one expression; evaluation happens after parsing,
    so an error anywhere is reported even where `&&`/`||` would short-circuit."""

    def __init__(self, text: str, env: Mapping[str, str]) -> None:
        self.text, self.env = text, env

    def at(self, i: int) -> str:
        return self.text[i] if i < len(self.text) else ""

    def skip(self, i: int) -> int:
        while self.at(i) and self.at(i) in _BLANK:
            i += 1
        return i

    def expr(self, i: int, depth: int) -> tuple[Callable[[], bool], int]:
        return self._chain(i, depth, "||", self.conj, any, "unparsable conditional expression")

    def conj(self, i: int, depth: int) -> tuple[Callable[[], bool], int]:
        return self._chain(i, depth, "&&", self.term, all, "unparsable conditional sub-expression")

    def _chain(self, i, depth, op, sub, combine, what):  # type: ignore[no-untyped-def]
        if depth <= 0 or not self.at(i):
            raise CondError(f"{what} '{self.text[i:]}'", i)
        first, i = sub(i, depth - 1)
        parts = [first]
        j = self.skip(i)
        while self.text.startswith(op, j):
            part, i = sub(self.skip(j + 2), depth - 1)
            parts.append(part)
            j = self.skip(i)
        return (lambda: combine(p() for p in parts)), j

    def term(self, start: int, depth: int) -> tuple[Callable[[], bool], int]:
        i = self.skip(start)
        if not self.at(i) or depth <= 0:
            raise CondError(f"unparsable conditional expression '{self.text[start:]}'", start)
        negate = False
        while self.at(i) == "!":
            negate, i = not negate, self.skip(i + 1)
        value, i = self.operand(i, start, depth)
        return (lambda: value() != negate), i

    def operand(self, i: int, start: int, depth: int) -> tuple[Callable[[], bool], int]:
        number = _NUMBER_RE.match(self.text, i)
        if number:  # strtol(.., 0): any non-zero integer is true, in any base
            truth = number.group(0).lstrip("+-0xX") != ""
            return (lambda: truth), number.end()
        if self.at(i) == "(":
            inner, i = self.expr(self.skip(i + 1), depth - 1)
            i = self.skip(i)
            if self.at(i) != ")":
                raise CondError(f"expected ')' after conditional expression '{self.text[start:]}'", start)
            return inner, self.skip(i + 1)
        name = re.match(r"[^ (]*", self.text[i:]).group(0)  # type: ignore[union-attr]
        if name not in PREDICATES:
            raise CondError(f"unparsable conditional expression '{self.text[start:]}'", start)
        args, end = self.arguments(i + len(name), name)
        evaluate = _EVALUATORS[name]
        return (lambda: evaluate(args, self.env)), end

    def arguments(self, i: int, name: str) -> tuple[list[str], int]:
        """make_arg_list(): `(a,b)` with quotes and backslashes inside the arguments."""
        wanted = PREDICATES[name]
        if self.at(i) != "(":
            raise self._arg_error(f"missing arguments (got 0/{wanted}), type 'string' expected", 0, name, i)
        args: list[str] = []
        i += 1
        while len(args) < wanted:
            arg, i = self.argument(i)
            args.append(arg)
            if self.at(i) != "," or len(args) == wanted:
                break
            i += 1
        if len(args) < wanted:
            raise self._arg_error(f"missing arguments (got {len(args)}/{wanted}), type 'string' expected",
                                  len(args), name, i)  # fmt: skip
        if self.at(i) != ")":
            rest = self.text[i:]
            what = f"expected ')' before '{rest}'" if rest else "expected ')'"
            raise self._arg_error(what, len(args), name, i)
        return args, i + 1

    def argument(self, i: int) -> tuple[str, int]:
        out: list[str] = []
        squote = dquote = False
        while c := self.at(i):
            if c == '"' and not squote:
                dquote, i = not dquote, i + 1
            elif c == "'" and not dquote:
                squote, i = not squote, i + 1
            elif c == "\\" and not squote and self.at(i + 1):
                nxt = self.at(i + 1)
                out.append({"r": "\r", "n": "\n", "t": "\t"}.get(nxt, nxt) if nxt in "\\ \"'rnt" else "\\")
                i += 2 if nxt in "\\ \"'rnt" else 1
            elif not squote and not dquote and c in ",)":
                break
            else:
                out.append(c)
                i += 1
        return "".join(out), i

    @staticmethod
    def _arg_error(what: str, position: int, name: str, i: int) -> CondError:
        return CondError(f"{what} in argument {position} of predicate '{name}' used in conditional expression", i)


def evaluate(text: str, env: Mapping[str, str]) -> bool:
    """The truth of a `.if` expression; CondError when it does not parse."""
    if not text:
        return False  # HAProxy: an empty condition is false
    parser = _Parser(text, env)
    value, end = parser.expr(0, MAX_RECURSION)
    end = parser.skip(end)
    if end < len(text):
        raise CondError(f"unexpected character '{text[end]}' at the end of conditional expression '{text}'", end)
    return value()


# Block states, as HAProxy's nested_cond_state: TAKE = lines are used.
IF_TAKE, IF_DROP, IF_SKIP, ELIF_TAKE, ELIF_DROP, ELIF_SKIP, ELSE_TAKE, ELSE_DROP = range(8)
_DROPPING = {IF_DROP, IF_SKIP, ELIF_DROP, ELIF_SKIP, ELSE_DROP}
_DECIDED = {IF_TAKE, IF_SKIP, ELIF_TAKE, ELIF_SKIP}  # a branch was already taken (or all are skipped)


@dataclass
class Blocks:
    """The `.if` nesting of one file; `active` says whether lines are used."""

    env: Mapping[str, str]
    stack: list[int] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return not (self.stack and self.stack[-1] in _DROPPING)

    def handle(self, words: list[str], loc: Location) -> list[Diagnostic]:
        """Apply a block directive; return its diagnostics (HAProxy's texts)."""
        kind, expression = words[0], " ".join(words[1:])
        if kind in (".else", ".endif") and len(words) > 1:
            return [_alert(f"Unexpected argument '{words[1]}' for '{kind}'.", loc)]
        if kind != ".if" and not self.stack:
            return [_alert(f"lone '{kind}' with no matching '.if'.", loc)]
        if kind == ".if":
            return self._open(expression, loc)
        if kind == ".endif":
            self.stack.pop()
            return []
        if self.stack[-1] in (ELSE_TAKE, ELSE_DROP):
            return [_alert(f"'{kind}' after '.else' is not permitted.", loc)]
        if kind == ".else":
            self.stack[-1] = ELSE_DROP if self.stack[-1] in _DECIDED else ELSE_TAKE
            return []
        if self.stack[-1] in _DECIDED:
            self.stack[-1] = ELIF_SKIP
            return []
        return self._decide(kind, expression, loc, ELIF_TAKE, ELIF_DROP)

    def _open(self, expression: str, loc: Location) -> list[Diagnostic]:
        if len(self.stack) + 1 >= MAX_NESTED_CONDS:
            self.stack.append(IF_SKIP)  # keeps .endif balanced
            return [_alert(f"too many nested '.if', max is {MAX_NESTED_CONDS}.", loc)]
        if not self.active:
            self.stack.append(IF_SKIP)
            return []
        self.stack.append(IF_DROP)
        return self._decide(".if", expression, loc, IF_TAKE, IF_DROP)

    def _decide(self, kind: str, expression: str, loc: Location, take: int, drop: int) -> list[Diagnostic]:
        try:
            self.stack[-1] = take if evaluate(expression, self.env) else drop
        except CondError as err:
            # HAProxy aborts here; lb drops the block and goes on reporting.
            self.stack[-1] = drop
            shown = f"{kind} {expression}"
            what = f"{err} in '{kind}'"
            return [_alert(caret_message(what, shown, err.index + len(kind) + 1, -(len(kind) + 1)), loc)]
        return []

    def finish(self, last_line: Location) -> list[Diagnostic]:
        """At the end of the file (`last_line`): an unterminated `.if` is an error."""
        return [_alert("non-terminated '.if' block.", last_line)] if self.stack else []


def message_directive(words: list[str], loc: Location) -> Diagnostic:
    """`.warning "text"` and friends -> the diagnostic HAProxy prints for them."""
    if len(words) > 2:
        return _alert(
            f"Unexpected argument '{words[2]}' for '{words[0]}'. Use quotes if the message should contain spaces.",
            loc,
        )
    if words[0] not in MESSAGE_DIRECTIVES:
        return _alert(f"unknown directive '{words[0]}'.", loc)
    text = words[1] if len(words) > 1 else ""
    return Diagnostic(MESSAGE_DIRECTIVES[words[0]], f"'{text}'.", loc, LOC_PARSING_TIGHT)


def _alert(message: str, loc: Location) -> Diagnostic:
    return Diagnostic("ALERT", message, loc, LOC_PARSING_TIGHT)
