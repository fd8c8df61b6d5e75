"""`option forwardfor [except NET] [header NAME] [if-none]` (master, cli; `add_forwarded_for` in worker).

HAProxy appends the header after every http-request rule of the frontend
and the backend and after cookie processing (http_process_request), so a
rule never sees it: `x-forwarded-for: 1.2.3.4 ... x-forwarded-for: 127.0.0.1`.
It applies when the frontend or the backend enables it; the backend's
header name wins when the backend has the option; `if-none` only holds
when every side that enables the option says it; an `except` network on
either side skips clients from that network.
"""

from __future__ import annotations

from typing import Any

from lb.config.kw_proxy import proxy_of
from lb.config.model import LOC_PARSING_TIGHT, Diagnostic
from lb.config.registry import KwContext, KwError, keyword
from lb.rules.addr import parse_network
from lb.rules.model import AREA, ForwardFor, settings_for


def parse_forwardfor(words: list[str]) -> ForwardFor:
    """The words after `option forwardfor`; KwError with HAProxy's text."""
    ff, rest = ForwardFor(), list(words)
    while rest:
        word = rest.pop(0)
        if word == "except":
            if not rest or not rest[0]:
                raise KwError("'option forwardfor except' expects <address>[/mask] as argument.")
            try:
                ff.except_net = parse_network(rest.pop(0))
            except ValueError:
                raise KwError("'option forwardfor except' expects <address>[/mask] as argument.") from None
        elif word == "header":
            if not rest or not rest[0]:
                raise KwError("'option forwardfor header' expects <header_name> as argument.")
            ff.header = rest.pop(0)
        elif word == "if-none":
            ff.if_none = True
        else:
            raise KwError("'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.")
    return ff


@keyword("option forwardfor", doc="[except <net>] [header <name>] [if-none]: add X-Forwarded-For to requests")
def kw_option_forwardfor(ctx: KwContext, args: list[str]) -> None:
    if ctx.negated:
        ctx.config.diagnostics.append(Diagnostic(
            "ALERT", "negation/default is not supported for option 'forwardfor'.", ctx.loc, LOC_PARSING_TIGHT))
        return
    settings_for(proxy_of(ctx)).forwardfor = parse_forwardfor(args[2:])


def add_forwarded_for(txn: Any, frontend: Any, backend: Any) -> None:
    """Append the client address header if the frontend or backend wants it."""
    fe = _ff(frontend)
    be = _ff(backend) if backend is not frontend else None
    if fe is None and be is None:
        return
    src = txn.facts.src
    if src is None:
        return
    for side in (fe, be):
        if side is not None and side.except_net is not None and side.except_net.contains(src):
            return
    name = (be or fe).header  # type: ignore[union-attr]
    always = any(side is not None and not side.if_none for side in (fe, be))
    request = txn.request
    if not always and request.has(name):
        return
    request.add_header(name, txn.facts.client_ip)


def _ff(proxy: Any) -> ForwardFor | None:
    settings = proxy.areas.get(AREA) if proxy is not None else None
    return settings.forwardfor if settings is not None else None
