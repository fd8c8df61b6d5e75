"""Keywords of mode http: `acl`, `redirect`, and the post-parse steps (master, cli).

Importing this module registers every lb.rules keyword (rules, cookie,
capture, option forwardfor, TLS bind options).  Post-parse:
- 20: compile the `use_backend` conditions (an ACL must be declared above
  the line that uses it, as HAProxy parses conditions on the fly);
- 45 (after lb.config.validate resolved the routing): finish each proxy's
  HttpSettings (rule programs, switching table, errorfiles) and warn
  about HTTP settings on tcp proxies, with HAProxy's texts.
"""

from __future__ import annotations

from typing import Any

import lb.rules.capture  # noqa: F401  capture
import lb.rules.cookie  # noqa: F401  cookie
import lb.rules.forwardfor  # noqa: F401  option forwardfor
import lb.rules.http_rules  # noqa: F401  http-request, http-response
import lb.tls  # noqa: F401  bind ssl, crt, alpn ...
from lb.config.kw_proxy import proxy_of
from lb.config.model import (
    LOC_HIDDEN,
    LOC_PARSING_TIGHT,
    MODE_HTTP,
    SECTION_BACKEND,
    SECTION_DEFAULTS,
    SECTION_FRONTEND,
    SECTION_LISTEN,
    Condition,
    Config,
    Diagnostic,
    Location,
    Proxy,
    cap_str,
)
from lb.config.registry import KwContext, keyword, post_parse
from lb.rules.acl import NO_PATTERN_WARNING, Acl, AclError, check_acl_name, parse_term
from lb.rules.condition import compile_condition
from lb.rules.fetches import USE_REQ
from lb.rules.fmt import Format, FormatError
from lb.rules.model import settings_for
from lb.rules.redirect import RedirectError, parse_redirect
from lb.rules.reply import RawResponseError, parse_raw_response
from lb.rules.http_rules import Rule, program_of


@keyword("acl", doc="<name> <criterion> [flags] [operator] <value>...: a named test for conditions")
def kw_acl(ctx: KwContext, args: list[str]) -> None:
    proxy = proxy_of(ctx)
    if ctx.section == SECTION_DEFAULTS and not proxy.name:
        ctx.alert("'acl' not allowed in anonymous 'defaults' section.")
        return
    if len(args) < 2 or not args[1]:
        ctx.alert("'acl' expects an ACL name.")
        return
    name = args[1]
    try:
        check_acl_name(name)
    except AclError as exc:
        ctx.alert(f"{exc}.")
        return
    try:
        test, compiled, criterion, no_pattern = parse_term(args[2:])
    except AclError as exc:
        ctx.alert(f"error detected while parsing ACL '{name}' : {exc}.")
        return
    if no_pattern:
        ctx.config.diagnostics.append(Diagnostic("WARNING", NO_PATTERN_WARNING.format(kw=criterion)))
    settings = settings_for(proxy)
    settings.acls.setdefault(name, Acl(name)).terms.append((test, compiled.use, criterion))
    settings.acl_locs.setdefault(name, ctx.loc)


@keyword("redirect", (SECTION_FRONTEND, SECTION_LISTEN, SECTION_BACKEND),
         doc="location <l> | prefix <p> | scheme <s> [code <c>] [options] [if|unless <cond>]")  # fmt: skip
def kw_redirect(ctx: KwContext, args: list[str]) -> None:
    proxy = proxy_of(ctx)
    where = f"error detected in {cap_str(proxy.section)} '{proxy.name}' while parsing redirect rule"
    try:
        action, rest = parse_redirect(args[1:], use_fmt=False)
    except RedirectError as exc:
        ctx.alert(f"{where} : {exc}.")
        return
    settings = settings_for(proxy)
    cond = None
    if rest:
        try:
            compiled = compile_condition(rest[0], rest[1:], settings.acls.get, USE_REQ)
        except AclError as exc:
            ctx.alert(f"{where} : error in condition: {exc}.")
            return
        cond = Condition(rest[0], rest[1:], ctx.loc, compiled)
    if proxy.use_backends:
        ctx.warn("a 'redirect' rule placed after a 'use_backend' rule will still be processed before.")
    settings.redirect_rules.append(Rule("redirect", "redirect", action, cond, ctx.loc))


# -- post-parse --------------------------------------------------------------------------


def _before(config: Config, first: Location | None, line: Location | None) -> bool:
    """True when `first` comes before `line` in the configuration files."""
    if first is None or line is None:
        return True
    files = {name: n for n, name in enumerate(config.files)}
    return (files.get(first.file, 0), first.line) < (files.get(line.file, 0), line.line)


@post_parse(20)
def compile_switching_conditions(config: Config) -> None:
    """Compile every `use_backend ... if|unless` against the ACLs declared above it."""
    for proxy in config.frontends.values():
        settings = settings_for(proxy)
        for rule in proxy.use_backends:
            cond = rule.cond
            if cond is None or cond.compiled is not None:
                continue

            def lookup(name: str, line: Any = rule.loc, settings: Any = settings) -> Acl | None:
                acl = settings.acls.get(name)
                return acl if acl is not None and _before(config, settings.acl_locs.get(name), line) else None

            try:
                cond.compiled = compile_condition(cond.polarity, cond.words, lookup, USE_REQ)
            except AclError as exc:
                config.diagnostics.append(Diagnostic(
                    "ALERT", f"error detected while parsing switching rule : {exc}.", rule.loc))


@post_parse(45)
def finish_http(config: Config) -> None:
    """Per proxy: rule programs, switching table, errorfiles, tcp-mode warnings."""
    from lb.config.validate import declared_order

    inheriting: dict[Any, int] = {}  # defaults with rules -> capability of its first user
    for proxy in declared_order(config):
        settings = settings_for(proxy)
        if settings.parent is not None:
            _check_rule_inheritance(config, proxy, settings.parent, inheriting)
        settings.req_program = program_of(settings.request_rules) + program_of(settings.redirect_rules)
        settings.res_program = program_of(settings.response_rules)
        _errorfiles(config, proxy, settings)
        if proxy.is_frontend:
            _switching(config, proxy, settings)
            _tls_certificates(config, proxy)
        if proxy.is_backend and settings.cookie is not None:
            settings.servers_by_cookie = tuple(proxy.servers)
        if proxy.mode != MODE_HTTP and not proxy.disabled:
            _tcp_mode_warnings(config, proxy, settings)


def _check_rule_inheritance(config: Config, proxy: Proxy, parent: Any, inheriting: dict[Any, int]) -> None:
    """HAProxy: a defaults section with rules serves frontends or backends, not both, and no listen."""
    if proxy.caps == 3:
        message = "a listen section cannot inherit from a defaults section defining TCP/HTTP rules."
    elif inheriting.setdefault(parent, proxy.caps) != proxy.caps:
        message = (f"frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP "
                   f"rules (defaults section at {parent[2]}).")  # fmt: skip
    else:
        return
    config.diagnostics.append(Diagnostic("ALERT", message, proxy.loc, LOC_PARSING_TIGHT))


def _errorfiles(config: Config, proxy: Proxy, settings: Any) -> None:
    settings.error_replies = {}
    for code, raw in proxy.errorfiles.items():
        try:
            settings.error_replies[code] = parse_raw_response(raw)
        except RawResponseError as exc:
            config.diagnostics.append(Diagnostic(
                "ALERT", f"{cap_str(proxy.section)} '{proxy.name}': unable to parse the errorfile for status "
                f"{code}: {exc}.", proxy.loc, LOC_HIDDEN))  # fmt: skip


def _switching(config: Config, proxy: Proxy, settings: Any) -> None:
    from lb.config.routing import routing_of

    routing = routing_of(proxy)
    table = []
    for rule in routing.rules:
        cond = rule.rule.cond
        match = cond.compiled.match if cond is not None and cond.compiled is not None else None
        name_fmt = None
        if rule.dynamic:
            try:
                name_fmt = Format(rule.rule.backend)
            except FormatError as exc:
                config.diagnostics.append(Diagnostic("ALERT", f"parsing use_backend rule : {exc}.", rule.rule.loc))
                continue
        table.append((match, rule.backend, name_fmt))
    settings.switching = tuple(table)
    settings.default_backend = routing.default_backend
    settings.backends = config.backends


def _tls_certificates(config: Config, proxy: Proxy) -> None:
    for bind in proxy.binds:
        if bind.options.get("ssl") and not bind.options.get("crt"):
            config.diagnostics.append(Diagnostic(
                "ALERT", f"Proxy '{proxy.name}': no SSL certificate specified for bind '{bind}' at [{bind.loc}] "
                "(use 'crt').", proxy.loc, LOC_HIDDEN))  # fmt: skip


def _tcp_mode_warnings(config: Config, proxy: Proxy, settings: Any) -> None:
    kind = cap_str(proxy.section)
    messages = []
    if proxy.is_backend and settings.cookie is not None:
        messages.append(f"cookie will be ignored for {kind} '{proxy.name}' (needs 'mode http').")
    if settings.request_rules:
        messages.append(f"'http-request' rules ignored for {kind} '{proxy.name}' as they require HTTP mode.")
    if settings.response_rules:
        messages.append(f"'http-response' rules ignored for {kind} '{proxy.name}' as they require HTTP mode.")
    if settings.redirect_rules:
        messages.append(f"'redirect' rules ignored for {kind} '{proxy.name}' as they require HTTP mode.")
    if settings.forwardfor is not None:
        messages.append(f"'option forwardfor' ignored for {kind} '{proxy.name}' as it requires HTTP mode.")
    for message in messages:
        config.diagnostics.append(Diagnostic("WARNING", message, proxy.loc, LOC_HIDDEN))
