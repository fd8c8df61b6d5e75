"""The stats page of a proxy (`stats enable`, `stats uri` ...): HAProxy's stats applet (worker).

One StatsPage per proxy with `stats` settings, built after parsing
(lb.services.keywords) and kept in `proxy.stats.service`.  The engine, for
each proxy a request goes through (the frontend, then its backend), after
that proxy's `http-request` rules and before its `redirect` rules, as
HAProxy's http_process_req_common:

    page = proxy.stats.service if proxy.stats else None
    if page is not None and page.matches(method, uri):
        verdict = page.check(txn)        # `stats http-request` / `stats auth`: deny, 401, or None
        ... a Verdict ends the exchange like any rule's; otherwise read the body and
        page.respond(ServiceRequest(...), context, done)

`respond` checks access again itself (a forgotten `check` never serves the
page), then serves GET/HEAD (HTML, `;csv`, `;typed`, `;json`, with `;up`,
`;no-maint`, `;norefresh`, `;st=...` and `scope=` as HAProxy reads them
from the URI after the prefix) or applies a POST from the admin form
through the master's runtime API and redirects (303) to
`<uri>;st=<code>`.  Every number comes from lb.stats (`show stat`, `show
info`): the page and the stats socket agree.
"""

from __future__ import annotations

import time
from typing import Any

from lb.config.model import Config, Proxy, StatsSettings
from lb.rules.actions import Verdict
from lb.rules.errors import builtin_reply
from lb.rules.message import Request, split_target
from lb.rules.reply import Reply
from lb.rules.txn import ConnFacts, Txn
from lb.stats.model import Facts, StatRow, stat_rows
from lb.stats.render import StatFilter, render_stat, select, with_server_counts
from lb.services import access, stats_admin
from lb.services.base import Done, ServiceContext, ServiceReply, ServiceRequest
from lb.services.procinfo import ask_info
from lb.services.stats_html import View, document

CONTENT_TYPES = {"html": "text/html", "csv": "text/plain", "typed": "text/plain", "json": "application/json"}
STATUS_CODES = ("DENY", "DONE", "ERRP", "EXCD", "NONE", "PART", "UNKN", "IVAL")
SCOPE_MAX = 20  # HAProxy's STAT_SCOPE_TXT_MAXLEN
SCOPE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_-")


def target_of(uri: str, prefix: str) -> str:
    """What the prefix is compared with: the path and query for a prefix starting
    with `/` (the authority of an absolute URI left out), else the URI as received."""
    return split_target(uri)[1] if prefix.startswith("/") else uri


def parse_view(options: str, refresh: int) -> View:
    """The display options in the URI after the prefix (HAProxy's http_handle_stats)."""
    view = View()
    view.hide_down = ";up" in options
    view.hide_maint = ";no-maint" in options
    view.no_refresh = bool(refresh) and ";norefresh" in options
    for word, fmt in ((";csv", "csv"), (";typed", "typed"), (";json", "json"), (";json-schema", "json-schema")):
        if word in options:
            view.fmt = fmt
    at = options.find(";st=")
    if 0 <= at and at + 8 <= len(options):
        code = options[at + 4 : at + 8]
        view.status = code if code in STATUS_CODES else "UNKN"
    at = options.find("scope=")
    if 0 <= at and at + 8 <= len(options):
        scope = options[at + 6 :]
        for stop in ";& ":
            scope = scope.split(stop, 1)[0]
        scope = scope[:SCOPE_MAX]
        view.scope = scope if scope and all(c in SCOPE_CHARS for c in scope) else ""
    return view


def build_txn(request: ServiceRequest, proxy: Proxy) -> Txn:
    """A Txn for the page's conditions when the engine gave none."""
    head = Request(request.method, request.uri, request.version, list(request.headers))
    txn = Txn(ConnFacts(client_ip=request.client_ip, ssl=request.secure), head, proxy if proxy.is_frontend else None)
    txn.backend = proxy if proxy.is_backend else None
    return txn


def verdict_reply(verdict: Verdict) -> ServiceReply:
    """A rule's reply (deny, 401) as the service's own, for `respond`'s own access check."""
    reply: Reply = verdict.reply
    lines = reply.head.decode("latin-1").split("\r\n")
    status_line, headers = lines[0], [tuple(line.split(": ", 1)) for line in lines[1:] if ": " in line]
    reason = status_line.split(" ", 2)[2] if status_line.count(" ") >= 2 else ""
    kept = [(name, value) for name, value in headers if name.lower() != "content-length"]
    return ServiceReply(reply.status, reply.body, kept, reason)  # type: ignore[arg-type]


class StatsPage:
    log_name = "<STATS>"

    def __init__(self, proxy: Proxy, settings: StatsSettings) -> None:
        self.proxy, self.settings = proxy, settings

    # -- what the engine calls first --------------------------------------------------

    def matches(self, method: str, uri: str) -> bool:
        """A GET, HEAD or POST whose URI starts with `stats uri` (HAProxy's http_stats_check_uri)."""
        if method not in ("GET", "HEAD", "POST"):
            return False
        return target_of(uri, self.settings.uri).startswith(self.settings.uri)

    def check(self, txn: Any) -> Verdict | None:
        """`stats http-request` rules and `stats auth`: a Verdict (deny 403, auth 401) ends the exchange."""
        return access.check(self.settings.http_rules, txn)

    # -- the service ------------------------------------------------------------------

    def respond(self, request: ServiceRequest, context: ServiceContext, done: Done) -> None:
        txn = request.txn if request.txn is not None else build_txn(request, self.proxy)
        verdict = self.check(txn)
        if verdict is not None:
            done(verdict_reply(verdict))
            return
        target = target_of(request.uri, self.settings.uri)
        view = parse_view(target[len(self.settings.uri) :], self.settings.refresh)
        view.admin = self.admin_allowed(txn)
        if request.method == "POST":
            self.post(request, context, view, done)
        elif view.fmt == "json-schema":
            done(ServiceReply(501, builtin_reply(501).body, [("cache-control", "no-cache"),
                                                              ("content-type", "text/html")]))  # fmt: skip
        elif view.fmt == "html":
            ask_info(context, lambda info: done(self.page(request, context, view, info)))
        else:
            done(self.reply(request, view, self.export(context, view)))

    def admin_allowed(self, txn: Any) -> bool:
        """The first `stats admin` rule whose condition holds grants the admin level."""
        return any(rule.compiled.match(txn) for rule in self.settings.admin_rules)

    def reply(self, request: ServiceRequest, view: View, body: str) -> ServiceReply:
        headers = [("cache-control", "no-cache"), ("content-type", CONTENT_TYPES[view.fmt])]
        if self.settings.refresh > 0 and not view.no_refresh:
            headers.append(("refresh", str(self.settings.refresh)))
        return ServiceReply(200, body.encode("latin-1", "replace"), headers)

    # -- what is shown ----------------------------------------------------------------------

    def rows(self, context: ServiceContext) -> list[StatRow]:
        facts = Facts(context.now or time.time(), context.global_maxconn, self.settings.show_legends)
        return stat_rows(context.config, context.shm, facts)

    def shown(self, proxy: Proxy, view: View) -> bool:
        """`stats scope` (names, "." for this proxy), then the `scope=` search (case-insensitive)."""
        scopes = self.settings.scopes
        if scopes and proxy.name not in scopes and not ("." in scopes and proxy is self.proxy):
            return False
        return not view.scope or view.scope.lower() in proxy.name.lower()

    def export(self, context: ServiceContext, view: View) -> str:
        rows = [row for row in self.rows(context) if self.shown(row.obj.proxy, view)]
        flt = StatFilter(fmt=view.fmt, hide_down=view.hide_down, hide_maint=view.hide_maint)
        return render_stat(rows, flt)

    def tables(self, context: ServiceContext, view: View) -> list[tuple[Proxy, list[StatRow]]]:
        rows = select(self.rows(context), StatFilter(hide_down=view.hide_down, hide_maint=view.hide_maint))
        if view.hide_down or view.hide_maint:
            rows = [with_server_counts(row) if row.obj.kind == "B" else row for row in rows]
        tables: list[tuple[Proxy, list[StatRow]]] = []
        for row in rows:
            if not self.shown(row.obj.proxy, view):
                continue
            if not tables or tables[-1][0] is not row.obj.proxy:
                tables.append((row.obj.proxy, []))
            tables[-1][1].append(row)
        return tables

    def page(self, request: ServiceRequest, context: ServiceContext, view: View, info: dict) -> ServiceReply:
        return self.reply(request, view, document(self.settings, view, info, self.tables(context, view)))

    # -- the admin form -----------------------------------------------------------------------

    def post(self, request: ServiceRequest, context: ServiceContext, view: View, done: Done) -> None:
        if not view.admin:
            done(self.redirect(view, "DENY"))
            return
        if not request.body_complete:
            done(self.redirect(view, "EXCD"))
            return
        posted = stats_admin.parse_post(request.body, context.config)
        if posted.error:
            done(self.redirect(view, posted.error))
            return
        lines, unknown = stats_admin.plan(posted, context.config, lambda b, s: admin_state(context.config,
                                                                                          context.shm, b, s))
        stats_admin.Apply(lines, unknown, context.ask_master, lambda code: done(self.redirect(view, code)))

    def redirect(self, view: View, code: str) -> ServiceReply:
        """HAProxy's 303 to the page (a reload never posts the form again)."""
        location = f"{self.settings.uri};st={code}{view.links()}"
        headers = [("cache-control", "no-cache"), ("content-type", "text/plain"), ("location", location)]
        return ServiceReply(303, b"", headers, "See Other")


def admin_state(config: Config, shm: Any, backend: Proxy, server: Any) -> int:
    """The server's admin state (ready, drain, maint) in this worker's generation."""
    for index, (owner, candidate) in enumerate(config.all_servers()):
        if owner is backend and candidate is server:
            return shm.srv_admin[index]
    return 0
