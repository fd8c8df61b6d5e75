"""The `stats` keyword of proxy sections: the stats page's settings (master, cli).

    stats enable | uri <prefix> | realm <realm> | auth <user>:<password>
          | refresh <delay> | hide-version | show-legends | show-modules
          | show-node [<name>] | show-desc [<text>...] | scope <proxy>|.
          | admin {if|unless} <cond> | http-request {allow|deny|auth} ... [{if|unless} <cond>]

Any of these lines enables the page (HAProxy's stats_check_init_uri_auth).
A proxy's first `stats` line drops what it inherited from its defaults
section, as HAProxy detaches the proxy from the defaults' uri_auth.
Messages are HAProxy 2.6's (checked with `haproxy -c`), including their two
location styles and the typos.  The global `stats socket|timeout|maxconn`
keyword is another keyword (lb.runtime_api.keywords): the registry keeps
global and proxy keywords apart.

After parsing (`finish_stats`): a tcp proxy drops its page with HAProxy's
warning; `stats auth` becomes the rule asking for credentials; every page
gets its lb.services.statspage.StatsPage.
"""

from __future__ import annotations

import re

from lb.config.kw_proxy import proxy_of
from lb.config.model import (
    LOC_HIDDEN,
    LOC_PARSING_TIGHT,
    MODE_HTTP,
    SECTION_DEFAULTS,
    Condition,
    Config,
    Diagnostic,
    Proxy,
    StatsSettings,
    cap_str,
)
from lb.config.registry import KwContext, KwError, keyword, post_parse
from lb.rules.acl import AclError
from lb.rules.condition import compile_condition
from lb.rules.fetches import USE_REQ
from lb.rules.model import settings_for
from lb.services import access

EXPECTS = ("expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', "
           "'show-desc' or 'show-legends'.")  # fmt: skip
_UNITS = {"us": (1, 1_000_000), "ms": (1, 1000), "s": (1, 1), "m": (60, 1), "h": (3600, 1), "d": (86400, 1)}
_NODE = re.compile(r"[A-Za-z0-9_.-]+")


def owner_key(proxy: Proxy) -> tuple:
    return (proxy.section, proxy.name, proxy.loc)


def own_settings(ctx: KwContext, proxy: Proxy) -> StatsSettings:
    """The proxy's own settings, created on first use (HAProxy's stats_check_init_uri_auth)."""
    if proxy.stats is None:
        proxy.stats = StatsSettings(owner=owner_key(proxy), loc=ctx.loc)
    return proxy.stats


def tight(ctx: KwContext, message: str, severity: str = "ALERT") -> None:
    ctx.config.diagnostics.append(Diagnostic(severity, message, ctx.loc, LOC_PARSING_TIGHT))


@keyword("stats", doc="enable | uri <prefix> | realm <realm> | auth <user:pass> | refresh <delay> | hide-version "
         "| show-legends | show-node [name] | show-desc [text] | scope <proxy> | admin if|unless <cond> "
         "| http-request allow|deny|auth [if|unless <cond>]: the stats page")  # fmt: skip
def kw_stats(ctx: KwContext, args: list[str]) -> None:
    proxy = proxy_of(ctx)
    if ctx.section != SECTION_DEFAULTS and proxy.stats is not None and proxy.stats.owner != owner_key(proxy):
        proxy.stats = None  # detach from the defaults section's settings
    what = args[1] if len(args) > 1 else ""
    handler = SUBCOMMANDS.get(what)
    if handler is None:
        if what:
            tight(ctx, f"unknown stats parameter '{what}', {EXPECTS}")
        else:
            tight(ctx, f"missing keyword in '{args[0]}', {EXPECTS}")
        return
    handler(ctx, proxy, args)


def arg(args: list[str], index: int) -> str:
    return args[index] if index < len(args) else ""


def stats_enable(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    own_settings(ctx, proxy)


def stats_uri(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    if not arg(args, 2):
        raise KwError("'uri' needs an URI prefix.")
    own_settings(ctx, proxy).uri = args[2]


def stats_realm(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    if not arg(args, 2):
        raise KwError("'realm' needs an realm name.")
    own_settings(ctx, proxy).realm = args[2]


def stats_auth(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    if not arg(args, 2):
        raise KwError("'auth' needs a user:password account.")
    user, _sep, password = args[2].partition(":")
    settings = own_settings(ctx, proxy)
    if any(known == user for known, _p in settings.users):
        ctx.config.diagnostics.append(Diagnostic("WARNING", f"uri auth: ignoring duplicated user '{user}'.",
                                                 ctx.loc, LOC_HIDDEN))  # fmt: skip
        return
    settings.users.append((user, password))


def stats_scope(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    if not arg(args, 2):
        raise KwError("'scope' needs a proxy name.")
    settings = own_settings(ctx, proxy)
    if args[2] not in settings.scopes:
        settings.scopes.append(args[2])


def parse_refresh(text: str) -> tuple[int, str | None]:
    """`stats refresh` delay in seconds, rounded up (HAProxy's parse_time_err in
    TIME_UNIT_S), and the warning for characters after the unit; ValueError
    with HAProxy's message."""
    digits = len(text) - len(text.lstrip("0123456789"))
    if not digits:
        raise ValueError(f"unexpected character '{text[:1]}' in argument to stats refresh interval.")
    value, rest = int(text[:digits]), text[digits:]
    unit = next((u for u in ("us", "ms", "s", "m", "h", "d") if rest.startswith(u)), "")
    if rest and not unit:
        raise ValueError(f"unexpected character '{rest[0]}' in argument to stats refresh interval.")
    multiplier, divisor = _UNITS[unit or "s"]
    seconds = -(-value * multiplier // divisor)
    if seconds >= 0x80000000:
        raise ValueError(f"timer overflow in argument <{text}> to stats refresh interval, maximum value is "
                         f"2147483647 s (~68 years).")  # fmt: skip
    warning = None
    if rest[len(unit):]:
        warning = (f"unexpected character '{rest[len(unit)]}' after the timer value '{text}', only (us=microseconds,"
                   "ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. This will be reported as "
                   "an error in next versions.")  # fmt: skip
    return seconds, warning


def stats_refresh(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    try:
        seconds, warning = parse_refresh(arg(args, 2))
    except ValueError as exc:
        tight(ctx, str(exc))
        return
    if warning:
        ctx.config.diagnostics.append(Diagnostic("WARNING", warning, ctx.loc, LOC_HIDDEN))
    own_settings(ctx, proxy).refresh = seconds


def flag(name: str):
    def handler(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
        setattr(own_settings(ctx, proxy), name, True)
        if name == "show_modules":
            ctx.warn("'stats show-modules' has no effect in lb: it has no statistics modules to show.")

    return handler


def stats_show_node(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    name = arg(args, 2)
    if name and not _NODE.fullmatch(name):
        tight(ctx, f"'{args[0]} {args[1]}' invalid node name - should be a stringwith digits(0-9), letters(A-Z, "
                   f"a-z), hyphen(-) or underscode(_).")  # fmt: skip
        return
    settings = own_settings(ctx, proxy)
    settings.show_node = True
    if name:
        settings.node = name


def stats_show_desc(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    text = " ".join(word for word in args[2:] if word)
    if not text:
        # lb keeps no global `description`: without a text here there is nothing to show
        tight(ctx, f"'{args[1]}' requires a parameter or 'desc' to be set in the global section.", "WARNING")
        return
    settings = own_settings(ctx, proxy)
    settings.show_desc, settings.desc = True, text


def where_of(proxy: Proxy) -> str:
    side = "frontend" if proxy.is_frontend else "backend"
    return f"{side} http-request header rule"


def stats_admin(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    if ctx.section == SECTION_DEFAULTS:
        tight(ctx, f"'{args[0]} {args[1]}' not allowed in 'defaults' section.")
        return
    settings = own_settings(ctx, proxy)
    polarity = arg(args, 2)
    if polarity not in ("if", "unless"):
        raise KwError(f"'{args[0]} {args[1]}' requires either 'if' or 'unless' followed by a condition.")
    lookup = settings_for(proxy).acls.get
    warn = lambda message, hidden=False: ctx.config.diagnostics.append(  # noqa: E731
        Diagnostic("WARNING", message, None if hidden else ctx.loc))
    try:
        compiled = compile_condition(polarity, args[3:], lookup, USE_REQ, where_of(proxy), warn)
    except AclError as exc:
        raise KwError(f"error detected while parsing a '{args[0]} {args[1]}' rule : {exc}.") from None
    settings.admin_rules.append(Condition(polarity, args[3:], ctx.loc, compiled))


def stats_http_request(ctx: KwContext, proxy: Proxy, args: list[str]) -> None:
    if ctx.section == SECTION_DEFAULTS:
        tight(ctx, f"'{args[0]}' not allowed in 'defaults' section.")
        return
    settings = own_settings(ctx, proxy)
    if settings.http_rules and settings.http_rules[-1].cond is None:
        tight(ctx, f"previous '{args[0]}' action has no condition attached, further entries are NOOP.", "WARNING")
    rule = access.parse_access_rule(ctx, ["http-request", *args[2:]])
    if rule is not None:
        settings.http_rules.append(rule)


SUBCOMMANDS = {
    "admin": stats_admin, "uri": stats_uri, "realm": stats_realm, "refresh": stats_refresh,
    "http-request": stats_http_request, "auth": stats_auth, "scope": stats_scope, "enable": stats_enable,
    "hide-version": flag("hide_version"), "show-legends": flag("show_legends"),
    "show-modules": flag("show_modules"), "show-node": stats_show_node, "show-desc": stats_show_desc,
}  # fmt: skip


@post_parse(60)
def finish_stats(config: Config) -> None:
    """Drop the pages of tcp proxies, turn `stats auth` into its rule, build each page's service."""
    from lb.services.statspage import StatsPage

    for proxy in config.proxies():
        settings = proxy.stats
        if settings is None:
            continue
        if proxy.mode != MODE_HTTP:
            config.diagnostics.append(Diagnostic("WARNING", f"'stats' statement ignored for {cap_str(proxy.section)} "
                                                 f"'{proxy.name}' as it requires HTTP mode.", proxy.loc, LOC_HIDDEN))
            proxy.stats = None
            continue
        if settings.http_rules and (settings.users or settings.realm is not None):
            config.diagnostics.append(Diagnostic("ALERT", f"proxy '{proxy.name}': stats 'auth'/'realm' and "
                                                 "'http-request' can't be used at the same time.", proxy.loc,
                                                 LOC_HIDDEN))  # fmt: skip
            continue
        if settings.users:
            settings.http_rules = [access.credentials_rule(settings.users, settings.realm)]
        settings.service = StatsPage(proxy, settings)
