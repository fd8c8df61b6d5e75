"""`http-errors` sections, and `errorfiles` / `http-error` in proxies (master, cli; replies used in worker).

    http-errors site-1
        errorfile 404 /etc/haproxy/errors/404.http
    frontend fe
        errorfiles site-1 [404 ...]          # import all (or the listed) pages of a section
        http-error status 503 content-type text/plain string "Be right back"
        http-request deny deny_status 404 errorfiles site-1

As in HAProxy 2.6 (src/http_htx.c), `errorfile`, `errorfiles` and
`http-error` lines of a proxy apply in the order written, a later one
overriding an earlier one for the same status; sections may be declared
after the proxies that use them, so references are resolved once the whole
configuration is read.  `http-error` takes the arguments of `http-request
return` (payload, content type, `hdr` lines, log-format payloads, which are
then built per request); `default-errorfiles` drops the proxy's own page
for that status, so the frontend's or the built-in one is used.

The proxy's errorfile pages stay in `Proxy.errorfiles` (raw bytes, also what
the HTTP/1 layer sends for 400/408); replies that are not a raw file go to
`HttpSettings.error_replies` after lb.rules.keywords built it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lb.config.kw_proxy import proxy_of
from lb.config.model import LOC_HIDDEN, Config, Diagnostic, Location
from lb.config.registry import KwContext, KwError, keyword, post_parse, section
from lb.rules.fetches import USE_REQ
from lb.rules.errref import PENDING
from lb.rules.fmt import FormatError
from lb.rules.model import settings_for
from lb.rules.reply import parse_raw_response
from lb.rules.rule_reply import ReplyError, build_outcome, parse_reply_args

SECTION = "http-errors"
AREA = "http-errors"
# HAProxy 2.6's http_err_codes: the statuses an errorfile or http-error may replace
HANDLED = (200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504)
_SECTIONS = "http_errors"  # Config.global_.extras key: {name: ErrorsSection}
_CURRENT = "http_errors.current"
_NAME_RE = re.compile(r"[^A-Za-z0-9_.:-]")


@dataclass
class ErrorsSection:
    name: str
    loc: Location | None
    pages: dict[int, bytes] = field(default_factory=dict)


@dataclass
class Step:
    """One `errorfiles` or `http-error` line of a proxy, in declaration order."""

    kind: str  # "errorfiles" | "reply" | "default"
    codes: tuple[int, ...]
    snapshot: dict[int, Any]  # Proxy.errorfiles when the line was read: a later errorfile line wins
    name: str = ""  # errorfiles: the section
    explicit: bool = False  # errorfiles: codes listed (warn when the section lacks one)
    reply: Any = None  # reply: a Reply, or a callable(txn) -> Reply
    loc: Location | None = None


def _sections(config: Config) -> dict[str, ErrorsSection]:
    return config.global_.extras.setdefault(_SECTIONS, {})


@section(SECTION)
def sec_http_errors(ctx: KwContext, args: list[str]) -> None:
    sections = _sections(ctx.config)
    ctx.config.global_.extras[_CURRENT] = None
    if len(args) < 2 or not args[1]:
        ctx.alert("missing name for http-errors section.")
        return
    bad = _NAME_RE.search(args[1])  # HAProxy's invalid_char(), as for proxy names
    if bad:
        ctx.alert(f"character '{bad.group(0)}' is not permitted in '{args[0]}' name '{args[1]}'.")
    if args[1] in sections:
        ctx.alert(f"http-errors section '{args[1]}' already exists (declared at {sections[args[1]].loc}).")
    errors = ErrorsSection(args[1], ctx.loc)
    sections.setdefault(args[1], errors)
    ctx.config.global_.extras[_CURRENT] = errors


@keyword("errorfile", (SECTION,), doc="<code> <file>: a page of this http-errors section")
def kw_section_errorfile(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 3 or not args[1] or not args[2]:
        raise KwError(f"{args[0]}: expects <status_code> and <file> as arguments.")
    current = ctx.config.global_.extras.get(_CURRENT)
    code = _status(args[1])
    if code not in HANDLED:
        raise KwError(f"{args[0]} : status code '{code}' not handled.")
    try:
        with open(args[2], "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise KwError(f"{args[0]} : error opening file '{args[2]}' : {exc.strerror}.") from None
    if current is not None:
        current.pages[code] = data


def _status(text: str) -> int:
    digits = text.lstrip()[:10]
    end = 0
    while end < len(digits) and digits[end].isdigit():
        end += 1
    return int(digits[:end]) if end else 0  # atol()


def _steps(ctx: KwContext) -> list[Step]:
    """This proxy's steps: a copy of the defaults' ones until it writes its own (deepcopy did it)."""
    return proxy_of(ctx).areas.setdefault(AREA, [])


@keyword("errorfiles", doc="<name> [<code> ...]: the pages of an http-errors section")
def kw_errorfiles(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2 or not args[1]:
        raise KwError(f"{args[0]} : expects <name> as argument.")
    codes = []
    for text in args[2:]:
        code = _status(text)
        if code not in HANDLED:
            raise KwError(f"{args[0]} : status code '{code}' not handled.")
        codes.append(code)
    proxy = proxy_of(ctx)
    _steps(ctx).append(Step("errorfiles", tuple(codes) or HANDLED, dict(proxy.errorfiles), args[1], bool(codes),
                            loc=ctx.loc))  # fmt: skip


@keyword("http-error", doc="status <code> [content-type <t>] [payload] [hdr <n> <fmt>]*: a custom error reply")
def kw_http_error(ctx: KwContext, args: list[str]) -> None:
    try:
        spec, rest = parse_reply_args(args[1:], 0, USE_REQ, ctx.warn)
    except (ReplyError, FormatError) as exc:
        raise KwError(f"{args[0]} : {exc}") from None
    if not spec.status_given:
        raise KwError(f"{args[0]} : expects at least a <status> as arguments.")
    if spec.status not in HANDLED:
        raise KwError(f"{args[0]}: status code '{spec.status}' not handled.")
    if rest:
        raise KwError(f"{args[0]} : unknown keyword '{rest[0]}'.")
    proxy = proxy_of(ctx)
    snapshot = dict(proxy.errorfiles)
    payload = spec.payload[0] if spec.payload else None
    if payload == "errorfiles":
        _steps(ctx).append(Step("errorfiles", (spec.status,), snapshot, spec.payload[1], True, loc=ctx.loc))
        return
    if payload == "default-errorfiles":
        _steps(ctx).append(Step("default", (spec.status,), snapshot, loc=ctx.loc))
        return
    try:
        final = build_outcome(spec, "return", "LR", ctx.warn)
    except (ReplyError, FormatError) as exc:
        raise KwError(f"{args[0]} : {exc}") from None
    reply = final.outcome.reply if final.build is None else (lambda txn, build=final.build: build(txn).reply)
    _steps(ctx).append(Step("reply", (spec.status,), snapshot, reply=reply, loc=ctx.loc))


# -- after parsing -------------------------------------------------------------------------------


@post_parse(44)  # before lb.rules.keywords.finish_http (45) parses Proxy.errorfiles into replies
def resolve_errorfiles(config: Config) -> None:
    sections = _sections(config)
    for proxy in config.proxies():
        steps = proxy.areas.get(AREA) or []
        final = dict(proxy.errorfiles)
        decided: dict[int, tuple[str, Any]] = {}
        for step in steps:
            for code in step.codes:
                if final.get(code) is not step.snapshot.get(code):
                    continue  # an errorfile line after this step replaced the page
                choice = _choice(config, proxy, step, code, sections)
                if choice is not None:
                    decided[code] = choice
        for code, (kind, value) in decided.items():
            if kind == "raw":
                proxy.errorfiles[code] = value
            else:
                proxy.errorfiles.pop(code, None)
        proxy.areas[AREA + ".replies"] = {code: value for code, (kind, value) in decided.items() if kind != "raw"}
    for ref in PENDING:
        errors = sections.get(ref.name)
        if errors is None:
            config.diagnostics.append(Diagnostic(
                "ALERT", f"unknown http-errors section '{ref.name}' referenced by an http reply.", None, LOC_HIDDEN))
        elif ref.status in errors.pages:
            ref.reply = parse_raw_response(errors.pages[ref.status])
    PENDING.clear()


def _choice(config: Config, proxy: Any, step: Step, code: int,
            sections: dict[str, ErrorsSection]) -> tuple[str, Any] | None:  # fmt: skip
    if step.kind == "reply":
        return ("reply", step.reply)
    if step.kind == "default":
        return ("default", None)
    errors = sections.get(step.name)
    if errors is None:
        if code == step.codes[0]:
            config.diagnostics.append(Diagnostic(
                "ALERT", f"proxy '{proxy.name}': unknown http-errors section '{step.name}' (at {step.loc}).",
                step.loc, LOC_HIDDEN))  # fmt: skip
        return None
    if code in errors.pages:
        return ("raw", errors.pages[code])
    if step.explicit:
        config.diagnostics.append(Diagnostic(
            "WARNING", f"config: proxy '{proxy.name}' : status '{code}' not declared in http-errors section "
            f"'{step.name}' (at {step.loc}).", step.loc, LOC_HIDDEN))  # fmt: skip
    return None


@post_parse(46)  # after finish_http (45) built HttpSettings.error_replies from Proxy.errorfiles
def install_error_replies(config: Config) -> None:
    for proxy in config.proxies():
        replies = proxy.areas.get(AREA + ".replies")
        if not replies:
            continue
        settings = settings_for(proxy)
        for code, reply in replies.items():
            if reply is None:
                settings.error_replies.pop(code, None)
            else:
                settings.error_replies[code] = reply
