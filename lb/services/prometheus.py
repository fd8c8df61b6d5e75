"""`http-request use-service prometheus-exporter`: HAProxy 2.6's exporter (worker).

The text exposition format (0.0.4) of HAProxy's promex, built from the
statistics model (the numbers of `show stat` and `show info`): metric by
metric, each with its HELP and TYPE lines, then one sample per object
(`haproxy_server_status{proxy="be",server="a",state="UP"} 1`).  The query
string selects what is dumped as HAProxy's does: `scope=global|frontend|
listener|backend|server|sticktable|*` (repeatable; an empty scope selects
nothing, no scope everything) and `no-maint` (servers in maintenance left
out); anything else answers HAProxy's 400 and closes.  The metrics lb
cannot fill are left out (lb.services.promex_metrics.LEFT_OUT).  Process
metrics come from the master's `show info`, stick tables' from its `show
table`, so that they are the stats socket's numbers.
"""

from __future__ import annotations

import re
from typing import Any

from lb import __version__
from lb.rules.errors import builtin_reply
from lb.services import promex_metrics as pm
from lb.services.base import Done, ServiceContext, ServiceReply, ServiceRequest
from lb.services.procinfo import Info, ask_info
from lb.services.registry import service
from lb.services.stats_admin import form_decode
from lb.stats.fields import DESCRIPTION
from lb.stats.info import INFO_FIELDS, INFO_POSITION
from lb.stats.model import Facts, StatRow, stat_rows
from lb.stats.render import value
from lb.sticktables.model import TABLES_AREA

SCOPES = {"global": {"global"}, "frontend": {"frontend"}, "listener": {"listener"}, "backend": {"backend"},
          "server": {"server"}, "sticktable": {"sticktable"},
          "*": {"global", "frontend", "listener", "backend", "server", "sticktable"}}  # fmt: skip
ALL_SCOPES = SCOPES["*"]
HEADERS = [("cache-control", "no-cache"), ("content-type", "text/plain; version=0.0.4")]
KIND_SCOPE = {"F": "frontend", "L": "listener", "B": "backend", "S": "server"}


def parse_query(query: str | None) -> tuple[set[str], bool] | None:
    """(scopes, no-maint) of the query string, None when HAProxy answers 400 (promex_parse_uri)."""
    if query is None:
        return set(ALL_SCOPES), False
    text = query.split("#", 1)[0].split("\0", 1)[0]
    scopes: set[str] | None = None
    no_maint = False
    for param in text.split("&") if text else []:
        key, eq, raw = param.partition("=")
        if "=" in raw:
            return None
        name, decoded = form_decode(key), form_decode(raw) if eq else None
        if name is None or (eq and decoded is None):
            return None
        if name == "scope":
            scopes = set() if scopes is None else scopes
            if decoded is None or decoded not in SCOPES and decoded != "":
                return None
            scopes = set() if decoded == "" else scopes | SCOPES[decoded]
        elif name == "no-maint":
            no_maint = True
    return (set(ALL_SCOPES) if scopes is None else scopes), no_maint


def number(item: Any, seconds: bool = False) -> str:
    if item is None or isinstance(item, str):
        return "NaN"
    return f"{item / 1000:f}" if seconds else str(item)


class Dump:
    """The exposition text, metric after metric (HAProxy prints a metric's HELP once)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: list[tuple[str, str]]) -> None:
        if not samples:
            return
        self.parts.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")
        self.parts.extend(f"{name}{labels} {shown}\n" for labels, shown in samples)

    def text(self) -> str:
        return "".join(self.parts)


def labels(*pairs: tuple[str, str]) -> str:
    return "{" + ",".join(f'{name}="{escape(text)}"' for name, text in pairs) + "}"


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def process_metrics(dump: Dump, info: Info) -> None:
    for metric in pm.PROCESS:
        item = info.get(metric.source)
        if item is None:
            continue
        help_text = INFO_FIELDS[INFO_POSITION[metric.source]][2]
        if metric.source == "Build info":
            sample = (labels(("version", str(item.value) or __version__)), "1")
        else:
            sample = ("", number(item.value))
        dump.metric(f"haproxy_process_{metric.name}", metric.type, help_text, [sample])


def server_state(row: StatRow) -> str:
    """HAProxy's promex_srv_status from the `show stat` status text."""
    status = str(value(row, "status") or "")
    for prefix, state in (("MAINT", "MAINT"), ("DRAIN", "DRAIN"), ("NOLB", "NOLB"), ("DOWN", "DOWN")):
        if status.startswith(prefix):
            return state
    return "UP"


def check_state(row: StatRow) -> str | None:
    """The finished check status of a server whose check runs (None: no check, or paused)."""
    status = value(row, "check_status")
    return None if status is None else str(status).removeprefix("* ")


def object_samples(metric: pm.Metric, row: StatRow, base: tuple[tuple[str, str], ...],
                   servers: list[StatRow]) -> list[tuple[str, str]]:  # fmt: skip
    """The samples of one object for one metric (several for the metrics with a state or code label)."""
    source = metric.source
    if source == "status":
        states, current = state_set(row)
        return [(labels(*base, ("state", state)), "1" if state == current else "0") for state in states]
    if source == "check_status":
        current = check_state(row)
        if current is None:
            return []
        return [(labels(*base, ("state", s)), "1" if s == current else "0") for s in pm.CHECK_STATES]
    if source in ("check_code", "check_duration"):
        if check_state(row) is None or (source == "check_duration" and value(row, source) is None):
            return []
        return [(labels(*base), number(value(row, source) or 0, source in pm.SECONDS))]
    if source.startswith("agg_") and not servers:
        return []  # HAProxy aggregates the servers of backends that have some
    if source in ("agg_server_status", "agg_server_check_status"):
        counts = [server_state(server) for server in servers]
        return [(labels(*base, ("state", s)), str(counts.count(s))) for s in pm.SERVER_STATES]
    if source == "agg_check_status":
        counts = [check_state(server) for server in servers]
        return [(labels(*base, ("state", s)), str(counts.count(s))) for s in pm.CHECK_STATES]
    return [(labels(*base), number(value(row, source), source in pm.SECONDS))]


def state_set(row: StatRow) -> tuple[tuple[str, ...], str]:
    kind = row.obj.kind
    if kind == "S":
        return pm.SERVER_STATES, server_state(row)
    if kind == "B":
        return pm.PROXY_STATES, "UP" if value(row, "status") == "UP" else "DOWN"
    if kind == "L":
        return pm.LISTENER_STATES, "OPEN"
    return pm.PROXY_STATES, "UP"  # a paused frontend is not stopped: HAProxy reports it UP


def base_labels(row: StatRow) -> tuple[tuple[str, str], ...]:
    proxy = ("proxy", row.obj.proxy.name)
    if row.obj.kind == "S":
        return (proxy, ("server", row.obj.name))
    if row.obj.kind == "L":
        return (proxy, ("listener", row.obj.name))
    return (proxy,)


def stats_metrics(dump: Dump, rows: list[StatRow], kind: str, no_maint: bool) -> None:
    scope = KIND_SCOPE[kind]
    objects = [row for row in rows if row.obj.kind == kind]
    if kind == "S" and no_maint:
        objects = [row for row in objects if server_state(row) != "MAINT"]
    servers_of = {id(row.obj): [r for r in rows if r.obj.kind == "S" and r.obj.backend_index == row.obj.backend_index]
                  for row in objects if kind == "B"}  # fmt: skip
    for metric in pm.STATS:
        if kind not in metric.kinds:
            continue
        name, help_text = f"haproxy_{scope}_{metric.name}", pm.HELP.get(metric.source, DESCRIPTION[metric.source])
        samples: list[tuple[str, str]] = []
        if metric.source == "hrsp_1xx":
            for field, code in pm.HRSP:
                samples += [(labels(*base_labels(row), ("code", code)), number(value(row, field)))
                            for row in objects if row.obj.http]  # fmt: skip
        else:
            for row in objects:
                if metric.source in pm.HTTP_ONLY and not row.obj.http:
                    continue
                samples += object_samples(metric, row, base_labels(row), servers_of.get(id(row.obj), []))
        dump.metric(name, metric.type, help_text, samples)


TABLE_HEAD = re.compile(r"^# table: (.*), type: (\S+), size:(\d+), used:(\d+)$", re.M)


def sticktable_metrics(dump: Dump, tables: str) -> None:
    """haproxy_sticktable_size|used from `show table`'s head lines (the socket's numbers)."""
    found = TABLE_HEAD.findall(tables)
    for name, column, help_text in (("size", 2, "Stick table size."),
                                    ("used", 3, "Number of entries used in this stick table.")):  # fmt: skip
        samples = [(labels(("name", table[0]), ("type", table[1])), table[column]) for table in found]
        dump.metric(f"haproxy_sticktable_{name}", pm.GAUGE, help_text, samples)


def exposition(rows: list[StatRow], info: Info | None, scopes: set[str], no_maint: bool,
               tables: str | None = None) -> str:  # fmt: skip
    dump = Dump()
    if "global" in scopes and info is not None:
        process_metrics(dump, info)
    for kind in "FLBS":
        if KIND_SCOPE[kind] in scopes:
            stats_metrics(dump, rows, kind, no_maint)
    if "sticktable" in scopes and tables:
        sticktable_metrics(dump, tables)
    return dump.text()


class PrometheusExporter:
    log_name = "<PROMEX>"

    def respond(self, request: ServiceRequest, context: ServiceContext, done: Done) -> None:
        parsed = parse_query(request.query if "?" in request.uri else None)
        if parsed is None:
            error = builtin_reply(400)  # HAProxy's page, "Bad request" as its reason
            reason = error.head.split(b"\r\n", 1)[0].split(b" ", 2)[2].decode()
            done(ServiceReply(400, error.body, [("cache-control", "no-cache"), ("content-type", "text/html")],
                              reason, close=True))  # fmt: skip
            return
        scopes, no_maint = parsed
        rows = stat_rows(context.config, context.shm, Facts(context.now, context.global_maxconn, False))
        gathered: dict[str, Any] = {}

        def reply() -> None:
            text = exposition(rows, gathered.get("info"), scopes, no_maint, gathered.get("tables"))
            done(ServiceReply(200, text.encode("utf-8"), list(HEADERS)))

        def with_tables() -> None:
            if "sticktable" in scopes and has_tables(context.config):
                context.ask_master("show table", lambda text: (gathered.__setitem__("tables", text), reply()))
            else:
                reply()

        if "global" in scopes:
            ask_info(context, lambda info: (gathered.__setitem__("info", info), with_tables()))
        else:
            with_tables()


def has_tables(config: Any) -> bool:
    return bool(config.global_.extras.get(TABLES_AREA))


@service("prometheus-exporter")
def prometheus_exporter(args: list[str]) -> tuple[PrometheusExporter, list[str]]:
    """The exporter takes no argument: what follows must be the rule's condition."""
    return PrometheusExporter(), args
