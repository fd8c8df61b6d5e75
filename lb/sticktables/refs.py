"""References to stick tables by name, resolved once the configuration is read (master, cli; used in worker).

A fetch argument (`src_conn_rate(tbl)`), a `track-sc0 src table tbl` or a
`stick on src table tbl` may name a table declared further down, or none
(the table of the proxy it is written in).  A TableRef is created where
the name is written, remembering where (the directive being parsed:
lb.config.registry.CURRENT, and whether inside an ACL), and is resolved by
`resolve_all()` after parsing, which reports HAProxy's message for a table
that does not exist.  At run time `ref.table()` is the shared-memory table
(TableConfig.store_obj, attached by the master before forking).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lb.config import registry
from lb.config.model import LOC_HIDDEN, SECTION_DEFAULTS, Config, Diagnostic, Location
from lb.rules.fetches import BUILD_SITE
from lb.sticktables.keys import converter
from lb.sticktables.model import TableConfig, tables_of

REFS_AREA = "stick_table_refs"
# HAProxy's smp_resolve_args() phrases, by the directive the fetch is written in
WHERE = {
    "http-request": "in http-request expression in", "http-response": "in http-response response in",
    "tcp-request connection": "in tcp-request connection expression in",
    "tcp-request session": "in tcp-request session expression in",
    "tcp-request content": "in tcp-request content expression in", "stick": "in stick rule in",
    "log-format": "in log-format string in", "unique-id-format": "in unique-id-format string in",
    "use_backend": "in use_backend expression in", "use-server": "in use-server or balance expression in",
    "redirect": "in redirect format string in",
}  # fmt: skip


@dataclass
class Site:
    """Where a reference was written, for the message when it does not resolve."""

    config: Config | None
    proxy: Any
    loc: Location | None
    acl: bool
    where: str


class TableRef:
    """A stick table named (or implied) in a directive."""

    __slots__ = ("name", "keyword", "arg_pos", "site", "cfg", "key_of")

    def __init__(self, name: str, keyword: str, arg_pos: int, site: Site) -> None:
        self.name, self.keyword, self.arg_pos, self.site = name, keyword, arg_pos, site
        self.cfg: TableConfig | None = None
        self.key_of: Callable[[Any], Any] = _unresolved

    def bind(self, cfg: TableConfig) -> None:
        self.cfg = cfg
        self.key_of = converter(cfg.key_type, cfg.key_size)

    def table(self) -> Any:
        assert self.cfg is not None
        return self.cfg.store_obj


def _unresolved(value: Any) -> Any:
    return None


def current_site() -> Site:
    ctx = registry.CURRENT
    if ctx is None:
        return Site(None, None, None, BUILD_SITE.acl, BUILD_SITE.where or "in")
    return Site(ctx.config, ctx.proxy, ctx.loc, BUILD_SITE.acl, BUILD_SITE.where or _where(ctx.words))


def _where(words: list[str]) -> str:
    if words[:1] == ["tcp-request"] and len(words) > 1:
        return WHERE.get(f"tcp-request {words[1]}", "in")
    return WHERE.get(words[0] if words else "", "in")


def table_ref(name: str, keyword: str, arg_pos: int) -> TableRef:
    """A reference to be resolved after parsing (see module docstring)."""
    ref = TableRef(name, keyword, arg_pos, current_site())
    config = ref.site.config
    if config is not None:
        config.global_.extras.setdefault(REFS_AREA, []).append(ref)
    return ref


def resolve_all(config: Config) -> None:
    """Bind every reference of the configuration, alerting on missing tables."""
    tables = tables_of(config)
    for ref in config.global_.extras.get(REFS_AREA, ()):
        problem = resolve(ref, tables)
        if problem is not None:
            config.diagnostics.append(Diagnostic("ALERT", problem, ref.site.loc, LOC_HIDDEN))


def resolve(ref: TableRef, tables: dict[str, TableConfig]) -> str | None:
    site = ref.site
    proxy_name = site.proxy.name if site.proxy is not None else ""
    what = "ACL keyword" if site.acl else "sample fetch keyword"
    where = "in" if site.acl else site.where
    tail = f"referenced in arg {ref.arg_pos} of {what} '{ref.keyword}' {where} proxy '{proxy_name}'."
    name = ref.name
    if not name:
        if site.proxy is not None and site.proxy.section == SECTION_DEFAULTS:
            return f"parsing [{site.loc}]: table name must be set in arg {ref.arg_pos} of {what} '{ref.keyword}' " \
                   f"{where} proxy '{proxy_name}'."  # fmt: skip
        name = proxy_name
    cfg = tables.get(name)
    if cfg is None:
        return f"parsing [{site.loc}]: unable to find table '{name}' {tail}"
    ref.bind(cfg)
    return None
