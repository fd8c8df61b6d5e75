"""HTTP/2 keywords: `tune.h2.*`, `bind ... proto h2` and `server ... proto h2` (master, cli; values read by workers).

    global
        tune.h2.max-concurrent-streams 100   # streams a client may have open at once
        tune.h2.initial-window-size 65535    # what a client may upload per stream before lb acknowledges
        tune.h2.header-table-size 4096       # HPACK dynamic table lb accepts from clients
        tune.h2.max-frame-size 16384         # largest frame lb accepts
    frontend fe
        bind :443 ssl crt site.pem alpn h2,http/1.1   # h2 negotiated by ALPN
        bind :8080 proto h2                            # cleartext h2 with prior knowledge (h2c)
    backend grpc
        server s1 10.0.0.1:50051 proto h2              # HTTP/2 to the server, cleartext (gRPC)

Values and messages are HAProxy 2.6's (mux_h2.c's parsers accept what
atoi() reads; lb refuses what is not a number, with the same message).
"""

from __future__ import annotations

from typing import Any

from lb.config.registry import KwContext, KwError, bind_keyword, global_keyword, server_keyword

MUX_PROTOCOLS = ("h1", "h2")  # what `proto` accepts (HAProxy also knows fcgi, which lb does not speak)


def _number(args: list[str]) -> int | None:
    if len(args) > 2:
        raise KwError(f"'{args[0]}' cannot handle unexpected argument '{args[2]}'.")
    text = args[1] if len(args) > 1 else ""
    return int(text) if text.isascii() and text.lstrip("-").isdigit() else None


def parse_range(args: list[str], low: int, high: int) -> int:
    """tune.h2.header-table-size and max-frame-size: a number within [low, high]."""
    value = _number(args)
    if value is None or not low <= value <= high:
        raise KwError(f"'{args[0]}' expects a numeric value between {low} and {high}.")
    return value


def parse_positive(args: list[str]) -> int:
    """tune.h2.initial-window-size and max-concurrent-streams: zero or more."""
    value = _number(args)
    if value is None or value < 0 or value > 2**31 - 1:
        raise KwError(f"'{args[0]}' expects a positive numeric value.")
    return value


@global_keyword("tune.h2.max-concurrent-streams", doc="streams a client may open at once per connection (default 100)")
def kw_max_streams(ctx: KwContext, args: list[str]) -> None:
    ctx.config.global_.h2_max_streams = parse_positive(args)


@global_keyword("tune.h2.initial-window-size", doc="bytes a client may upload per stream before an acknowledgment")
def kw_initial_window(ctx: KwContext, args: list[str]) -> None:
    ctx.config.global_.h2_window = parse_positive(args)


@global_keyword("tune.h2.header-table-size", doc="HPACK dynamic table size, 4096-65536 (default 4096)")
def kw_header_table(ctx: KwContext, args: list[str]) -> None:
    ctx.config.global_.h2_header_table = parse_range(args, 4096, 65536)


@global_keyword("tune.h2.max-frame-size", doc="largest HTTP/2 frame accepted (default: max(16384, tune.bufsize))")
def kw_max_frame(ctx: KwContext, args: list[str]) -> None:
    ctx.config.global_.h2_max_frame = parse_range(args, 16384, 16777215)


def parse_proto(word: str, value: str) -> str:
    if not value:
        raise KwError(f"'{word}' : missing value")
    if value not in MUX_PROTOCOLS:
        raise KwError(f"'{word}' :  unknown MUX protocol '{value}'")  # two blanks: HAProxy's text
    return value


@bind_keyword("proto", 1, doc="h2: speak HTTP/2 without TLS (prior knowledge); h1: HTTP/1 only")
def bkw_proto(options: dict[str, Any], args: list[str]) -> None:
    options["proto"] = parse_proto("proto", args[0])


@server_keyword("proto", 1, doc="h2: HTTP/2 to this server in clear text (gRPC), streams multiplexed; h1: HTTP/1.1")
def skw_proto(ctx: KwContext, server: Any, args: list[str]) -> None:
    try:
        server.proto = parse_proto("proto", args[0])
    except KwError as exc:
        raise KwError(f"{exc}.") from None  # HAProxy ends the server's message with a period, not the bind's
