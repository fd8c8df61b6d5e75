"""`http-request` and `http-response` rules: parsing and running (master, cli; `run_rules` in worker).

    http-request  <action> [args...] [{if | unless} <condition>]
    http-response <action> [args...] [{if | unless} <condition>]

Rules run in declaration order (a named defaults section's first); a final
action (allow, deny, return, redirect, reject, use-service) stops the list.  Conditions
are compiled when the line is parsed, against the ACLs declared above it,
as HAProxy does.  Messages are HAProxy 2.6's (checked with `haproxy -c`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lb.config.kw_proxy import proxy_of
from lb.config.model import LOC_PARSING_TIGHT, SECTION_DEFAULTS, Condition, Diagnostic, cap_str
from lb.config.registry import KwContext, keyword
from lb.rules import actions as act
from lb.rules import track
from lb.rules.acl import AclError
from lb.rules.condition import compile_condition
from lb.rules.fetches import USE_REQ, USE_RES, FetchError
from lb.rules.fetches_misc import check_var_name
from lb.rules.fmt import Format, FormatError
from lb.rules.model import CaptureSlot, HttpSettings, settings_for
from lb.rules.patterns import compile_regex
from lb.rules.redirect import RedirectError, parse_redirect
from lb.rules.rule_reply import ReplyError, build_outcome, parse_reply_args
from lb.rules.sample import compile_sample
from lb.rules.tcp_model import settings_for as tcp_settings_for
from lb.services.registry import UseService, find_service


@dataclass
class Rule:
    keyword: str  # "http-request" | "http-response" | "redirect"
    action_name: str
    action: Callable[[Any], Any]
    cond: Condition | None = None
    loc: Any = None


def run_rules(program: tuple[tuple[Any, Any], ...], txn: Any) -> Any:
    """Run a compiled rule list: None when it ran to the end, ALLOW, or a Verdict."""
    for match, action in program:
        if match is None or match(txn):
            outcome = action(txn)
            if outcome is not None:
                return outcome
    return None


def program_of(rules: list[Rule]) -> tuple[tuple[Any, Any], ...]:
    """(condition predicate or None, action) pairs for run_rules."""
    return tuple((rule.cond.compiled.match if rule.cond else None, rule.action) for rule in rules)


class RuleError(ValueError):
    """Wrong action arguments (reported as "error detected in ... while parsing ... rule")."""


@dataclass
class RuleContext:
    ctx: KwContext
    keyword: str
    action: str
    settings: HttpSettings
    response: bool
    table: "dict[str, Parser] | None" = None  # the actions of this keyword (default: by direction)

    @property
    def direction(self) -> int:
        return USE_RES if self.response else USE_REQ

    def warn(self, message: str, hidden: bool = False) -> None:
        self.ctx.config.diagnostics.append(
            Diagnostic("WARNING", message, None if hidden else self.ctx.loc))

    def fmt(self, text: str) -> Format:
        try:
            return Format(text, self.direction)
        except FormatError as exc:
            raise RuleError(str(exc)) from None


def _exact(rc: RuleContext, args: list[str], count: int, message: str) -> list[str]:
    """The `count` fixed arguments; anything after them must be if/unless."""
    values = args[:count]
    if len(values) < count or any(v == "" for v in values) or (
            len(args) > count and args[count] not in ("if", "unless")):  # fmt: skip
        raise RuleError(message)
    return values


def _header(rc: RuleContext, args: list[str], cls: type) -> tuple[Any, list[str]]:
    name, value = _exact(rc, args, 2, "expects exactly 2 arguments")
    return cls(name, rc.fmt(value), rc.response), args[2:]


def _del_header(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    if not args or args[0] in ("if", "unless", ""):
        raise RuleError("expects at least 1 argument")
    name, rest, method = args[0], args[1:], "str"
    if rest and rest[0] == "-m":
        method = rest[1] if len(rest) > 1 else ""
        if method not in ("str", "beg", "end", "sub", "reg"):
            raise RuleError(f"-m with unsupported matching method '{method}'")
        if method == "reg":
            _regex(name)
        rest = rest[2:]
    return act.DelHeader(name, method, rc.response), rest


def _regex(text: str) -> Any:
    try:
        return compile_regex(text)
    except ValueError as exc:
        raise RuleError(str(exc)) from None


def _replace(rc: RuleContext, args: list[str], cls: type) -> tuple[Any, list[str]]:
    name, regex, value = _exact(rc, args, 3, "expects exactly 3 arguments")
    return cls(name, _regex(regex), rc.fmt(value), rc.response), args[3:]


def _line(what: str) -> Callable[[RuleContext, list[str]], tuple[Any, list[str]]]:
    def parse(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
        (value,) = _exact(rc, args, 1, "expects exactly 1 argument <format>")
        return act.RequestLine(what, rc.fmt(value)), args[1:]

    return parse


def _set_status(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    if not args or not args[0].isdigit() or not 100 <= int(args[0]) <= 999:
        raise RuleError("expects an integer status code between 100 and 999")
    reason, rest = None, args[1:]
    if rest and rest[0] == "reason":
        if len(rest) < 2:
            raise RuleError("expects 1 argument: <status>; or 3 arguments: <status> reason <fmt>")
        reason, rest = rest[1], rest[2:]
    return act.SetStatus(int(args[0]), reason), rest


def _final(outcome: Any) -> Callable[[RuleContext, list[str]], tuple[Any, list[str]]]:
    return lambda rc, args: (act.Final(outcome), args)


def _reject(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    term = "PH" if rc.response else "PR"
    return act.Final(act.Verdict("reject", None, -1, term)), args


def _deny_or_return(kind: str) -> Callable[[RuleContext, list[str]], tuple[Any, list[str]]]:
    def parse(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
        status = 200 if kind == "return" else (502 if rc.response else 403)
        term = ("L" if kind == "return" else "P") + ("H" if rc.response else "R")
        try:
            spec, rest = parse_reply_args(args, status, rc.direction, rc.warn)
            return build_outcome(spec, kind, term, rc.warn), rest
        except (ReplyError, FormatError) as exc:
            raise RuleError(str(exc)) from None

    return parse


def _tarpit(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    """`tarpit [deny_status N] [reply args]`: deny's reply (500 by default), sent once
    the engine has held the request for `timeout tarpit` (Verdict kind "tarpit")."""
    try:
        spec, rest = parse_reply_args(args, 500, rc.direction, rc.warn)
        return build_outcome(spec, "tarpit", "PT", rc.warn), rest
    except (ReplyError, FormatError) as exc:
        raise RuleError(str(exc)) from None


def _silent_drop(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    """`silent-drop`: close without a reply nor a FIN/RST the client sees (Verdict kind "silent-drop")."""
    return act.Final(act.Verdict("silent-drop", None, -1, "PH" if rc.response else "PR")), args


def _track_action(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    try:
        return track.parse_track(rc.action, args, rc.direction, False, rc.response)
    except track.ActionError as exc:
        raise RuleError(str(exc)) from None


def _track_registered(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    action, rest = _track_action(rc, args)
    tcp_settings_for(proxy_of(rc.ctx)).tracks.append(action)
    return action, rest


def _inc_gpc(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    try:
        return track.parse_inc_gpc(rc.action), args
    except track.ActionError as exc:
        raise RuleError(str(exc)) from None


def _set_gpt(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    try:
        return track.parse_set_gpt(rc.action, args, rc.direction)
    except track.ActionError as exc:
        raise RuleError(str(exc)) from None


def _redirect(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    try:
        return parse_redirect(args, True, rc.direction, "LH" if rc.response else "LR")
    except (RedirectError, FormatError) as exc:
        raise RuleError(str(exc)) from None


def _set_var(rc: RuleContext, args: list[str], var: str, kind: str) -> tuple[Any, list[str]]:
    name, _sep, conds = var.partition(",")
    try:
        check_var_name(name)
    except FetchError as exc:
        raise RuleError(str(exc)) from None
    if conds:
        raise RuleError(f"set-var conditions ('{conds}') are not supported by lb")
    if kind == "unset-var":
        return act.SetVar(name, None), args
    if not args or args[0] in ("if", "unless"):
        raise RuleError("missing fetch method" if kind == "set-var" else "expects exactly 1 argument <format>")
    if kind == "set-var-fmt":
        return act.SetVar(name, rc.fmt(args[0])), args[1:]
    try:
        fetch = compile_sample(args[0], rc.direction)
    except FetchError as exc:
        raise RuleError(str(exc)) from None
    return act.SetVar(name, fetch.one), args[1:]


def _capture(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    usage = "expects <expression> [ 'len' <length> | id <idx> ]"
    if len(args) < 3 or args[1] not in ("len", "id") or not args[2].isdigit():
        raise RuleError(usage)
    try:
        fetch = compile_sample(args[0], rc.direction)
    except FetchError as exc:
        raise RuleError(str(exc)) from None
    slots = rc.settings.res_captures if rc.response else rc.settings.req_captures
    if args[1] == "id":
        return act.Capture(fetch, int(args[2]), 1 << 30, rc.response), args[3:]
    if rc.response or not proxy_of(rc.ctx).is_frontend:
        raise RuleError(f"proxy '{proxy_of(rc.ctx).name}' has no frontend capability")
    slots.append(CaptureSlot(None, int(args[2])))
    return act.Capture(fetch, len(slots) - 1, int(args[2]), rc.response), args[3:]


def _use_service(rc: RuleContext, args: list[str]) -> tuple[Any, list[str]]:
    """`use-service <name>`: the registered service answers (lb.services.registry)."""
    if not args or not args[0]:
        raise RuleError("'use-service' expects a service name.")
    factory = find_service(args[0])
    if factory is None:
        raise RuleError(f"'{args[0]}' unknown service name.")
    try:
        service, rest = factory(args[1:])
    except ValueError as exc:
        raise RuleError(str(exc)) from None
    return UseService(service), rest


Parser = Callable[[RuleContext, list[str]], tuple[Any, list[str]]]
_COMMON: dict[str, Parser] = {
    "set-header": lambda rc, a: _header(rc, a, act.SetHeader),
    "add-header": lambda rc, a: _header(rc, a, act.AddHeader),
    "del-header": _del_header,
    "replace-header": lambda rc, a: _replace(rc, a, act.ReplaceHeader),
    "replace-value": lambda rc, a: _replace(rc, a, act.ReplaceValue),
    "allow": _final(act.ALLOW),
    "deny": _deny_or_return("deny"),
    "return": _deny_or_return("return"),
    "redirect": _redirect,
    "capture": _capture,
}
REQUEST_ACTIONS: dict[str, Parser] = {
    **_COMMON, "set-path": _line("path"), "set-pathq": _line("pathq"), "set-query": _line("query"),
    "set-uri": _line("uri"), "set-method": _line("method"), "reject": _reject, "tarpit": _tarpit,
    "silent-drop": _silent_drop, "use-service": _use_service,
}  # fmt: skip
RESPONSE_ACTIONS: dict[str, Parser] = {**_COMMON, "set-status": _set_status, "silent-drop": _silent_drop}
# Actions matched by prefix, as HAProxy's KWF_MATCH_PREFIX keywords (`track-sc0`, `sc-inc-gpc1(2)`)
PREFIX_ACTIONS: dict[str, Parser] = {"track-sc": _track_registered, "sc-inc-gpc": _inc_gpc, "sc-set-gpt": _set_gpt}
VAR_ACTIONS = ("set-var-fmt", "set-var", "unset-var")
# HAProxy actions lb does not implement: refused by name rather than as unknown.
UNSUPPORTED = frozenset("add-acl cache-use cache-store del-acl del-map disable-l7-retry do-resolve early-hint "
                        "normalize-uri replace-path replace-pathq replace-uri send-spoe-group set-dst set-dst-port "
                        "set-log-level set-map set-mark set-nice set-priority-class set-priority-offset set-src "
                        "set-src-port set-timeout set-tos strict-mode wait-for-body "
                        "wait-for-handshake".split())  # fmt: skip


def _parse_action(rc: RuleContext, words: list[str]) -> tuple[Any, list[str]]:
    table = rc.table or (RESPONSE_ACTIONS if rc.response else REQUEST_ACTIONS)
    name = rc.action
    for var_kind in VAR_ACTIONS:
        if name.startswith(var_kind + "(") and name.endswith(")"):
            return _set_var(rc, words, name[len(var_kind) + 1 : -1], var_kind)
    parser = table.get(name)
    if parser is None and rc.table is None:  # stick-counter actions: http-request/http-response only
        parser = next((p for prefix, p in PREFIX_ACTIONS.items() if name.startswith(prefix)), None)
    if parser is None:
        raise KeyError(name)
    return parser(rc, words)


def parse_rule(ctx: KwContext, words: list[str], response: bool, table: dict[str, Parser] | None = None) -> Rule | None:
    """Parse one http-request/http-response line (or another keyword's, with its `table`
    of actions); report problems on ctx."""
    kw = words[0]
    proxy = proxy_of(ctx)
    own_table, table = table, table or (RESPONSE_ACTIONS if response else REQUEST_ACTIONS)
    if len(words) < 2 or not words[1]:
        _tight(ctx, _expects(kw, table, ""))
        return None
    rc = RuleContext(ctx, kw, words[1], settings_for(proxy), response, own_table)
    try:
        action, rest = _parse_action(rc, words[2:])
    except KeyError:
        base = words[1].partition("(")[0]
        if base in UNSUPPORTED or base == "sc-add-gpc":
            ctx.alert(f"'{kw} {words[1]}' is not supported by lb.")
        else:
            _tight(ctx, _expects(kw, table, words[1]))
        return None
    except RuleError as exc:
        ctx.alert(f"error detected in {cap_str(proxy.section)} '{proxy.name}' while parsing '{kw} {words[1]}' "
                  f"rule : {exc}.")  # fmt: skip
        return None
    return _with_condition(rc, action, rest)


def _with_condition(rc: RuleContext, action: Any, rest: list[str]) -> Rule | None:
    ctx, what = rc.ctx, f"{rc.keyword} {rc.action}"
    cond = None
    if rest:
        if rest[0] not in ("if", "unless"):
            _tight(ctx, f"'{what}' expects either 'if' or 'unless' followed by a condition but found '{rest[0]}'.")
            return None
        where = f"{cap_str(proxy_of(ctx).section)} {rc.keyword} header rule"
        try:
            compiled = compile_condition(rest[0], rest[1:], rc.settings.acls.get, rc.direction, where, rc.warn)
        except AclError as exc:
            ctx.alert(f"error detected while parsing an '{what}' condition : {exc}.")
            return None
        cond = Condition(rest[0], rest[1:], ctx.loc, compiled)
    return Rule(rc.keyword, rc.action, action, cond, ctx.loc)


def _tight(ctx: KwContext, message: str) -> None:
    ctx.config.diagnostics.append(Diagnostic("ALERT", message, ctx.loc, LOC_PARSING_TIGHT))


def _expects(kw: str, table: dict[str, Parser], got: str) -> str:
    prefixed = [f"{p}*" for p in PREFIX_ACTIONS] if table in (REQUEST_ACTIONS, RESPONSE_ACTIONS) else []
    names = sorted(list(table) + prefixed) + [f"{v}(*)" for v in VAR_ACTIONS]
    listed = ", ".join(f"'{n}'" for n in names)
    return f"'{kw}' expects {listed}, but got '{got}'."


def _misplaced(ctx: KwContext, settings: HttpSettings) -> None:
    """HAProxy runs http-request rules before redirect and use_backend ones, whatever the order written."""
    proxy = proxy_of(ctx)
    before = "redirect" if settings.redirect_rules else ("use_backend" if proxy.use_backends else None)
    if before:
        ctx.warn(f"a 'http-request' rule placed after a '{before}' rule will still be processed before.")


# Actions HAProxy 2.6 flags final (ACT_FLAG_FINAL): rules after an unconditional one never run
FINAL_ACTIONS = ("allow", "deny", "return", "redirect", "tarpit")


def _own(rule: Rule, proxy: Any) -> bool:
    """The rule was written in the proxy itself, not inherited from its defaults section."""
    loc, start = rule.loc, proxy.loc
    return loc is None or start is None or (loc.file, loc.line) >= (start.file, start.line)


def _http_rule(ctx: KwContext, words: list[str], response: bool) -> None:
    proxy = proxy_of(ctx)
    if ctx.section == SECTION_DEFAULTS and not proxy.name:
        ctx.alert(f"'{words[0]}' not allowed in anonymous 'defaults' section.")
        return
    settings = settings_for(proxy)
    rules = settings.response_rules if response else settings.request_rules
    last = rules[-1] if rules else None
    if last is not None and last.cond is None and last.action_name in FINAL_ACTIONS and _own(last, proxy):
        message = f"previous '{words[0]}' action is final and has no condition attached, further entries are NOOP."
        ctx.config.diagnostics.append(Diagnostic("WARNING", message, ctx.loc, LOC_PARSING_TIGHT))
    rule = parse_rule(ctx, words, response)
    if rule is None:
        return
    if response:
        settings.response_rules.append(rule)
    else:
        _misplaced(ctx, settings)
        settings.request_rules.append(rule)


@keyword("http-request", doc="<action> [args] [if|unless <cond>]: set-header add-header del-header replace-header "
         "replace-value set-path set-pathq set-query set-uri set-method redirect deny return allow reject "
         "tarpit silent-drop track-sc0..2 sc-inc-gpc0/1 sc-set-gpt0 set-var set-var-fmt unset-var capture")  # fmt: skip
def kw_http_request(ctx: KwContext, args: list[str]) -> None:
    _http_rule(ctx, args, response=False)


@keyword("http-response", doc="<action> [args] [if|unless <cond>]: set-header add-header del-header "
         "replace-header replace-value set-status redirect deny return allow silent-drop track-sc0..2 "
         "sc-inc-gpc0/1 sc-set-gpt0 set-var capture")  # fmt: skip
def kw_http_response(ctx: KwContext, args: list[str]) -> None:
    _http_rule(ctx, args, response=True)
