"""Keywords of HTTP compression: `compression ...` in proxies, the global ceilings and zlib tuning (master, cli).

Messages are HAProxy's (src/flt_http_comp.c, cfgparse-global.c,
compression.c), including the doubled location of a `compression algo`
without argument, which HAProxy prints that way.  `compression direction`
is HAProxy 2.8's syntax; lb compresses responses only, so `request` is
refused and `both` warns.  `algo-res`/`type-res` are 2.8's names of
`algo`/`type`.
"""

from __future__ import annotations

from lb.compression.model import (
    ALGORITHM_TOKENS,
    DIRECTION_BOTH,
    DIRECTION_REQUEST,
    DIRECTION_RESPONSE,
    limits_for,
    settings_for,
)
from lb.config.kw_proxy import proxy_of
from lb.config.model import SECTION_DEFAULTS
from lb.config.registry import KwContext, KwError, global_keyword, keyword
from lb.config.types import is_integer

SUBCOMMANDS = "'algo', 'type' 'direction' or 'offload'"  # sic: HAProxy 2.8's message


@keyword("compression", doc="algo <algo>... | type <mime>... | offload | direction response: compress responses")
def kw_compression(ctx: KwContext, args: list[str]) -> None:
    what = args[1] if len(args) > 1 else ""
    if what in ("algo", "algo-res"):
        _algorithms(ctx, args[2:])
    elif what in ("type", "type-res"):
        if len(args) < 3:
            raise KwError("'compression' expects <type>.")
        settings = settings_for(proxy_of(ctx))
        for mime in args[2:]:
            settings.types.insert(0, mime)
    elif what == "offload":
        if ctx.section == SECTION_DEFAULTS:
            ctx.warn("'compression' : 'offload' ignored in 'defaults' section.")
            settings_for(proxy_of(ctx))  # HAProxy still gives the defaults a compression setup
            return
        settings_for(proxy_of(ctx)).offload = True
    elif what == "direction":
        _direction(ctx, args[2] if len(args) > 2 else "")
    else:
        raise KwError(f"'compression' expects {SUBCOMMANDS}")


def _algorithms(ctx: KwContext, names: list[str]) -> None:
    if not names:
        raise KwError(f"parsing [{ctx.loc}] : 'compression' expects <algorithm>.")
    settings = settings_for(proxy_of(ctx))
    for name in names:
        if name not in ALGORITHM_TOKENS:
            raise KwError(f"'compression' : '{name}' is not a supported algorithm.")
        settings.algos.insert(0, name)


def _direction(ctx: KwContext, value: str) -> None:
    if value not in (DIRECTION_REQUEST, DIRECTION_RESPONSE, DIRECTION_BOTH):
        raise KwError("'compression' expects 'request', 'response', or 'both'.")
    if value == DIRECTION_REQUEST:
        raise KwError("'compression direction request' is not supported: lb compresses responses only.")
    if value == DIRECTION_BOTH:
        ctx.warn("'compression direction both' : lb compresses responses only; requests are sent as they come.")
    settings_for(proxy_of(ctx)).direction = DIRECTION_RESPONSE


# -- global ------------------------------------------------------------------------------


def _one_value(args: list[str], message: str) -> str:
    """The single argument of a global keyword (HAProxy: alertif_too_many_args, then its own message)."""
    if len(args) > 2:
        raise KwError(f"'{args[0]}' cannot handle unexpected argument '{args[2]}'.")
    if len(args) < 2 or not is_integer(args[1]):
        raise KwError(message)
    return args[1]


def _ranged(args: list[str], low: int, high: int, message: str) -> int:
    value = int(_one_value(args, message))
    if not low <= value <= high:
        raise KwError(message)
    return value


@global_keyword("maxcomprate", doc="<kB/s>: compressor input rate of a worker above which new responses are not "
                "compressed")
def kw_maxcomprate(ctx: KwContext, args: list[str]) -> None:
    rate = _ranged(args, 0, 1 << 31, "'maxcomprate' expects an integer argument in kb/s.")
    limits_for(ctx.config.global_).max_rate = rate * 1024


@global_keyword("maxcompcpuusage", doc="<percent>: worker CPU usage above which new responses are not compressed")
def kw_maxcompcpuusage(ctx: KwContext, args: list[str]) -> None:
    usage = _ranged(args, 0, 100, "'maxcompcpuusage' expects an integer argument between 0 and 100.")
    limits_for(ctx.config.global_).max_cpu = usage


@global_keyword("maxzlibmem", doc="<MB>: compressor memory per worker above which new responses are not compressed")
def kw_maxzlibmem(ctx: KwContext, args: list[str]) -> None:
    megabytes = _ranged(args, 0, 1 << 31, "'maxzlibmem' expects an integer argument.")
    limits_for(ctx.config.global_).max_memory = megabytes * 1024 * 1024


@global_keyword("tune.comp.maxlevel", doc="<1-9>: zlib compression level (default 1)")
def kw_tune_comp_maxlevel(ctx: KwContext, args: list[str]) -> None:
    level = _ranged(args, 1, 9, "'tune.comp.maxlevel' expects a numeric value between 1 and 9")
    limits_for(ctx.config.global_).level = level


@global_keyword("tune.zlib.memlevel", doc="<1-9>: zlib memLevel of each compressor (default 8)")
def kw_tune_zlib_memlevel(ctx: KwContext, args: list[str]) -> None:
    mem_level = _ranged(args, 1, 9, "'tune.zlib.memlevel' expects a numeric value between 1 and 9.")
    limits_for(ctx.config.global_).mem_level = mem_level


@global_keyword("tune.zlib.windowsize", doc="<8-15>: zlib window bits of each compressor (default 15)")
def kw_tune_zlib_windowsize(ctx: KwContext, args: list[str]) -> None:
    bits = _ranged(args, 8, 15, "'tune.zlib.windowsize' expects a numeric value between 8 and 15.")
    limits_for(ctx.config.global_).window_bits = bits
