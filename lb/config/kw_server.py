"""`server` and `default-server` lines and their general keywords (master, cli).

Health-check keywords of server lines (check, inter, rise, ...) are
registered by lb.checker.keywords, next to the checker.
"""

from __future__ import annotations

import copy

from lb.config.kw_proxy import BACKEND_SIDE, proxy_of
from lb.config.model import LOC_BARE, SECTION_BACKEND, SECTION_LISTEN, Diagnostic, Server
from lb.config.registry import REGISTRY, KwContext, KwError, keyword, server_keyword, suggest
from lb.config.types import is_integer, parse_int, parse_server_address


def _server_alert(ctx: KwContext, what: str, message: str) -> None:
    """HAProxy reports server-line problems in its server parsing context:
    `[file:line] : 'server be/s1' : <message>` (no "parsing")."""
    ctx.config.diagnostics.append(Diagnostic("ALERT", f"'{what}' : {message}", ctx.loc, LOC_BARE))


def _apply_server_keywords(ctx: KwContext, server: Server, words: list[str], default_server: bool) -> None:
    """Run every keyword of a server line; report each problem and go on."""
    rest = list(words)
    what = "default-server" if default_server else f"server {proxy_of(ctx).name}/{server.name}"
    while rest:
        word = rest.pop(0)
        skw = REGISTRY.server_keywords.get(word)
        if skw is None or (default_server and not skw.default_server):
            hint = suggest(word, sorted(REGISTRY.server_keywords))
            tail = f"; did you mean '{hint}' maybe ?" if hint else ""
            _server_alert(ctx, what, f"unknown keyword '{word}'{tail}")
            continue
        if len(rest) < skw.nargs:
            _server_alert(ctx, what, f"'{word}' expects {skw.nargs} argument(s).")
            return
        args, rest = rest[: skw.nargs], rest[skw.nargs :]
        try:
            skw.handler(ctx, server, args)
        except (KwError, ValueError) as exc:
            text = str(exc)
            _server_alert(ctx, what, text if text.startswith((f"'{word}'", word)) else f"'{word}' : {text}")
            continue
        if not skw.applied:
            ctx.warn(f"'{what}' : '{word}' is parsed but not applied by lb yet; it has no effect.")


@keyword("server", (SECTION_BACKEND, SECTION_LISTEN), doc="<name> <addr>[:port] [params*]")
def kw_server(ctx: KwContext, args: list[str]) -> None:
    proxy = proxy_of(ctx)
    if len(args) < 3:
        raise KwError(f"'server' expects <name> and <addr>[:<port>] as arguments.")
    name = args[1]
    for other in proxy.servers:
        if other.name == name:
            raise KwError(
                f"{proxy.section} '{proxy.name}', another server named '{name}' was already defined at "
                f"line {other.loc.line if other.loc else '?'}, please use distinct names."
            )
    server = copy.deepcopy(proxy.default_server)
    server.name, server.loc = name, ctx.loc
    server.host, server.port, server.family = parse_server_address(args[2])
    server.id = len(proxy.servers) + 1
    _apply_server_keywords(ctx, server, args[3:], default_server=False)
    proxy.servers.append(server)


@keyword("default-server", BACKEND_SIDE, doc="[params*]: defaults for the server lines that follow")
def kw_default_server(ctx: KwContext, args: list[str]) -> None:
    _apply_server_keywords(ctx, proxy_of(ctx).default_server, args[1:], default_server=True)


@server_keyword("weight", 1, doc="relative share of the load, 0-256 (default 1)")
def skw_weight(ctx: KwContext, server: Server, args: list[str]) -> None:
    try:
        server.weight = parse_int(args[0], 0, 256, "weight")
    except ValueError:
        if not is_integer(args[0]):
            raise
        raise KwError(f"weight of server {server.name} is not within 0 and 256 ({int(args[0])}).") from None


@server_keyword("backup", doc="only used when no active server is usable")
def skw_backup(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.backup = True


@server_keyword("no-backup", doc="cancel a 'backup' from default-server")
def skw_no_backup(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.backup = False


@server_keyword("maxconn", 1, doc="concurrent connections sent to the server; excess waits in a queue")
def skw_maxconn(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.maxconn = parse_int(args[0], 0, 10_000_000, "maxconn")


@server_keyword("maxqueue", 1, applied=False, doc="queue limit for this server (0: unlimited)")
def skw_maxqueue(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.maxqueue = parse_int(args[0], 0, 10_000_000, "maxqueue")


@server_keyword("disabled", doc="start in maintenance")
def skw_disabled(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.disabled = True


@server_keyword("enabled", doc="cancel a 'disabled' from default-server")
def skw_enabled(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.disabled = False


@server_keyword("cookie", 1, doc="value of the persistence cookie for this server")
def skw_cookie(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.cookie = args[0]


@server_keyword("id", 1, doc="numeric id (balance first orders by it)", default_server=False)
def skw_id(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.id = parse_int(args[0], 1, 2**31 - 1, "id")
    server.extras["forced_id"] = True


@server_keyword("send-proxy", doc="send a PROXY protocol v1 header on every connection")
def skw_send_proxy(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.send_proxy = 1


@server_keyword("send-proxy-v2", doc="send a PROXY protocol v2 header on every connection")
def skw_send_proxy_v2(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.send_proxy = 2


@server_keyword("no-send-proxy", doc="cancel send-proxy from default-server")
def skw_no_send_proxy(ctx: KwContext, server: Server, args: list[str]) -> None:
    server.send_proxy = 0


for _name, _nargs in (("slowstart", 1), ("observe", 1), ("on-error", 1), ("on-marked-down", 1),
                      ("on-marked-up", 1), ("error-limit", 1), ("resolvers", 1), ("resolve-prefer", 1),
                      ("track", 1), ("agent-check", 0), ("agent-port", 1), ("agent-inter", 1),
                      ("pool-max-conn", 1), ("pool-purge-delay", 1), ("tfo", 0)):  # fmt: skip
    server_keyword(_name, _nargs, applied=False, doc="accepted for compatibility; no effect in lb")(
        lambda ctx, server, args: None
    )
