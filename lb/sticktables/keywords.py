"""`stick-table` and the resolution of table names after parsing (master, cli).

    stick-table type ip size 100k expire 30s store http_req_rate(10s),conn_cur

declares the table of the proxy it is written in (named after the proxy,
as in HAProxy; a backend holding only a table is the usual way to share
one).  Post-parse step 35, per proxy in declaration order and with
HAProxy 2.6's messages: use-server targets, stick rules' tables (which
then also store server_id and server_key), track-sc tables, then table
arguments of fetches.
"""

from __future__ import annotations

from typing import Any

import lb.sticktables.fetches  # noqa: F401  (registers sc_*, src_*, table_* fetches)
from lb.config.kw_proxy import proxy_of
from lb.config.model import LOC_HIDDEN, LOC_PARSING_TIGHT, PROXY_SECTIONS, SECTION_DEFAULTS, Config, Diagnostic
from lb.config.model import cap_str
from lb.config.registry import KwContext, keyword, post_parse
from lb.rules.tcp_model import settings_for
from lb.sticktables.model import tables_of
from lb.sticktables.parse import TableError, parse_table
from lb.sticktables.refs import resolve, resolve_all


@keyword("stick-table", PROXY_SECTIONS, doc="type ip|ipv6|integer|string [len n]|binary [len n] size <n> "
         "[expire <t>] [nopurge] [srvkey name|addr] [store <data>[(<period>)],...]")  # fmt: skip
def kw_stick_table(ctx: KwContext, args: list[str]) -> None:
    proxy = proxy_of(ctx)
    if ctx.section == SECTION_DEFAULTS:
        ctx.alert("'stick-table' is not supported in 'defaults' section.")
        return
    tables = tables_of(ctx.config)
    other = tables.get(proxy.name)
    if other is not None:
        ctx.alert(f"stick-table name '{proxy.name}' conflicts with table declared in {other.owner} at "
                  f"{other.loc}.")  # fmt: skip
        return

    def warn(message: str) -> None:
        ctx.config.diagnostics.append(Diagnostic("WARNING", message, ctx.loc, LOC_PARSING_TIGHT))

    try:
        cfg = parse_table(args[1:], proxy.name, warn)
    except TableError as exc:
        ctx.config.diagnostics.append(
            Diagnostic("ALERT", exc.message, ctx.loc, LOC_PARSING_TIGHT if exc.tight else "parsing"))
        return
    cfg.owner, cfg.proxy, cfg.loc = f"{cap_str(proxy.section)} '{proxy.name}'", proxy.name, ctx.loc
    tables[proxy.name] = cfg
    settings_for(proxy).table = cfg


@post_parse(35)
def resolve_tables(config: Config) -> None:
    """use-server, stick rules, track-sc rules, then fetch arguments (HAProxy's order)."""
    from lb.config.validate import declared_order

    tables = tables_of(config)
    for proxy in declared_order(config):
        settings = proxy.areas.get("tcp")
        if settings is None:
            continue
        _resolve_server_rules(config, proxy, settings)
        _resolve_stick_rules(config, proxy, settings, tables)
        for track in settings.tracks:
            problem = track.resolve(tables, proxy)
            if problem:
                config.diagnostics.append(Diagnostic("ALERT", f"Proxy '{proxy.name}': {problem}.", None, LOC_HIDDEN))
    resolve_all(config)


def _resolve_server_rules(config: Config, proxy: Any, settings: Any) -> None:
    kind = "frontend" if proxy.section == "frontend" else cap_str(proxy.section)
    for rule in settings.server_rules:
        if rule.name_fmt is not None:
            continue
        rule.server = next((s for s in proxy.servers if s.name == rule.name), None)
        if rule.server is None:
            config.diagnostics.append(Diagnostic(
                "ALERT", f"{kind} '{proxy.name}' : unable to find server '{rule.name}' referenced "
                "in a 'use-server' rule.", None, LOC_HIDDEN))  # fmt: skip


def _resolve_stick_rules(config: Config, proxy: Any, settings: Any, tables: dict[str, Any]) -> None:
    for rules, what in ((settings.stick_rules, "stick-table"), (settings.store_response_rules, "store table")):
        for rule in rules:
            name = rule.table.name or proxy.name
            target = tables.get(name)
            if target is None:
                message = f"Proxy '{proxy.name}': unable to find {what} '{name}'."
            elif not rule.compatible(target):
                message = f"Proxy '{proxy.name}': type of fetch not usable with type of stick-table '{name}'."
            else:
                rule.table.bind(target)
                target.store.setdefault("server_id", 0)
                target.store.setdefault("server_key", 0)
                if proxy not in target.store_rules:
                    target.store_rules.append(proxy)
                    for server in proxy.servers:
                        target.name_server(server.name if target.srvkey == "name" else server.address)
                continue
            config.diagnostics.append(Diagnostic("ALERT", message, None, LOC_HIDDEN))


__all__ = ["kw_stick_table", "resolve_tables", "resolve"]
