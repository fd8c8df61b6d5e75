"""`unique-id-format` and `unique-id-header`: an ID per request (master, cli; rendered in worker).

    unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    unique-id-header X-Unique-ID

The format is a log-format string, compiled once at load with the log
format compiler (lb.logs.logformat) and rendered when a request's head is
complete, from what is known then (addresses, accept date, %rt, %pid).
The ID is logged as %ID and, with `unique-id-header`, added to the request
sent to the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lb.config.kw_proxy import FRONTEND_SIDE, proxy_of
from lb.config.model import Config
from lb.config.registry import KwContext, KwError, keyword, post_parse

AREA = "unique-id"


@dataclass
class UniqueId:
    format: str | None = None
    header: str | None = None
    compiled: Any = None  # lb.logs.logformat.CompiledFormat, set after parsing


def _area(ctx: KwContext) -> UniqueId:
    proxy = proxy_of(ctx)
    area = proxy.areas.get(AREA)
    if area is None:
        area = proxy.areas[AREA] = UniqueId()
    return area


@keyword("unique-id-format", FRONTEND_SIDE, doc="<log-format>: an ID for each request, logged as %ID")
def kw_unique_id_format(ctx: KwContext, args: list[str]) -> None:
    if len(args) != 2:
        raise KwError("'unique-id-format' expects one argument (use quotes or escape the spaces).")
    _area(ctx).format = args[1]


@keyword("unique-id-header", FRONTEND_SIDE, doc="<name>: send the unique ID to the server in this header")
def kw_unique_id_header(ctx: KwContext, args: list[str]) -> None:
    if len(args) != 2:
        raise KwError("'unique-id-header' expects a header name.")
    _area(ctx).header = args[1]


@post_parse(60)
def compile_unique_ids(config: Config) -> None:
    from lb.logs.logformat import FormatError, compile_format

    for proxy in config.frontends.values():
        area = proxy.areas.get(AREA)
        if area is None or not area.format:
            continue
        try:
            area.compiled = compile_format(area.format, proxy.mode)
        except FormatError as exc:
            from lb.config.model import Diagnostic

            config.diagnostics.append(Diagnostic("ALERT", f"'unique-id-format' : {exc}", proxy.loc))


def unique_id_of(proxy: Any) -> UniqueId | None:
    area = proxy.areas.get(AREA)
    return area if area is not None and area.compiled is not None else None
