"""Health-check keywords of server lines, registered next to the checker (master, cli)."""

from __future__ import annotations

from lb.config.model import Server
from lb.config.registry import KwContext, KwError, server_keyword
from lb.config.types import is_suspicious_time, parse_int, parse_port, parse_time

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
