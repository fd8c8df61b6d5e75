"""Health-check keywords, registered next to the checker (master, cli).

Server lines: check, inter, fastinter, downinter, rise, fall, port, addr,
check-send-proxy, init-state.  Proxy sections: `option tcp-check`,
`option httpchk`, `tcp-check <action>`, `http-check <action>` (stored in
`Proxy.areas["checks"]`, a lb.checker.model.CheckSettings), and a
post-parse step compiling each backend's check program.  `option
log-health-checks` is a plain flag of lb.config.kw_proxy and `timeout check`
lives there too (proxy.timeouts.check).
"""

from __future__ import annotations

from lb.checker.model import KIND_HTTP, KIND_TCP, CheckSettings, CommentRule, ConnectRule, HttpSendRule, Rule
from lb.checker.program import (
    add_http_option,
    add_http_rule,
    check_connect_position,
    compile_program,
    next_index,
)
from lb.checker.rules import parse_connect, parse_expect, parse_http_send, parse_httpchk_option, parse_send
from lb.config.kw_proxy import BACKEND_SIDE, proxy_of
from lb.config.model import LOC_HIDDEN, Config, Diagnostic, Proxy, Server
from lb.config.registry import KwContext, KwError, keyword, post_parse, server_keyword
from lb.config.types import is_suspicious_time, parse_int, parse_port, parse_time, split_host_port

INIT_STATES = ("up", "down", "fully-up", "fully-down", "none")


def _interval(ctx: KwContext, word: str, text: str) -> int:
    value = parse_time(text)
    if value == 0:
        raise KwError(f"invalid value 0 for '{word}' (expects a positive time).")
    if is_suspicious_time(text):
        ctx.warn(
            f"'{word} {text}' in server '{ctx.proxy.name if ctx.proxy else ''}' is suspiciously small for a "
            f"value in milliseconds. Please use an explicit unit ('{text}ms') if that was the intent."
        )
    return value


@server_keyword("check", doc="enable health checks")
def skw_check(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.check = True


@server_keyword("no-check", doc="disable health checks")
def skw_no_check(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.check = False


@server_keyword("inter", 1, doc="interval between two checks (default 2s)")
def skw_inter(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.inter = _interval(ctx, "inter", args[0])


@server_keyword("fastinter", 1, doc="interval while the server is changing state")
def skw_fastinter(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.fastinter = _interval(ctx, "fastinter", args[0])


@server_keyword("downinter", 1, doc="interval while the server is down")
def skw_downinter(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.downinter = _interval(ctx, "downinter", args[0])


@server_keyword("rise", 1, doc="consecutive successes to be considered up (default 2)")
def skw_rise(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.rise = parse_int(args[0], 1, 1000, "rise")


@server_keyword("fall", 1, doc="consecutive failures to be considered down (default 3)")
def skw_fall(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.fall = parse_int(args[0], 1, 1000, "fall")


@server_keyword("port", 1, doc="check this port instead of the server's")
def skw_port(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.check_port = parse_port(args[0])


@server_keyword("addr", 1, doc="check this address instead of the server's")
def skw_addr(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.check_addr = args[0]


@server_keyword("check-send-proxy", doc="send the PROXY header on checks even with port/addr")
def skw_check_send_proxy(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.check_send_proxy = True


@server_keyword("init-state", 1, doc="up | down | fully-up | fully-down: state before the first check")
def skw_init_state(ctx: KwContext, server: Server, args: list[str]) -> None:
    if args[0] not in INIT_STATES:
        raise KwError(f"'init-state' expects one of {', '.join(INIT_STATES)} (got '{args[0]}').")
    server.init_state = None if args[0] == "none" else args[0]


# -- proxy keywords: option tcp-check / httpchk, tcp-check, http-check -------

def _settings(ctx: KwContext) -> CheckSettings:
    """This proxy's CheckSettings (a copy of the defaults' one until it writes its own)."""
    proxy = proxy_of(ctx)
    settings = proxy.areas.get("checks")
    if settings is None:
        settings = proxy.areas["checks"] = CheckSettings()
    return settings


def _owner(ctx: KwContext) -> str:
    proxy = proxy_of(ctx)
    return f"{proxy.section} {proxy.name} {proxy.loc}"


def _own_tcp_rules(ctx: KwContext, settings: CheckSettings) -> list:
    """A section's first tcp-check line replaces the rules inherited from defaults (HAProxy)."""
    if settings.tcp_owner != _owner(ctx):
        settings.tcp_rules, settings.tcp_owner = [], _owner(ctx)
    return settings.tcp_rules


def _own_http_rules(ctx: KwContext, settings: CheckSettings) -> list:
    """Same for http-check lines; lb keeps an inherited `option httpchk` request, HAProxy loses it."""
    if settings.http_owner != _owner(ctx):
        kept = [rule for rule in settings.http_rules if isinstance(rule, HttpSendRule) and rule.from_option]
        settings.http_rules, settings.http_owner = kept, _owner(ctx)
    return settings.http_rules


@keyword("option tcp-check", BACKEND_SIDE, doc="check servers with the tcp-check rules (connect only by default)")
def kw_option_tcp_check(ctx: KwContext, args: list[str]) -> None:
    if len(args) > 2:
        raise KwError(f"'option tcp-check' cannot handle unexpected argument '{args[2]}'.")
    settings = _settings(ctx)
    if ctx.negated:
        settings.kind = None if settings.kind == KIND_TCP else settings.kind
        return
    settings.kind, settings.kind_loc = KIND_TCP, ctx.loc


@keyword("option httpchk", BACKEND_SIDE, doc="[<meth>] [<uri>] [<ver>] [<host>]: check servers with an HTTP request")
def kw_option_httpchk(ctx: KwContext, args: list[str]) -> None:
    settings = _settings(ctx)
    if ctx.negated:
        settings.kind = None if settings.kind == KIND_HTTP else settings.kind
        return
    try:
        request = parse_httpchk_option(args[2:])
    except ValueError as exc:
        raise KwError(f"'option httpchk' {exc}") from None
    request.loc = ctx.loc
    settings.kind, settings.kind_loc = KIND_HTTP, ctx.loc
    add_http_option(_own_http_rules(ctx, settings), request)


@keyword("tcp-check", BACKEND_SIDE, doc="connect|send|send-binary|expect|comment ...: one step of the tcp-check")
def kw_tcp_check(ctx: KwContext, args: list[str]) -> None:
    action = args[1] if len(args) > 1 else ""
    settings = _settings(ctx)
    rules = _own_tcp_rules(ctx, settings)
    try:
        rule = _parse_rule(action, args[2:], http=False, rules=rules)
    except ValueError as exc:
        raise KwError(_sentence(f"'tcp-check {action}' : {exc}")) from None
    if rule is None:
        raise KwError(f"'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect'. "
                      f"but got '{action}'")
    rule.index, rule.loc = next_index(rules), ctx.loc
    rules.append(rule)


@keyword("http-check", BACKEND_SIDE, doc="send|expect|connect|comment ...: one step of the HTTP check")
def kw_http_check(ctx: KwContext, args: list[str]) -> None:
    action = args[1] if len(args) > 1 else ""
    if action in ("disable-on-404", "send-state"):
        if len(args) > 2:
            raise KwError(f"'http-check {action}' cannot handle unexpected argument '{args[2]}'.")
        ctx.warn(f"'http-check {action}' is parsed but not applied by lb yet; it has no effect.")
        return
    settings = _settings(ctx)
    rules = _own_http_rules(ctx, settings)
    try:
        rule = _parse_rule(action, args[2:], http=True, rules=rules)
        if rule is None:
            raise KwError(f"'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect',"
                          f" 'send', 'expect'. but got '{action}'")
        rule.index, rule.loc = next_index(rules), ctx.loc
        add_http_rule(rules, rule)
    except ValueError as exc:
        raise KwError(_sentence(f"'http-check {action}' : {exc}")) from None


def _sentence(text: str) -> str:
    """HAProxy wraps rule errors as `'<kw> <action>' : <msg>.`; lb avoids its doubled periods."""
    return text if text.endswith(".") else text + "."


def _parse_rule(action: str, words: list[str], http: bool, rules: list) -> Rule | None:
    """One rule from its action word, or None for an unknown action."""
    if action == "connect":
        check_connect_position(rules)
        return parse_connect(words)
    if action == "comment":
        if not words or not words[0]:
            raise ValueError("expects a string as argument")
        return CommentRule(text=words[0])
    if action == "expect":
        return parse_expect(words, http)
    if http and action == "send":
        return parse_http_send(words)
    if not http and action in ("send", "send-binary", "send-lf", "send-binary-lf"):
        return parse_send(action, words)
    return None


# -- after parsing: compile programs, validate servers --------------------------

@post_parse(order=50)
def compile_checks(config: Config) -> None:
    """Compile every backend's check program and report what HAProxy reports at this stage."""
    for backend in config.backends.values():
        settings = backend.areas.get("checks") or CheckSettings()
        backend.areas["checks"] = settings
        kind = "proxy" if backend.is_frontend else "backend"
        if settings.kind != KIND_HTTP and _explicit_http_rules(settings):
            config.diagnostics.append(Diagnostic(
                "WARNING", f"{kind} '{backend.name}' uses http-check rules without 'option httpchk', "
                           "so the rules are ignored.", backend.loc, LOC_HIDDEN))
        settings.program = compile_program(settings)
        for server in backend.servers:
            if server.check:
                _validate_server(config, backend, kind, server, settings)


def _explicit_http_rules(settings: CheckSettings) -> bool:
    return any(not (isinstance(rule, HttpSendRule) and rule.from_option) for rule in settings.http_rules)


def _validate_server(config: Config, backend: Proxy, kind: str, server: Server, settings: CheckSettings) -> None:
    """A checked server needs a port to check: its own, `port`, `addr ip:port`, or every connect's.

    Printed without a location, as HAProxy does (the server line is in `loc` for the file)."""
    if server.port or server.check_port or _addr_has_port(server.check_addr):
        return
    head = f"{kind} '{backend.name}': server '{server.name}' has neither service port nor check port"
    connects = [rule for rule in settings.program if isinstance(rule, ConnectRule)]
    first = connects[0] if connects else None
    if first is None or first.implicit or not (first.port or first.addr_port):
        config.diagnostics.append(Diagnostic("ALERT", f"{head}.", server.loc, LOC_HIDDEN))
    elif any(not (rule.port or rule.addr_port) for rule in connects):
        config.diagnostics.append(Diagnostic(
            "ALERT", f"{head}, and a tcp_check rule 'connect' with no port information.", server.loc, LOC_HIDDEN))


def _addr_has_port(addr: str | None) -> bool:
    if not addr:
        return False
    try:
        return bool(split_host_port(addr)[1])
    except ValueError:
        return False
