"""Logging keywords and the post-parse step that compiles log formats (master, cli).

`log`, `no log`, `log global`, `log-format`, `log-format-sd`, `option tcplog
[clf]`, `option httplog [clf]`, `option dontlog-normal`, `log-tag` (global
and proxies), `log-send-hostname`.  Messages are HAProxy 2.6's (recorded in
tests/logs/data/haproxy26.json).  `option dontlognull` and `option
log-separate-errors` are plain flags registered in lb.config.kw_proxy.

Two deliberate differences with HAProxy 2.6: an HTTP-only alias in a tcp
proxy is a warning (HAProxy >= 2.9 wording) rather than an alert, and
`option tcplog clf` is accepted (HAProxy >= 3.0).
"""

from __future__ import annotations

import copy
import itertools
import socket

from lb.config.model import (
    LOC_HIDDEN,
    LOC_PARSING,
    LOC_PARSING_TIGHT,
    MODE_TCP,
    PROXY_SECTIONS,
    SECTION_DEFAULTS,
    Config,
    Diagnostic,
    Location,
    Proxy,
)
from lb.config.registry import KwContext, KwError, global_keyword, keyword, post_parse
from lb.config.types import parse_server_address
from lb.logs import syslog
from lb.logs.logformat import STYLES, TCPLOG, CompiledFormat, FormatError, compile_format
from lb.logs.model import KIND_FD, KIND_UDP, KIND_UNIX, SyslogTarget, area_of

FRONTEND_SIDE = ("defaults", "frontend", "listen")
_refs = itertools.count(1)
_STREAM_PREFIXES = ("ring@", "tcp@", "tcp4@", "tcp6@", "uxst@")
_UDP_PREFIXES = ("udp@", "udp4@", "udp6@", "ipv4@", "ipv6@")


# -- `log` lines ---------------------------------------------------------------------------------


def parse_log_args(args: list[str], in_global: bool) -> SyslogTarget:
    """`log <address> [len N] [format F] [sample R:S] <facility> [<level> [<minlevel>]]`."""
    if len(args) < 3:
        either = "" if in_global else "or global"
        raise KwError(f"log : expects <address> and <facility> {either} as arguments")
    target = SyslogTarget(address=args[1], format="local")
    i = 2
    if args[i] == "len":
        length = _atoi(args[i + 1] if i + 1 < len(args) else "")
        if not syslog.MIN_LEN <= length <= syslog.MAX_LEN:
            raise KwError(f"log : invalid log length '{args[i + 1] if i + 1 < len(args) else ''}', "
                          f"must be between {syslog.MIN_LEN} and {syslog.MAX_LEN}")
        target.length, i = length, i + 2
    if i < len(args) and args[i] == "format":
        name = args[i + 1] if i + 1 < len(args) else ""
        if name not in syslog.FORMATS:
            raise KwError(f"log : unknown log format '{name}'")
        target.format, target.format_explicit, i = name, True, i + 2
    if i < len(args) and args[i] == "sample":
        target.sample_ranges, target.sample_size = parse_sample(args[i + 1] if i + 1 < len(args) else "")
        i += 2
    _parse_levels(target, args[i:])
    _parse_address(target, args[1])
    return target


def _atoi(text: str) -> int:
    digits = ""
    for char in text:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0


def _parse_levels(target: SyslogTarget, words: list[str]) -> None:
    facility = words[0] if words else ""
    if facility not in syslog.FACILITIES:
        raise KwError(f"log : unknown log facility '{facility}'")
    target.facility = facility
    if len(words) > 1:
        if words[1] not in syslog.LEVELS:
            raise KwError(f"log : unknown optional log level '{words[1]}'")
        target.level = words[1]
    if len(words) > 2:
        if words[2] not in syslog.LEVELS:
            raise KwError(f"log : unknown optional minimum log level '{words[2]}'")
        target.minlevel = words[2]
    if len(words) > 3:
        raise KwError(f"log : cannot handle unexpected argument '{words[3]}'")


def parse_sample(text: str) -> tuple[tuple[tuple[int, int], ...], int]:
    """`1-2,5:6` -> (((1, 2), (5, 5)), 6), with HAProxy's error texts."""
    ranges_text, sep, size_text = text.partition(":")
    if not sep:
        raise KwError("log : Missing sample size")
    ranges = []
    for item in ranges_text.split(","):
        low_text, dash, high_text = item.partition("-")
        low, high = _atoi(low_text), _atoi(high_text) if dash else _atoi(low_text)
        if not low or not high or high < low or (dash and high == low) or not low_text.isdigit():
            raise KwError(f"log : wrong sample range '{item}'")
        if any(low <= h and high >= lo for lo, h in ranges):
            raise KwError("log : ranges are overlapping")
        ranges.append((low, high))
    size = _atoi(size_text)
    if not size or not size_text.isdigit():
        raise KwError(f"log : wrong sample size '{size_text}' for sample range '{ranges_text}'")
    top = max(h for _lo, h in ranges)
    if size < top:
        raise KwError(f"log : sample size {size} should be greater or equal to {top} the maximum of the high "
                      "ranges limits")
    return tuple(sorted(ranges)), size


def _parse_address(target: SyslogTarget, address: str) -> None:
    if address in ("stdout", "stderr"):
        address = "fd@1" if address == "stdout" else "fd@2"
    if address.startswith("fd@"):
        target.kind, target.fd = KIND_FD, _atoi(address[3:])
        return
    if address.startswith("unix@") or address.startswith("/"):
        target.kind, target.path = KIND_UNIX, address.removeprefix("unix@")
        return
    if address.startswith(_STREAM_PREFIXES):
        raise KwError(f"log : '{address}' : lb sends logs to UDP syslog servers, unix datagram sockets and "
                      "file descriptors only; ring buffers and stream targets are not supported")
    for prefix in _UDP_PREFIXES:
        address = address.removeprefix(prefix)
    try:
        host, port, family = parse_server_address(address)
    except ValueError as exc:
        raise KwError(f"log : {exc}") from None
    target.kind, target.host, target.port, target.family = KIND_UDP, host, port or syslog.DEFAULT_PORT, family


@global_keyword("log", doc="<target> [len N] [format F] [sample R:S] <facility> [<level> [<minlevel>]]")
def kw_global_log(ctx: KwContext, args: list[str]) -> None:
    logs = ctx.config.global_.logs
    if ctx.negated:
        if len(args) > 1:
            raise KwError("log : 'no log' does not expect arguments")
        logs.clear()
        return
    if len(args) == 2 and args[1] == "global":
        raise KwError("log : 'global' is not supported for a global syslog server")
    target = parse_log_args(args, in_global=True)
    target.loc, target.ref = ctx.loc, next(_refs)
    logs.append(target)


@keyword("log", PROXY_SECTIONS, doc="global | <target> [len N] [format F] <facility> [<level> [<minlevel>]]")
def kw_proxy_log(ctx: KwContext, args: list[str]) -> None:
    settings = _proxy(ctx).log
    if ctx.negated:
        if len(args) > 1:
            raise KwError("log : 'no log' does not expect arguments")
        settings.targets.clear()
        settings.use_global = False
        return
    if len(args) == 2 and args[1] == "global":
        settings.use_global = True
        present = {getattr(t, "ref", 0) for t in settings.targets}
        for target in ctx.config.global_.logs:  # copied now, as HAProxy: a later global line is not seen
            if getattr(target, "ref", 0) not in present:
                settings.targets.append(copy.copy(target))
        return
    target = parse_log_args(args, in_global=False)
    target.loc = ctx.loc
    settings.targets.append(target)


def _proxy(ctx: KwContext) -> Proxy:
    assert ctx.proxy is not None, "proxy keyword dispatched outside a proxy section"
    return ctx.proxy


# -- formats -------------------------------------------------------------------------------------


def _origin(proxy: Proxy) -> str:
    """How HAProxy names what set the current format: 'option httplog', 'log-format' ..."""
    style = proxy.log.style
    return f"option {style}" if style else "log-format"


def _set_format(ctx: KwContext, fmt: str, style: str | None, keyword_name: str) -> None:
    proxy = _proxy(ctx)
    if ctx.section == SECTION_DEFAULTS and proxy.log.format is not None:
        ctx.config.diagnostics.append(Diagnostic(
            "WARNING", f"'{keyword_name}' overrides previous '{_origin(proxy)}' in 'defaults' section.",
            ctx.loc, LOC_PARSING_TIGHT))  # fmt: skip
    proxy.log.format, proxy.log.style, proxy.log.loc = fmt, style, ctx.loc
    if ctx.section not in FRONTEND_SIDE:
        directive = keyword_name.removesuffix(" clf")
        ctx.warn(f"backend '{proxy.name}' : '{directive}' directive is ignored in backends.")


def _style_option(ctx: KwContext, args: list[str], name: str) -> None:
    if ctx.negated:
        raise KwError(f"negation/default is not supported for option '{name}'.")
    style = name
    if len(args) > 2:
        if args[2] != "clf" and name == "tcplog":
            raise KwError(f"'option {name}' cannot handle unexpected argument '{args[2]}'.")
        if args[2] != "clf":
            raise KwError(f"keyword '{name}' only supports option 'clf'.")
        if len(args) > 3:
            raise KwError(f"'option {name}' cannot handle unexpected argument '{args[3]}'.")
        style = f"{name} clf"
    _set_format(ctx, STYLES[style], style, f"option {style}")


@keyword("option httplog", PROXY_SECTIONS, doc="[clf]: log HTTP requests in HAProxy's HTTP format")
def kw_option_httplog(ctx: KwContext, args: list[str]) -> None:
    _style_option(ctx, args, "httplog")


@keyword("option tcplog", PROXY_SECTIONS, doc="[clf]: log connections in HAProxy's TCP format")
def kw_option_tcplog(ctx: KwContext, args: list[str]) -> None:
    _style_option(ctx, args, "tcplog")


@keyword("log-format", PROXY_SECTIONS, doc="<format>: the traffic log line, with %aliases")
def kw_log_format(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2:
        raise KwError("log-format expects an argument.")
    if len(args) > 2:
        raise KwError("log-format expects only one argument, don't forget to escape spaces!")
    _set_format(ctx, args[1], None, "log-format")


@keyword("log-format-sd", PROXY_SECTIONS, doc="<format>: the RFC5424 structured-data field")
def kw_log_format_sd(ctx: KwContext, args: list[str]) -> None:
    if len(args) != 2:
        raise KwError("log-format-sd expects an argument.")
    area = area_of(_proxy(ctx))
    area.format_sd, area.format_sd_loc = args[1], ctx.loc


@keyword("option dontlog-normal", FRONTEND_SIDE, doc="log only errors, timeouts, retries, redispatches and 5xx")
def kw_option_dontlog_normal(ctx: KwContext, args: list[str]) -> None:
    if len(args) > 2:
        raise KwError(f"'option dontlog-normal' cannot handle unexpected argument '{args[2]}'.")
    _proxy(ctx).options["dontlog-normal"] = not ctx.negated


@global_keyword("log-tag", doc="tag in the syslog header (default 'lb')")
def kw_global_log_tag(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2 or not args[1]:
        raise KwError("'log-tag' expects a tag for use in syslog.")
    ctx.config.global_.log_tag = args[1]


@keyword("log-tag", PROXY_SECTIONS, doc="tag in the syslog header of this proxy's lines")
def kw_proxy_log_tag(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2 or not args[1]:
        raise KwError("'log-tag' expects a tag for use in syslog.")
    area_of(_proxy(ctx)).tag = args[1]


@global_keyword("log-send-hostname", doc="[<name>]: add a host name to syslog headers (default: this host's)")
def kw_log_send_hostname(ctx: KwContext, args: list[str]) -> None:
    ctx.config.global_.extras["log_send_hostname"] = args[1] if len(args) > 1 else socket.gethostname()


# -- post-parse: one compiled format per frontend -------------------------------------------------


def proxy_type(proxy: Proxy) -> str:
    """HAProxy's proxy_type_str(): a listen section is a 'proxy'."""
    return {"listen": "proxy", "frontend": "frontend", "backend": "backend"}.get(proxy.section, "proxy")


def _where(loc: Location | None) -> str:
    return f"[{loc}]" if loc else "[?]"


@post_parse(order=60)
def compile_log_formats(config: Config) -> None:
    """Check every frontend's format against its mode and compile it for the workers."""
    for proxy in config.frontends.values():
        area = area_of(proxy)
        area.compiled = area.compiled_sd = None
        area.accept_line = False
        if proxy.log.format is None:
            area.accept_line = bool(proxy.log.targets)  # HAProxy's "Connect from ..." line
            continue
        text = _effective_format(config, proxy)
        if not proxy.log.targets:
            config.diagnostics.append(Diagnostic(
                "WARNING", f"log format ignored for {proxy_type(proxy)} '{proxy.name}' since it has no log address.",
                None, LOC_HIDDEN))  # fmt: skip
            continue
        area.compiled = _compile(config, proxy, text, proxy.log.loc, "log-format")
        if area.format_sd:
            area.compiled_sd = _compile(config, proxy, area.format_sd, area.format_sd_loc, "log-format-sd")


def _effective_format(config: Config, proxy: Proxy) -> str:
    style = proxy.log.style
    if proxy.mode == MODE_TCP and style in ("httplog", "httplog clf"):
        config.diagnostics.append(Diagnostic(
            "WARNING", f"'option httplog' not usable with {proxy_type(proxy)} '{proxy.name}' (needs 'mode http'). "
            "Falling back to 'option tcplog'.", proxy.log.loc, LOC_PARSING))  # fmt: skip
        return TCPLOG
    return proxy.log.format or ""


def _compile(config: Config, proxy: Proxy, text: str, loc: Location | None, directive: str) -> CompiledFormat | None:
    try:
        compiled = compile_format(text, proxy.mode)
    except FormatError as exc:
        config.diagnostics.append(Diagnostic(
            "ALERT", f"Parsing {_where(loc)}: failed to parse {directive} : {exc}.", loc, LOC_HIDDEN))  # fmt: skip
        return None
    if proxy.mode == MODE_TCP:
        for what, name in dict.fromkeys(compiled.http_only):
            config.diagnostics.append(Diagnostic(
                "WARNING", f"{what} '{name}' used from {proxy_type(proxy)} '{proxy.name}' may not work as expected "
                "(item depends on HTTP proxy mode).", loc, LOC_PARSING_TIGHT))  # fmt: skip
    for note in compiled.notes:
        config.diagnostics.append(Diagnostic("WARNING", f"{directive} : {note}.", loc, LOC_PARSING))
    return compiled
