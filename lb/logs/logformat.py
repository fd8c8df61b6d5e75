"""log-format strings: parsed once at config load, compiled into one generated function (master; worker runs it).

Parsing follows HAProxy 2.6 `parse_logformat_string()` (same error texts):
`%alias`, `%{+Q,-M}alias`, `%[sample]`, `%%`, literal text, and blanks as
separators that are merged: a separator is written only when something was
written since the previous one, so an empty `%hr` does not leave two spaces.

The compiler turns the node list into the source of a single function
`render(r, c) -> str` (r: LogRecord, c: RenderContext) built around one
f-string: fields that always print something are inlined; the few that may
print nothing (captures, %HQ, `-M` strings) are evaluated first and the
separators around them become conditionals.  Which separators need a test is
decided here, once, so the default formats render with no test at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from lb.logs import aliases, samples
from lb.logs.aliases import ALIASES, FLAG_BITS, OPT_MANDATORY, Alias
from lb.logs.steps import SEP, TEXT, Step, alias_step, fallback_step

# HAProxy src/log.c, verbatim.
TCPLOG = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
HTTPLOG = ("%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq "
           "%hr %hs %{+Q}r")
HTTPLOG_CLF = ('%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc '
               "%bc %sc %rc %sq %bq %CC %CS %hrl %hsl")
TCPLOG_CLF = ('%{+Q}o %{-Q}ci - - [%T] "TCP " 000 %B "" "" %cp %ms %ft %b %s %Th %Tw %Tc %Tt %U %ts-- %ac %fc '
              '%bc %sc %rc %sq %bq "" "" ')  # HAProxy >= 3.0; 2.6 has no `option tcplog clf`
STYLES = {"tcplog": TCPLOG, "httplog": HTTPLOG, "httplog clf": HTTPLOG_CLF, "tcplog clf": TCPLOG_CLF}


class FormatError(ValueError):
    """A format HAProxy rejects; the message is HAProxy's text after 'failed to parse log-format : '."""


@dataclass
class Node:
    kind: str  # "text" | "sep" | "alias" | "sample"
    text: str = ""
    alias: Alias | None = None
    sample: samples.SampleExpr | None = None
    opts: int = OPT_MANDATORY
    notes: list[str] = field(default_factory=list)  # tolerated problems (samples)


class RenderContext:
    """Per-logger values some aliases print: %pid, %H, %lc."""

    __slots__ = ("pid", "hostname", "log_count")

    def __init__(self, pid: int = 0, hostname: str = "") -> None:
        self.pid = pid
        self.hostname = hostname
        self.log_count = 0


@dataclass
class CompiledFormat:
    text: str
    mode: str
    nodes: list[Node]
    render: Callable[[Any, RenderContext], str]
    source: str
    http_only: list[tuple[str, str]]  # ("format alias" | "sample fetch", name): HTTP-only items used
    notes: list[str]  # other tolerated problems, one warning each
    steps: list[Step] = field(default_factory=list)  # the same format for lb.logs.render (compiled)


# -- parsing -------------------------------------------------------------------------------------


def _apply_flags(opts: int, args: str) -> int:
    for item in args.split(","):
        sign, bit = item[:1], FLAG_BITS.get(item[1:])
        if sign not in ("+", "-") or bit is None:
            continue  # HAProxy ignores unknown flags
        opts = opts | bit if sign == "+" else opts & ~bit
    return opts


def _scan_sample(fmt: str, start: int) -> tuple[samples.SampleExpr, int]:
    """Parse `fetch(args),conv(args)...` from fmt[start:]; return it and the index of ']'."""
    i, n = start, len(fmt)

    def word(j: int) -> int:
        while j < n and (fmt[j].isalnum() or fmt[j] in "._-"):
            j += 1
        return j

    def arguments(j: int) -> tuple[list[str], int]:
        if j < n and fmt[j] == "(":
            close = fmt.find(")", j)
            if close < 0:
                raise FormatError(f"missing ']' after '{fmt[start:]}'")
            return [a.strip() for a in fmt[j + 1 : close].split(",") if a.strip()], close + 1
        return [], j

    end = word(i)
    expr = samples.SampleExpr(text="", fetch=fmt[i:end])
    expr.args, i = arguments(end)
    while i < n and fmt[i] == ",":
        end = word(i + 1)
        _conv_args, after = arguments(end)
        expr.converters.append(fmt[i + 1 : after])  # with its arguments: lb.rules converters apply it
        i = after
    if i >= n:
        raise FormatError(f"missing ']' after '{fmt[start:]}'")
    if fmt[i] != "]":
        raise FormatError(f"expected ']' after '{fmt[start:i]}', but found '{fmt[i]}'")
    expr.text = fmt[start:i]
    return expr, i


def parse_format(fmt: str) -> list[Node]:
    """Split a log-format string into nodes; FormatError with HAProxy's message."""
    nodes: list[Node] = []
    default_opts = OPT_MANDATORY
    text: list[str] = []
    i, n = 0, len(fmt)

    def flush() -> None:
        if text:
            nodes.append(Node("text", "".join(text)))
            text.clear()

    while i < n:
        char = fmt[i]
        if char == " ":
            flush()
            nodes.append(Node("sep"))
            i += 1
            continue
        if char != "%" or fmt[i + 1 : i + 2] == "%":  # '%%' is a literal '%'
            text.append(char)
            i += 1 if char != "%" else 2
            continue
        flush()
        i, default_opts = _parse_percent(fmt, i + 1, nodes, default_opts)
    flush()
    return nodes


def _parse_percent(fmt: str, i: int, nodes: list[Node], default_opts: int) -> tuple[int, int]:
    """Parse what follows a '%' at fmt[i]; return the next index and the default flags."""
    n = len(fmt)
    if i >= n:
        raise FormatError("truncated line after '%'")
    char, args = fmt[i], None
    if char == "{":
        close = fmt.find("}", i + 1)
        if close < 0:
            raise FormatError(f"truncated line after '{fmt[i + 1:]}'")
        args, i = fmt[i + 1 : close], close + 1
        if i >= n or not (fmt[i] == "[" or fmt[i].isalnum()):
            raise FormatError(f"parse argument modifier without variable name near '%{{{args}}}'")
        char = fmt[i]
    opts = _apply_flags(default_opts, args) if args else default_opts
    if char == "[":
        expr, close = _scan_sample(fmt, i + 1)
        node = Node("sample", sample=expr, opts=opts)
        try:
            node.notes = samples.check(expr, fmt[i + 1 :])
        except samples.SampleError as exc:
            raise FormatError(str(exc)) from None
        nodes.append(node)
        return close + 1, default_opts
    if char.isalpha() or (args is not None and char.isalnum()):
        end = i
        while end < n and fmt[end].isalnum():
            end += 1
        name = fmt[i:end]
        if name not in ALIASES:
            raise FormatError(f"no such format variable '{name}'. If you wanted to emit the '%' character "
                              "verbatim, you need to use '%%'")
        if name == "o":  # %o only sets the flags of the nodes that follow
            return end, opts
        nodes.append(Node("alias", alias=ALIASES[name], opts=opts))
        return end, default_opts
    if char.isdigit() or char in " \t":
        raise FormatError(f"unexpected variable name near '{char}' at position {i} line : '{fmt}'. "
                          "Maybe you want to write a single '%', use the syntax '%%'")
    return i, default_opts  # any other char: HAProxy drops the '%' and keeps the char as text


# -- compiling -----------------------------------------------------------------------------------


def _literal(text: str) -> str:
    """`text` escaped for the inside of f"..."."""
    out = []
    for char in text:
        if char in "{}":
            out.append(char * 2)
        elif char in '\\"':
            out.append("\\" + char)
        elif ord(char) < 32 or char == "\x7f":
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


class _Builder:
    """Collects the statements and the f-string body of the generated function."""

    SPACE, SOLID = "space", "solid"

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = dict(aliases.NAMESPACE)
        self.statements: list[str] = []
        self.body: list[str] = []
        # SPACE: the last thing written is a separator (or nothing yet); SOLID: a
        # value; a tuple of variables: a separator unless one of them is non-empty.
        self.state: str | tuple[str, ...] = self.SPACE

    def separator(self) -> None:
        if self.state == self.SOLID:
            self.body.append(" ")
        elif isinstance(self.state, tuple):
            self.body.append("{_SP if (" + " or ".join(self.state) + ") else _E}")
        self.state = self.SPACE

    def text(self, text: str) -> None:
        self.body.append(_literal(text))
        self.state = self.SOLID

    def part(self, index: int, part: aliases.Part) -> None:
        prefix = f"_n{index}_"
        expr = part.expr.replace("{p}", prefix)
        self.namespace.update({prefix + name: helper for name, helper in part.helpers.items()})
        if not part.maybe_empty:
            self.body.append("{" + expr + "}")
            self.state = self.SOLID
            return
        var = f"v{index}"
        self.statements.append(f"{var} = {expr}")
        self.body.append("{" + var + "}")
        if self.state == self.SPACE:
            self.state = (var,)
        elif isinstance(self.state, tuple):
            self.state = (*self.state, var)

    def source(self) -> str:
        lines = ["def render(r, c):"]
        lines += [f"    {statement}" for statement in self.statements]
        lines.append('    return f"' + "".join(self.body) + '"')
        return "\n".join(lines) + "\n"


def compile_format(text: str, mode: str) -> CompiledFormat:
    """Parse and compile `text` for a proxy in `mode` ("tcp" | "http"); FormatError if invalid."""
    nodes = parse_format(text)
    builder = _Builder()
    http_only: list[tuple[str, str]] = []
    notes: list[str] = []
    steps: list[Step] = []
    for index, node in enumerate(nodes):
        if node.kind == "sep":
            builder.separator()
            steps.append(Step(SEP))
        elif node.kind == "text":
            builder.text(node.text)
            steps.append(Step(TEXT, 0, node.text))
        elif node.kind == "alias":
            assert node.alias is not None
            if node.alias.http_only:
                http_only.append(("format alias", node.alias.name))
            part = aliases.render_part(node.alias, node.opts, mode)
            builder.part(index, part)
            steps.append(alias_step(node.alias, node.opts, mode, part.helpers,
                                    lambda part=part: fallback_step(part, node.opts).call))  # fmt: skip
        else:
            assert node.sample is not None
            if samples.http_only(node.sample):
                http_only.append(("sample fetch", node.sample.fetch))
            notes.extend(node.notes)
            part = samples.sample_part(node.sample, node.opts)
            builder.part(index, part)
            steps.append(fallback_step(part, node.opts))
    source = builder.source()
    namespace = builder.namespace
    exec(compile(source, f"<log-format {text!r}>", "exec"), namespace)  # noqa: S102 (our own generated code)
    return CompiledFormat(text, mode, nodes, namespace["render"], source, http_only, notes, steps)
