"""Log-format strings in rule values, compiled once (master, cli; rendering in worker).

The value of `set-header`, `add-header`, `redirect location`, `return
lf-string`, `hdr` ... is a HAProxy log-format string (cfg §8.2.4).  lb
compiles the subset that makes sense in a rule value:
- literal text, `%%` for a percent sign;
- `%[expr]`: a sample expression (lb.rules.sample), e.g. `%[src]`,
  `%[req.hdr(host),lower]`; an absent sample prints nothing, as HAProxy
  does in header values;
- `%ci %cp %fi %fp %ID %ft %b %s %H %pid`;
- `%{...}` flag blocks are accepted and ignored.
This is independent from lb/logs/logformat.py, which formats log lines.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Callable

from lb.rules.fetches import USE_REQ, FetchError
from lb.rules.sample import compile_sample, scan, to_str

Render = Callable[[Any], str]

# HAProxy log variables lb does not render in rule values (they describe a
# finished stream): refused with a clear message instead of "no such variable".
_LOG_ONLY = frozenset("T Ta Tc Td Th Ti Tl Tq TR Tr Tt Tw ac B bc bi bp bq CC CS f fc hr hrl hs hsl HM HP HQ HU "
                      "HV lc ms o r rc rt sc si sp sq ST t tr trg trl ts tsc U".split())  # fmt: skip


class FormatError(ValueError):
    """A log-format string is wrong; the text is HAProxy's."""


def _variable(name: str) -> Render:
    if name == "ci":
        return lambda txn: txn.facts.client_ip
    if name == "cp":
        return lambda txn: str(txn.facts.client_port)
    if name == "fi":
        return lambda txn: txn.facts.dst_ip
    if name == "fp":
        return lambda txn: str(txn.facts.dst_port)
    if name == "ID":
        return lambda txn: txn.unique_id
    if name == "ft":
        return lambda txn: txn.frontend.name + ("~" if txn.facts.ssl else "") if txn.frontend else ""
    if name == "b":
        return lambda txn: (txn.backend or txn.frontend).name if (txn.backend or txn.frontend) else ""
    if name == "s":
        return lambda txn: txn.server.name if txn.server is not None else "<NOSRV>"
    if name == "H":
        host = socket.gethostname()
        return lambda txn: host
    if name == "pid":
        return lambda txn: str(os.getpid())
    if name in _LOG_ONLY:
        raise FormatError(f"format variable '{name}' is only available in log lines, not in lb rule values")
    raise FormatError(f"no such format variable '{name}'. If you wanted to emit the '%' character verbatim, "
                      "you need to use '%%'")  # fmt: skip


def _sample(expr: str, rest: str, direction: int) -> Render:
    try:
        compiled = compile_sample(expr, direction)
    except FetchError as exc:
        raise FormatError(f"failed to parse sample expression <{rest}> : {exc}") from None
    one = compiled.one

    def render(txn: Any) -> str:
        value = to_str(one(txn))
        return "" if value is None else value

    return render


def _sample_end(text: str, start: int) -> int:
    """Where the sample expression starting at `start` ends: it must be on a `]`
    (a `]` inside quotes or parentheses belongs to the expression, as in HAProxy)."""
    try:
        _calls, end = scan(text, start)
    except FetchError as exc:
        raise FormatError(f"failed to parse sample expression <{text[start:]}> : {exc}") from None
    if end < len(text) and text[end] == "]":
        return end
    if end < len(text) and text[end].isprintable():
        raise FormatError(f"expected ']' after '{text[start:end]}', but found '{text[end]}'")
    raise FormatError(f"missing ']' after '{text[start:end]}'")


def _parse(text: str, direction: int) -> list[str | Render]:
    parts: list[str | Render] = []
    literal: list[str] = []
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char != "%":
            literal.append(char)
            i += 1
            continue
        i += 1
        if i < size and text[i] == "%":
            literal.append("%")
            i += 1
            continue
        if i < size and text[i] == "{":
            close = text.find("}", i)
            if close < 0:
                raise FormatError(f"missing '}}' after '{text[i:]}'")
            i = close + 1
        if literal:
            parts.append("".join(literal))
            literal = []
        if i < size and text[i] == "[":
            close = _sample_end(text, i + 1)
            parts.append(_sample(text[i + 1 : close], text[i + 1 :], direction))
            i = close + 1
            continue
        start = i
        while i < size and text[i].isalpha():
            i += 1
        parts.append(_variable(text[start:i]))
    if literal:
        parts.append("".join(literal))
    return parts


class Format:
    """A compiled log-format string: `fmt(txn) -> str`."""

    __slots__ = ("text", "constant", "render")

    def __init__(self, text: str, direction: int = USE_REQ) -> None:
        self.text = text
        parts = _parse(text, direction)
        self.constant: str | None = None
        if all(isinstance(p, str) for p in parts):
            self.constant = "".join(parts)  # type: ignore[arg-type]
            const = self.constant
            self.render: Render = lambda txn: const
        elif len(parts) == 1:
            self.render = parts[0]  # type: ignore[assignment]
        else:
            renders = [p if callable(p) else (lambda txn, s=p: s) for p in parts]
            self.render = lambda txn: "".join([r(txn) for r in renders])

    def __call__(self, txn: Any) -> str:
        return self.render(txn)

    def __repr__(self) -> str:
        return f"Format({self.text!r})"


def literal(text: str) -> Format:
    """A Format that prints `text` as is (HAProxy's non-log-format values)."""
    fmt = Format("")
    fmt.text, fmt.constant = text, text
    fmt.render = lambda txn: text
    return fmt
