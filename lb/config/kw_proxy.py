"""Core keywords of defaults/frontend/backend/listen sections (master, cli).

Feature areas register their own keywords next to their code (balancing in
lb.balance, checks in lb.checker, logging in lb.logs, HTTP rules in lb.rules);
this module holds what every proxy has: mode, bind, routing to backends,
timeouts, retries, maxconn and the plain on/off options.
"""

from __future__ import annotations

from lb.config.model import (
    MODE_HTTP,
    MODE_TCP,
    SECTION_BACKEND,
    SECTION_DEFAULTS,
    SECTION_FRONTEND,
    SECTION_LISTEN,
    Bind,
    Condition,
    Proxy,
    UseBackend,
)
from lb.config.registry import REGISTRY, KwContext, KwError, bind_keyword, keyword, suggest
from lb.config.types import (
    TimeValueError,
    is_suspicious_time,
    parse_bind_address,
    parse_inherited_fd,
    parse_int,
    parse_time,
)

FRONTEND_SIDE = (SECTION_DEFAULTS, SECTION_FRONTEND, SECTION_LISTEN)
BACKEND_SIDE = (SECTION_DEFAULTS, SECTION_BACKEND, SECTION_LISTEN)
NAMED_ONLY_FRONTEND = (SECTION_FRONTEND, SECTION_LISTEN)


def proxy_of(ctx: KwContext) -> Proxy:
    assert ctx.proxy is not None, "proxy keyword dispatched outside a proxy section"
    return ctx.proxy


def parse_condition(ctx: KwContext, words: list[str]) -> Condition | None:
    """`if|unless <words>` at the end of a directive -> Condition (compiled later)."""
    if not words:
        return None
    if words[0] not in ("if", "unless"):
        raise KwError(f"expects 'if' or 'unless' followed by a condition, got '{words[0]}'.")
    if len(words) < 2:
        raise KwError(f"missing condition after '{words[0]}'.")
    return Condition(words[0], words[1:], ctx.loc)


@keyword("mode", doc="tcp | http")
def kw_mode(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2 or args[1] not in (MODE_TCP, MODE_HTTP):
        got = args[1] if len(args) > 1 else ""
        raise KwError(f"'mode' expects 'tcp' or 'http' (got '{got}'); 'health' and 'log' are not supported by lb.")
    proxy = proxy_of(ctx)
    proxy.mode, proxy.mode_set = args[1], True


@keyword("bind", NAMED_ONLY_FRONTEND, doc="<addr>:<port>[,...] | fd@<n> [accept-proxy] [name N]")
def kw_bind(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2:
        raise KwError("'bind' expects [addr1]:port1[-end1]{,[addr]:port[-end]}... as arguments.")
    options = _bind_options(args[2:], args[1], ctx.section)
    proxy = proxy_of(ctx)
    for text in args[1].split(","):
        if text.startswith("fd@"):  # an inherited listening socket (lb.listeners uses it as is)
            fd, *address = parse_inherited_fd(text)
            addresses, extra = [tuple(address)], {"fd": fd}
        else:
            addresses, extra = parse_bind_address(text), {}
        for host, port, family in addresses:
            bind = Bind(host, port, int(family), loc=ctx.loc, options={**options, **extra})
            if any(b.key == bind.key for b in proxy.binds):
                ctx.warn(f"'bind {text}' : address already bound in {proxy.section} '{proxy.name}'.")
                continue
            proxy.binds.append(bind)


def _bind_options(words: list[str], address: str = "", section: str = "") -> dict[str, object]:
    """Options after the address of a `bind` line, through the bind keyword table."""
    options: dict[str, object] = {}
    rest = list(words)
    while rest:
        word = rest.pop(0)
        bkw = REGISTRY.bind_keywords.get(word)
        if bkw is None:
            hint = suggest(word, sorted(REGISTRY.bind_keywords))
            tail = f"; did you mean '{hint}' maybe ?" if hint else "."
            raise KwError(f"'bind {address}' in section '{section}': unknown keyword '{word}'{tail}")
        if len(rest) < bkw.nargs:
            raise KwError(f"'bind {address}' : missing argument for '{word}'.")
        bkw.handler(options, rest[: bkw.nargs])
        del rest[: bkw.nargs]
    return options


@bind_keyword("accept-proxy", doc="expect a PROXY protocol v1 or v2 header on every connection")
def bkw_accept_proxy(options: dict[str, object], args: list[str]) -> None:
    options["accept_proxy"] = True


@bind_keyword("name", 1, doc="a name for this listener")
def bkw_name(options: dict[str, object], args: list[str]) -> None:
    options["name"] = args[0]


@bind_keyword("id", 1, doc="numeric id of this listener (fetch so_id; default: its rank in the proxy)")
def bkw_id(options: dict[str, object], args: list[str]) -> None:
    options["id"] = parse_int(args[0], 1, 2**31 - 1, "id")


for _ignored, _nargs in (("process", 1), ("thread", 1), ("backlog", 1), ("maxconn", 1), ("mss", 1),
                         ("interface", 1), ("nice", 1), ("tcp-ut", 1), ("transparent", 0),
                         ("defer-accept", 0), ("tfo", 0), ("v4v6", 0), ("v6only", 0)):  # fmt: skip
    bind_keyword(_ignored, _nargs, doc="accepted for compatibility; no effect in lb")(lambda options, args: None)


@keyword("default_backend", FRONTEND_SIDE, doc="backend used when no use_backend rule matches")
def kw_default_backend(ctx: KwContext, args: list[str]) -> None:
    if len(args) != 2:
        raise KwError("'default_backend' expects a backend name.")
    proxy = proxy_of(ctx)
    proxy.default_backend, proxy.default_backend_loc = args[1], ctx.loc


@keyword("use_backend", NAMED_ONLY_FRONTEND, doc="<backend> [if|unless <cond>]")
def kw_use_backend(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2:
        raise KwError("'use_backend' expects a backend name.")
    cond = parse_condition(ctx, args[2:])
    proxy_of(ctx).use_backends.append(UseBackend(args[1], cond, ctx.loc))


@keyword("maxconn", FRONTEND_SIDE, doc="frontend limit of concurrent connections")
def kw_maxconn(ctx: KwContext, args: list[str]) -> None:
    if len(args) != 2:
        raise KwError("'maxconn' expects an integer argument.")
    proxy_of(ctx).maxconn = parse_int(args[1], 0, 10_000_000, "maxconn")


@keyword("retries", BACKEND_SIDE, doc="connection attempts after a failed connect (default 3)")
def kw_retries(ctx: KwContext, args: list[str]) -> None:
    if len(args) != 2:
        raise KwError("'retries' expects an integer argument.")
    proxy_of(ctx).retries = parse_int(args[1], 0, 100, "retries")


# timeout <name>: which sections may set it (HAProxy's cfg §4.2 matrix)
_TIMEOUTS = {
    "connect": BACKEND_SIDE,
    "client": FRONTEND_SIDE,
    "server": BACKEND_SIDE,
    "tunnel": BACKEND_SIDE,
    "queue": BACKEND_SIDE,
    "check": BACKEND_SIDE,
    "http-request": (SECTION_DEFAULTS, SECTION_FRONTEND, SECTION_LISTEN, SECTION_BACKEND),
    "http-keep-alive": (SECTION_DEFAULTS, SECTION_FRONTEND, SECTION_LISTEN, SECTION_BACKEND),
    "client-fin": FRONTEND_SIDE,
    "server-fin": BACKEND_SIDE,
    "tarpit": (SECTION_DEFAULTS, SECTION_FRONTEND, SECTION_LISTEN, SECTION_BACKEND),
}
# HAProxy 2.6's order in its message about an unknown timeout
_TIMEOUT_LIST = ("'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', "
                 "'tarpit', 'client-fin' and 'server-fin'")  # fmt: skip
_TIMEOUT_ALIASES = {"contimeout": "connect", "clitimeout": "client", "srvtimeout": "server"}


@keyword("timeout", doc="connect|client|server|tunnel|queue|check|http-request|http-keep-alive|client-fin|server-fin|"
         "tarpit <time>")
def kw_timeout(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2 or args[1] not in _TIMEOUTS:
        got = args[1] if len(args) > 1 else ""
        raise KwError(f"'timeout' supports {_TIMEOUT_LIST} (got '{got}')")
    name = args[1]
    if len(args) < 3 or not args[2]:
        raise KwError(f"'timeout {name}' expects an integer value (in milliseconds)")
    if len(args) > 3:
        raise KwError(f"'timeout {name}' cannot handle unexpected argument '{args[3]}'.")
    proxy = proxy_of(ctx)
    value = _timeout_value(name, args[2])
    if is_suspicious_time(args[2]):
        ctx.warn(
            f"'timeout {name} {value}' in {_kind(proxy)} '{proxy.name}' is suspiciously small for a value in "
            f"milliseconds. Please use an explicit unit ('{value}ms') if that was the intent."
        )
    if ctx.section not in _TIMEOUTS[name]:
        side = "backend" if SECTION_BACKEND in _TIMEOUTS[name] else "frontend"
        ctx.warn(f"'timeout {name}' will be ignored because {_kind(proxy)} '{proxy.name}' has no {side} capability")
        return
    setattr(proxy.timeouts, name.replace("-", "_"), value)
    if name in NOT_APPLIED_TIMEOUTS:
        ctx.warn(f"'timeout {name}' is parsed but not applied by lb yet; it has no effect.")


NOT_APPLIED_TIMEOUTS = ("client-fin", "server-fin")


def _kind(proxy: Proxy) -> str:
    """HAProxy's proxy_type_str(): a listen section is a 'proxy'."""
    return "proxy" if proxy.section == SECTION_LISTEN else proxy.section


def _timeout_value(name: str, text: str) -> int:
    """parse_time() with the texts HAProxy's 'timeout' keyword uses."""
    try:
        return parse_time(text)
    except TimeValueError as exc:
        if exc.bad_char is None:
            raise KwError(
                f"timer overflow in argument '{text}' to 'timeout {name}' (maximum value is 2147483647 ms or ~24.8 days)"
            ) from None
        raise KwError(f"unexpected character '{exc.bad_char}' in 'timeout {name}'") from None


for _alias in _TIMEOUT_ALIASES:
    @keyword(_alias, doc=f"deprecated alias of 'timeout {_TIMEOUT_ALIASES[_alias]}'")
    def _kw_timeout_alias(ctx: KwContext, args: list[str]) -> None:
        kw_timeout(ctx, ["timeout", _TIMEOUT_ALIASES[args[0]], *args[1:]])


@keyword("disabled", doc="start this proxy stopped")
def kw_disabled(ctx: KwContext, args: list[str]) -> None:
    proxy_of(ctx).disabled = True


@keyword("enabled", doc="cancel a 'disabled' inherited from defaults")
def kw_enabled(ctx: KwContext, args: list[str]) -> None:
    proxy_of(ctx).disabled = False


@keyword("description", doc="free text, shown nowhere yet")
def kw_description(ctx: KwContext, args: list[str]) -> None:
    pass


@keyword("errorfile", doc="<code> <file>: a raw HTTP response that replaces the built-in one")
def kw_errorfile(ctx: KwContext, args: list[str]) -> None:
    allowed = (200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 414, 425, 429, 431, 500, 501, 502, 503, 504)
    if len(args) != 3:
        raise KwError("'errorfile' expects <code> and <file> as arguments.")
    code = parse_int(args[1], 100, 599, "status code")
    if code not in allowed:
        codes = ", ".join(str(c) for c in allowed)
        raise KwError(f"'errorfile' : status code '{code}' not handled (allowed: {codes}).")
    try:
        with open(args[2], "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise KwError(f"'errorfile' : error opening file '{args[2]}' : {exc.strerror}.") from None
    proxy_of(ctx).errorfiles[code] = data


def _register_flag_option(name: str, sections: tuple[str, ...], applied: bool, doc: str) -> None:
    @keyword(f"option {name}", sections, applied=applied, doc=doc)
    def handler(ctx: KwContext, args: list[str]) -> None:
        if len(args) > 2:
            raise KwError(f"'option {name}' cannot handle unexpected argument '{args[2]}'.")
        options = proxy_of(ctx).options
        if name in HTTP_CONNECTION_MODES and not ctx.negated:
            for other in HTTP_CONNECTION_MODES:  # mutually exclusive: the last one written wins
                options.pop(other, None)
        options[name] = not ctx.negated


HTTP_CONNECTION_MODES = ("http-keep-alive", "http-server-close", "httpclose")

# Plain on/off options: name -> (sections, applied by lb today, description).
FLAG_OPTIONS: dict[str, tuple[tuple[str, ...], bool, str]] = {
    "dontlognull": (FRONTEND_SIDE, True, "do not log sessions that carried no data"),
    "allbackups": (BACKEND_SIDE, True, "balance over every backup server, not only the first"),
    "http-server-close": ((*FRONTEND_SIDE, SECTION_BACKEND), True, "close the server side after each response"),
    "httpclose": ((*FRONTEND_SIDE, SECTION_BACKEND), True, "close both sides after each response"),
    "http-keep-alive": ((*FRONTEND_SIDE, SECTION_BACKEND), True, "keep both sides open (default)"),
    "log-separate-errors": (FRONTEND_SIDE, True, "log errors at level err"),
    "log-health-checks": (BACKEND_SIDE, True, "log every health check transition"),
    "persist": (BACKEND_SIDE, True, "send persistent traffic to a down server anyway"),
    "tcpka": ((*FRONTEND_SIDE, SECTION_BACKEND), True, "TCP keep-alive on both sides"),
    "clitcpka": (FRONTEND_SIDE, True, "TCP keep-alive on the client side"),
    "srvtcpka": (BACKEND_SIDE, True, "TCP keep-alive on the server side"),
    "abortonclose": (BACKEND_SIDE, False, "drop a queued request whose client left"),
    "http-buffer-request": ((*FRONTEND_SIDE, SECTION_BACKEND), False, "wait for the whole body"),
    "logasap": (FRONTEND_SIDE, False, "log before the end of the session"),
    "splice-auto": ((*FRONTEND_SIDE, SECTION_BACKEND), True, "splice a tcp stream once it streams fast"),
    "splice-request": ((*FRONTEND_SIDE, SECTION_BACKEND), True, "splice client-to-server tcp bytes"),
    "splice-response": ((*FRONTEND_SIDE, SECTION_BACKEND), True, "splice server-to-client tcp bytes"),
    "nolinger": ((*FRONTEND_SIDE, SECTION_BACKEND), False, "RST instead of FIN on close"),
    "http-no-delay": ((*FRONTEND_SIDE, SECTION_BACKEND), False, "no Nagle on HTTP"),
    "independent-streams": ((*FRONTEND_SIDE, SECTION_BACKEND), False, "separate read/write timeouts"),
    "contstats": (FRONTEND_SIDE, False, "continuous traffic statistics"),
    "socket-stats": (FRONTEND_SIDE, False, "per-listener statistics"),
    "http-use-htx": ((*FRONTEND_SIDE, SECTION_BACKEND), False, "always on in lb (no effect)"),
}
for _name, (_sections, _applied, _doc) in FLAG_OPTIONS.items():
    _register_flag_option(_name, _sections, _applied, _doc)


@keyword("option redispatch", BACKEND_SIDE, doc="[<interval>]: retry on another server after a failed connect")
def kw_option_redispatch(ctx: KwContext, args: list[str]) -> None:
    proxy = proxy_of(ctx)
    if ctx.negated:
        proxy.redispatch = 0
        return
    proxy.redispatch = -1
    if len(args) > 2:
        proxy.redispatch = parse_int(args[2], -1000, 1000, "redispatch interval")

