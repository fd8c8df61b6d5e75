"""`stick on|match|store-*` and `use-server`: server persistence by table (worker; parsed in master, cli).

    stick match <expr> [table <t>] [{if | unless} <cond>]     look the key up: its server, if usable
    stick store-request <expr> [table <t>] [...]               remember the server the request went to
    stick on <expr> [table <t>] [...]                          both
    stick store-response <expr> [table <t>] [...]              remember it from a response sample
    use-server <server> {if | unless} <cond>                   force a server (also in mode tcp)

The engine's order is HAProxy's: cookie persistence, then `use-server`,
then stick matching (`choose_server`), then the balancer; once the stream
has a server, `store_request` / `store_response` write the entries with the
server's id and name (HAProxy's process_store_rules; in mode tcp, when the
server connection is made).  Only the first store rule of each table
applies to a request.  A matched or forced server that is down is ignored
unless the backend has `option persist`.
"""

from __future__ import annotations

from typing import Any, Callable

from lb.config.model import Condition
from lb.config.registry import KwContext, KwError, keyword
from lb.config.kw_proxy import proxy_of
from lb.config.model import SECTION_BACKEND, SECTION_DEFAULTS, SECTION_FRONTEND, SECTION_LISTEN
from lb.rules.acl import AclError
from lb.rules.condition import compile_condition
from lb.rules.fetches import USE_REQ, USE_RES, FetchError
from lb.rules.fmt import Format, FormatError
from lb.rules.model import settings_for as http_settings_for
from lb.rules.sample import compile_sample
from lb.rules.tcp_model import ServerRule, StickRule, settings_for
from lb.sticktables import clock, counters
from lb.sticktables.keys import compatible
from lb.sticktables.refs import Site, TableRef, current_site

BACKEND_ONLY = (SECTION_BACKEND, SECTION_LISTEN)
STICK_KINDS = {"store": "store-request", "store-request": "store-request", "store-response": "store-response",
               "match": "match", "on": "on"}  # fmt: skip


@keyword("stick", BACKEND_ONLY, doc="on|match|store-request|store-response <expr> [table <t>] [if|unless <cond>]")
def kw_stick(ctx: KwContext, args: list[str]) -> None:
    kind = STICK_KINDS.get(args[1] if len(args) > 1 else "")
    if kind is None:
        raise KwError("'stick' expects 'on', 'match', or 'store'.")
    rest = args[2:]
    if not rest or not rest[0]:
        raise KwError("'stick' expects a fetch method.")
    response = kind == "store-response"
    try:
        fetch = compile_sample(rest[0], USE_RES if response else USE_REQ)
    except FetchError as exc:
        raise KwError(f"'stick': {exc}") from None
    if response and not fetch.use & USE_RES or not response and not fetch.use & USE_REQ:
        from lb.rules.layers import source_names

        when = "for 'store-response'" if response else "during request"
        raise KwError(f"'stick': fetch method '{fetch.name}' extracts information from '{source_names(fetch)}', "
                      f"none of which is available {when}.")  # fmt: skip
    name, rest = ("", rest[1:])
    if rest and rest[0] == "table":
        name, rest = (rest[1] if len(rest) > 1 else ""), rest[2:]
    cond = _condition(ctx, rest, USE_RES if response else USE_REQ)
    site = current_site()
    ref = TableRef(name, "stick", 0, Site(site.config, site.proxy, site.loc, False, "in stick rule in"))
    settings = settings_for(proxy_of(ctx))
    rule = StickRule(kind, fetch, ref, cond, ctx.loc)
    (settings.store_response_rules if response else settings.stick_rules).append(rule)


def _condition(ctx: KwContext, rest: list[str], direction: int) -> Condition | None:
    if not rest or not rest[0]:
        return None
    if rest[0] not in ("if", "unless"):
        raise KwError(f"'stick': unknown keyword '{rest[0]}'.")
    acls = http_settings_for(proxy_of(ctx)).acls
    try:
        compiled = compile_condition(rest[0], rest[1:], acls.get, direction)
    except AclError as exc:
        raise KwError(f"'stick': error detected while parsing sticking condition : {exc}.") from None
    return Condition(rest[0], rest[1:], ctx.loc, compiled)


def _compatible(rule: StickRule, table: Any) -> bool:
    return compatible(rule.fetch.type, table.key_type)


StickRule.compatible = _compatible  # type: ignore[attr-defined]  # used by the post-parse resolution


@keyword("use-server", (SECTION_DEFAULTS, SECTION_FRONTEND, *BACKEND_ONLY),
         doc="<server> {if | unless} <cond>: force a server (mode tcp and http)")  # fmt: skip
def kw_use_server(ctx: KwContext, args: list[str]) -> None:
    proxy = proxy_of(ctx)
    if ctx.section == SECTION_DEFAULTS:
        raise KwError("'use-server' not allowed in 'defaults' section.")
    if ctx.section == SECTION_FRONTEND:  # HAProxy warns, then keeps the rule (which then finds no server)
        ctx.warn(f"'use-server' ignored because frontend '{proxy.name}' has no backend capability.")
    if len(args) < 2 or not args[1]:
        raise KwError("'use-server' expects a server name.")
    if len(args) < 3 or args[2] not in ("if", "unless"):
        raise KwError("'use-server' requires either 'if' or 'unless' followed by a condition.")
    acls = http_settings_for(proxy_of(ctx)).acls
    try:
        compiled = compile_condition(args[2], args[3:], acls.get, USE_REQ)
    except AclError as exc:
        raise KwError(f"error detected while parsing switching rule : {exc}.") from None
    rule = ServerRule(args[1], Condition(args[2], args[3:], ctx.loc, compiled), ctx.loc)
    if "%" in args[1]:
        try:
            rule.name_fmt = Format(args[1])
        except FormatError as exc:
            raise KwError(f"use-server rule failed to parse log-format '{args[1]}' : {exc}.") from None
    settings_for(proxy_of(ctx)).server_rules.append(rule)


# -- evaluation (worker) -------------------------------------------------------------------


def _passes(cond: Condition | None, txn: Any) -> bool:
    return cond is None or cond.compiled.match(txn)


def forced_server(settings: Any, txn: Any, backend: Any, is_up: Callable[[Any], bool]) -> Any:
    """HAProxy's process_server_rules(): the first use-server rule whose server is usable."""
    for rule in settings.server_rules:
        if not _passes(rule.cond, txn):
            continue
        server = rule.server
        if rule.name_fmt is not None:
            name = rule.name_fmt(txn)
            server = next((s for s in backend.servers if s.name == name), None)
            if server is None:
                continue
        if is_up(server) or backend.option("persist"):
            return server
    return None


def stick_match(settings: Any, txn: Any, backend: Any, is_up: Callable[[Any], bool], assigned: bool) -> Any:
    """HAProxy's process_sticking_rules(): the server a `stick match|on` entry names
    (None when none, or when `assigned`), and the store-request keys kept on the Txn."""
    found, stores = None, []  # type: Any, list[tuple[Any, tuple[int, ...]]]
    now = clock.now_ms()
    for rule in settings.stick_rules:
        table = rule.table.table()
        if rule.stores and any(t is table for t, _k in stores):
            continue
        if not _passes(rule.cond, txn):
            continue
        key = rule.table.key_of(rule.fetch.one(txn))
        if key is None:
            continue
        if rule.matches:
            ref = table.lookup(key, now)
            if ref is not None:
                if found is None and not assigned:
                    found = _server_of(table, ref, backend, is_up, now)
                table.touch(ref[0], ref[1], counters.WRITER, now)
        if rule.stores and len(stores) < 8:
            stores.append((table, key))
    txn.stick = stores or None
    return found


def _server_of(table: Any, ref: tuple[int, int], backend: Any, is_up: Callable[[Any], bool], now: int) -> Any:
    """The entry's server: by server_key (the name of the server it was stored with) first, then by server_id."""
    server = None
    if "server_key" in table.offsets:
        key_id = table.value(ref[0], ref[1], "server_key", now)
        name = table.cfg.server_names.get(key_id) if key_id else None
        server = next((s for s in backend.servers if server_key_of(table.cfg, s) == name), None) if name else None
    if server is None and "server_id" in table.offsets:
        server_id = table.value(ref[0], ref[1], "server_id", now)
        server = next((s for s in backend.servers if s.id == server_id), None) if server_id else None
    if server is not None and (is_up(server) or backend.option("persist")):
        return server
    return None


def server_key_of(cfg: Any, server: Any) -> str:
    """What server_key holds for a server: its name, or its address with `srvkey addr`."""
    return server.name if cfg.srvkey == "name" else server.address


def store_response(settings: Any, txn: Any) -> None:
    """store-response rules: one more key per table, from the response."""
    stores = list(txn.stick or ())
    first_response = len(stores)
    for rule in settings.store_response_rules:
        table = rule.table.table()
        if any(t is table for t, _k in stores[first_response:]):
            continue
        if not _passes(rule.cond, txn):
            continue
        key = rule.table.key_of(rule.fetch.one(txn))
        if key is not None and len(stores) < 8:
            stores.append((table, key))
    txn.stick = stores or None


def store_server(txn: Any, server: Any) -> None:
    """Write the pending keys with the server the stream went to: server_id, and
    server_key (a number standing for the server's name: TableConfig.server_names)."""
    stores, txn.stick = txn.stick, None
    if not stores or server is None:
        return
    now = clock.now_ms()
    for table, key in stores:
        ref = table.get_or_create(key, now, counters.WRITER)
        if ref is None:
            continue
        table.set_last(ref[0], ref[1], counters.WRITER, "server_id", server.id)
        name_id = table.cfg.server_ids.get(server_key_of(table.cfg, server))
        if name_id:
            table.set_last(ref[0], ref[1], counters.WRITER, "server_key", name_id)
        table.touch(ref[0], ref[1], counters.WRITER, now)
