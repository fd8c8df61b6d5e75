"""`tcp-request` rules: parsing (master, cli) and evaluation (worker).

    tcp-request inspect-delay <time>
    tcp-request connection <action> [{if | unless} <condition>]   right after accept, layer-4 facts only
    tcp-request session    <action> [{if | unless} <condition>]   after the PROXY header and the TLS handshake
    tcp-request content    <action> [{if | unless} <condition>]   on the first bytes (mode tcp) or per request

Actions: accept, reject, track-sc0..2, sc-inc-gpc0/1, sc-set-gpt0,
set-var/set-var-fmt/unset-var, silent-drop, capture (content), and
expect-proxy layer4 (connection).  The first accept/reject/silent-drop
ends the list; no match means accept.

Content rules wait for data as HAProxy's tcp_inspect_request() does: a
condition whose fetches need more bytes than received (a ClientHello not
complete yet) is undecided ("missing"), and the engine calls again with
more data until `final` (inspect-delay over, buffer full, client closed),
when missing samples count as not found.  Conditions are evaluated with
HAProxy's three-valued logic (pass, fail, missing: AND by bitwise and, OR
by bitwise or, `!` keeps missing).  A rule that waited is evaluated again
from the first rule, as HAProxy does.

Messages are HAProxy 2.6's (checked with `haproxy -c`).
"""

from __future__ import annotations

from typing import Any, Callable

from lb.config.kw_proxy import proxy_of
from lb.config.model import LOC_HIDDEN, SECTION_DEFAULTS, Condition, Diagnostic
from lb.config.model import cap_str
from lb.config.registry import KwContext, keyword, post_parse
from lb.config.types import TimeValueError, parse_time
from lb.rules import actions as act
from lb.rules import track
from lb.rules.acl import AclError
from lb.rules.condition import CompiledCondition, compile_condition
from lb.rules.fetches import BUILD_SITE, USE_REQ, FetchError
from lb.rules.fetches_misc import check_var_name
from lb.rules.layers import conflict_warning, source_names, usable_in
from lb.rules.model import CaptureSlot
from lb.rules.model import settings_for as http_settings_for
from lb.rules.sample import compile_sample
from lb.rules.tcp_model import TcpRule, settings_for

ACCEPT, REJECT, SILENT_DROP, NEED_MORE, EXPECT_PROXY = "accept", "reject", "silent-drop", "need-more", "expect-proxy"
PASS, MISS, FAIL = 3, 1, 0
WHERES = ("connection", "session", "content")

# HAProxy 2.6's lists, printed when an action is unknown (lb refuses those it lacks by name)
_HEAD = "'accept', 'reject', 'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', "
_L4_L5 = ("'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'set-var-fmt(*)', "
          "'set-var(*)', 'unset-var(*)', 'set-dst', 'set-dst-port', 'set-mark', 'set-src', 'set-src-port', 'set-tos', "
          "'silent-drop'")  # fmt: skip
_L6 = ("'ot-group', 'set-log-level', 'set-nice', 'switch-mode', 'use-service', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', "
       "'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'do-resolve(*)', 'set-var-fmt(*)', "
       "'set-var(*)', 'unset-var(*)', 'set-src', 'set-src-port', 'set-dst', 'set-dst-port', 'set-mark', 'set-tos', "
       "'silent-drop', 'set-priority-class', 'set-priority-offset'")  # fmt: skip
KNOWN = {"connection": _L4_L5, "session": _L4_L5, "content": _L6}
SUGGESTIBLE: dict[str, tuple[str, ...]] = {
    "connection": ("accept", "reject", "capture", "track-sc", "expect-proxy", "expect-netscaler-cip", "sc-inc-gpc",
                   "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "set-var-fmt", "set-var", "unset-var",
                   "set-dst", "set-dst-port", "set-mark", "set-src", "set-src-port", "set-tos", "silent-drop"),
}  # fmt: skip
SUGGESTIBLE["session"] = SUGGESTIBLE["connection"]
SUGGESTIBLE["content"] = SUGGESTIBLE["connection"] + (
    "ot-group", "set-log-level", "set-nice", "switch-mode", "use-service", "send-spoe-group", "do-resolve",
    "set-priority-class", "set-priority-offset")  # fmt: skip
NOT_IN_LB = ("expect-netscaler-cip", "set-dst", "set-dst-port", "set-mark", "set-src", "set-src-port", "set-tos",
             "ot-group", "set-log-level", "set-nice", "switch-mode", "use-service", "send-spoe-group", "do-resolve",
             "set-priority-class", "set-priority-offset", "sc-inc-gpc", "sc-set-gpt")  # fmt: skip


class RuleError(ValueError):
    """A bad rule: the complete HAProxy message (no location)."""


# -- evaluation (worker) -------------------------------------------------------------------------


def tri_state(cond: CompiledCondition, txn: Any) -> int:
    """HAProxy's acl_exec_cond() on a compiled condition, polarity not applied:
    PASS, FAIL, or MISS when a sample needed more data than buffered."""
    content = txn.content
    result = FAIL
    for suite in cond.suites:
        suite_result = PASS
        for test, neg in suite:
            if content is not None:
                content.missing = False
            if test(txn):
                term = PASS
            else:
                term = MISS if content is not None and content.missing else FAIL
            if neg and term != MISS:
                term = PASS - term
            suite_result &= term
            if suite_result == FAIL:
                break
        result |= suite_result
        if result == PASS:
            break
    return result


def run(rules: tuple[tuple[Any, Callable[[Any], Any], str], ...], txn: Any, final: bool = True) -> str | None:
    """Run compiled rules: ACCEPT, REJECT, SILENT_DROP, NEED_MORE, or None (no rule
    decided: accept).  `expect-proxy` rules set `txn.facts.expect_proxy`."""
    for cond, action, _name in rules:
        if cond is not None:
            outcome = tri_state(cond, txn)
            if outcome == MISS and not final:
                return NEED_MORE
            passed = outcome == PASS
            if cond.polarity == "unless":
                passed = not passed
            if not passed:
                continue
        result = action(txn)
        if result is None:
            continue
        if result is track.YIELD:
            if final:
                continue
            return NEED_MORE
        return result
    return None


def program_of(rules: list[TcpRule]) -> tuple[tuple[Any, Callable[[Any], Any], str], ...]:
    return tuple((rule.cond.compiled if rule.cond is not None else None, rule.action, rule.action_name)
                 for rule in rules)  # fmt: skip


# -- actions ------------------------------------------------------------------------------------


def _final(outcome: str) -> Callable[[Any], Any]:
    return lambda txn: outcome


def _expect_proxy(txn: Any) -> None:
    txn.facts.expect_proxy = True
    return None


# -- parsing (master, cli) -----------------------------------------------------------------------


@keyword("tcp-request", doc="inspect-delay <t> | connection|session|content <action> [if|unless <cond>]: "
         "accept reject track-sc0..2 sc-inc-gpc0/1 sc-set-gpt0 set-var unset-var silent-drop capture "
         "expect-proxy layer4")  # fmt: skip
def kw_tcp_request(ctx: KwContext, args: list[str]) -> None:
    proxy = proxy_of(ctx)
    what = "defaults" if ctx.section == SECTION_DEFAULTS else cap_str(proxy.section)
    anonymous = ctx.section == SECTION_DEFAULTS and not proxy.name
    sub = args[1] if len(args) > 1 else ""
    if not sub:
        where = "defaults section" if ctx.section == SECTION_DEFAULTS else f"{what} '{proxy.name}'"
        ctx.alert(f"missing argument for 'tcp-request' in {where}")
        return
    if sub in ("inspect-delay", *WHERES) and anonymous:
        ctx.alert(f"tcp-request {sub} is not allowed in anonymous 'defaults' sections")
        return
    if sub == "inspect-delay":
        _inspect_delay(ctx, args, what, proxy)
        return
    if sub not in WHERES:
        ctx.alert(f"'tcp-request' expects 'inspect-delay', 'connection', or 'content' in {what} '{proxy.name}' "
                  f"(got '{sub}')")  # fmt: skip
        return
    try:
        rule = parse_rule(ctx, sub, args[2:], what, proxy)
    except RuleError as exc:
        ctx.alert(str(exc))
        return
    settings = settings_for(proxy)
    settings.rules(sub).append(rule)
    if isinstance(rule.action, track.TrackSc):
        settings.tracks.append(rule.action)
    if sub != "content":
        warning = conflict_warning(rule.cond.compiled if rule.cond else None, f"tcp-request {sub}",
                                   f"frontend tcp-request {sub} rule", layer={"connection": 4, "session": 5}[sub])
        if warning:
            ctx.warn(warning)


def _inspect_delay(ctx: KwContext, args: list[str], what: str, proxy: Any) -> None:
    text = args[2] if len(args) > 2 else ""
    prefix = f"'tcp-request inspect-delay' expects a positive delay in milliseconds, in {what} '{proxy.name}'"
    try:
        value = parse_time(text) if text else None
    except TimeValueError as exc:
        detail = (f" (timer overflow in '{text}', maximum value is 2147483647 ms or ~24.8 days)"
                  if exc.bad_char is None else f" (unexpected character '{exc.bad_char}')")  # fmt: skip
        ctx.alert(prefix + detail)
        return
    if value is None:
        ctx.alert(prefix)
        return
    settings = settings_for(proxy)
    if settings.inspect_delay:
        ctx.warn(f"ignoring tcp-request inspect-delay (was already defined) in {what} '{proxy.name}'")
        return
    settings.inspect_delay, settings.inspect_delay_loc = value, ctx.loc


def parse_rule(ctx: KwContext, where: str, words: list[str], what: str, proxy: Any) -> TcpRule:
    """One `tcp-request <where> <action> ...` line into a TcpRule (RuleError with HAProxy's text)."""
    name = words[0] if words else ""
    BUILD_SITE.where = ""
    action, rest = _parse_action(ctx, where, name, words[1:], what, proxy)
    cond = _condition(ctx, where, name, rest, what, proxy)
    return TcpRule(where, name, action, cond, ctx.loc)


def _parse_action(ctx: KwContext, where: str, name: str, args: list[str], what: str,
                  proxy: Any) -> tuple[Callable[[Any], Any], list[str]]:  # fmt: skip
    head = f"'tcp-request {where} {name}'"
    if name in ("accept", "reject", "silent-drop"):
        return _final({"accept": ACCEPT, "reject": REJECT, "silent-drop": SILENT_DROP}[name]), args
    if name == "expect-proxy":
        layer = args[0] if args else ""
        if layer != "layer4":
            raise RuleError(f"{head} only supports 'layer4' in {what} '{proxy.name}' (got '{layer}')")
        if where != "connection":
            raise RuleError(f"'expect-proxy layer4' is not allowed in 'tcp-request {where}' rules in {what} "
                            f"'{proxy.name}'")  # fmt: skip
        return _expect_proxy, args[1:]
    if name == "capture":
        return _capture(ctx, where, args, head, what, proxy)
    if name.startswith("track-sc"):
        return _track(where, name, args, head)
    try:
        if name.startswith("sc-inc-gpc") and name[10:11] in ("0", "1"):
            return track.parse_inc_gpc(name), args
        if name.startswith("sc-set-gpt0"):
            return track.parse_set_gpt(name, args, USE_REQ)
    except track.ActionError as exc:
        raise RuleError(str(exc)) from None
    for kind in ("set-var-fmt", "set-var", "unset-var"):
        if name.startswith(kind + "(") and name.endswith(")"):
            return _set_var(kind, name[len(kind) + 1 : -1], args)
    base = name.partition("(")[0]
    if base in NOT_IN_LB:
        raise RuleError(f"'tcp-request {where} {base}' is not supported by lb.")
    raise RuleError(_expects(where, name, what, proxy))


def _expects(where: str, name: str, what: str, proxy: Any) -> str:
    from lb.config.registry import suggest

    hint = suggest(name, list(SUGGESTIBLE[where]))
    tail = f" Did you mean '{hint}' maybe ?" if hint else ""
    return (f"'tcp-request {where}' expects {_HEAD}{KNOWN[where]} in {what} '{proxy.name}' (got '{name}')."
            f"{tail}\n")  # fmt: skip


def _track(where: str, name: str, args: list[str], head: str) -> tuple[Callable[[Any], Any], list[str]]:
    BUILD_SITE.where = "in tracking rule in"
    try:
        action, rest = track.parse_track(name, args, USE_REQ, session_level=where != "content")
    except track.ActionError as exc:
        raise RuleError(f"{head} : {exc}") from None
    finally:
        BUILD_SITE.where = ""
    if not usable_in(action.fetch.name, where):
        raise RuleError(f"{head} : fetch method '{args[0]}' extracts information from "
                        f"'{source_names(action.fetch)}', none of which is available here")  # fmt: skip
    return action, rest


def _capture(ctx: KwContext, where: str, args: list[str], head: str, what: str,
             proxy: Any) -> tuple[Callable[[Any], Any], list[str]]:  # fmt: skip
    if not proxy.is_frontend:
        raise RuleError(f"{head} : proxy '{proxy.name}' has no frontend capability")
    if where != "content":
        raise RuleError(f"'capture {args[0] if args else ''}' is not allowed in 'tcp-request {where}' rules in "
                        f"{what} '{proxy.name}'")  # fmt: skip
    if not args or args[0] in ("", "if", "unless"):
        raise RuleError(f"{head} : missing fetch method")
    try:
        fetch = compile_sample(args[0], USE_REQ)
    except FetchError as exc:
        raise RuleError(f"{head} : {exc}") from None
    rest, length = args[1:], 0
    if rest and rest[0] == "len":
        length = _atoi(rest[1] if len(rest) > 1 else "")
        if length <= 0:
            raise RuleError(f"{head} : length must be > 0")
        rest = rest[2:]
    if not length:
        raise RuleError(f"{head} : a positive 'len' argument is mandatory")
    slots = http_settings_for(proxy).req_captures
    slots.append(CaptureSlot(None, length))
    return act.Capture(fetch, len(slots) - 1, length), rest


def _atoi(text: str) -> int:
    digits = len(text) - len(text.lstrip("0123456789"))
    return int(text[:digits]) if digits else 0


def _set_var(kind: str, var: str, args: list[str]) -> tuple[Callable[[Any], Any], list[str]]:
    name = var.partition(",")[0]
    try:
        check_var_name(name)
    except FetchError as exc:
        raise RuleError(str(exc)) from None
    if kind == "unset-var":
        return act.SetVar(name, None), args
    if not args or args[0] in ("if", "unless", ""):
        raise RuleError("missing fetch method")
    if kind == "set-var-fmt":
        from lb.rules.fmt import Format, FormatError

        try:
            return act.SetVar(name, Format(args[0], USE_REQ)), args[1:]
        except FormatError as exc:
            raise RuleError(str(exc)) from None
    try:
        return act.SetVar(name, compile_sample(args[0], USE_REQ).one), args[1:]
    except FetchError as exc:
        raise RuleError(str(exc)) from None


def _condition(ctx: KwContext, where: str, name: str, rest: list[str], what: str, proxy: Any) -> Condition | None:
    if not rest or rest[0] == "":
        return None
    head = f"'tcp-request {where} {name}'"
    if rest[0] not in ("if", "unless"):
        raise RuleError(f"{head} only accepts 'if' or 'unless', in {what} '{proxy.name}' (got '{rest[0]}')")
    acls = http_settings_for(proxy).acls
    try:
        compiled = compile_condition(rest[0], rest[1:], acls.get, USE_REQ)
    except AclError as exc:
        raise RuleError(f"{head} : error detected in {what} '{proxy.name}' while parsing '{rest[0]}' condition : "
                        f"{exc}") from None  # fmt: skip
    return Condition(rest[0], rest[1:], ctx.loc, compiled)


# -- after parsing ---------------------------------------------------------------------------------


@post_parse(46)
def finish_tcp(config: Any) -> None:
    """Per proxy: the compiled rule programs, and HAProxy's check-time warnings."""
    from lb.config.validate import declared_order

    for proxy in declared_order(config):
        settings = proxy.areas.get("tcp")
        if settings is None:
            continue
        settings.connection_program = program_of(settings.connection_rules)
        settings.session_program = program_of(settings.session_rules)
        settings.content_program = program_of(settings.content_rules)
        check_warnings(config, proxy)


def check_warnings(config: Any, proxy: Any) -> None:
    """Content rules depending on request contents without inspect-delay, and
    content track-sc rules of HTTP frontends that should run at session level."""
    settings = proxy.areas.get("tcp")
    if settings is None or not proxy.is_frontend:
        return
    kind = cap_str(proxy.section)
    for rule in settings.content_rules:
        fetch = getattr(rule.action, "fetch", None)
        if isinstance(rule.action, track.TrackSc) and rule.action.ref.cfg is None:
            continue  # its table did not resolve: HAProxy reports that and nothing else
        if rule.action_name.startswith("track-sc") and fetch is not None:
            if not settings.inspect_delay and not usable_in(fetch.name, "session"):
                config.diagnostics.append(Diagnostic("WARNING", (
                    f"{kind} '{proxy.name}' : a 'tcp-request content track-sc*' rule explicitly depending on request"
                    " contents without any 'tcp-request inspect-delay' setting. This means that this rule will "
                    "randomly find its contents. This can be fixed by setting the tcp-request inspect-delay."),
                    None, LOC_HIDDEN))  # fmt: skip
            if proxy.mode == "http" and usable_in(fetch.name, "session") and not _cond_uses_content(rule):
                config.diagnostics.append(Diagnostic("WARNING", (
                    f"{kind} '{proxy.name}' : a 'tcp-request content track-sc*' rule not depending on request "
                    "contents for an HTTP frontend should be executed at the session level, using a 'tcp-request "
                    "session' rule (mandatory to track invalid HTTP requests)."), None, LOC_HIDDEN))  # fmt: skip
        elif rule.action_name == "capture" and fetch is not None and not settings.inspect_delay \
                and not usable_in(fetch.name, "session"):  # fmt: skip
            config.diagnostics.append(Diagnostic("WARNING", (
                f"{kind} '{proxy.name}' : a 'tcp-request capture' rule explicitly depending on request contents "
                "without any 'tcp-request inspect-delay' setting. This means that this rule will randomly find its "
                "contents. This can be fixed by setting the tcp-request inspect-delay."),
                None, LOC_HIDDEN))  # fmt: skip


def _cond_uses_content(rule: TcpRule) -> bool:
    if rule.cond is None or rule.cond.compiled is None:
        return False
    return any(not usable_in(word.partition("(")[0], "session") for word in rule.cond.words)
