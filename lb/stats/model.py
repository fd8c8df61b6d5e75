"""The statistics model: HAProxy 2.6's `show stat` rows from one generation (any process).

Pure functions of (configuration, shared memory, facts): the master's stats
socket and the workers' stats page and Prometheus exporter all call
`stat_rows()`.  Each row is HAProxy's list of fields (lb.stats.fields), a
field lb cannot fill honestly staying None (an empty CSV cell, absent from
typed and JSON output), as HAProxy leaves out what does not apply.

Where the numbers come from (lb.shm.layout): counters combined over the
slots' rows and `carried` (lb.stats.combine); gauges summed over the
worker columns; rates and sampled maxima from the master's `sampled` cells;
health from the checker's fields; admin state, weights and limits from the
master's.  Times (lastchg, downtime, lastsess) are seconds, as HAProxy's.
"""

from __future__ import annotations

from dataclasses import dataclass

from lb.checker.status import status_of
from lb.config.model import Config
from lb.rules.model import AREA as RULES_AREA  # a model module: dataclasses only
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.stats import combine, state
from lb.stats.fields import NFIELDS, POSITION, TYPE_BACKEND, TYPE_FRONTEND, TYPE_LISTENER, TYPE_SERVER, Field, field
from lb.stats.objects import StatObject, catalog

C = layout.COUNTER
TYPE_OF_KIND = {"F": TYPE_FRONTEND, "B": TYPE_BACKEND, "S": TYPE_SERVER, "L": TYPE_LISTENER}
STATIC_ALGORITHMS = ("static-rr", "source", "uri", "url_param", "hdr")  # lb hashes map-based only


@dataclass
class Facts:
    """What the shared memory does not hold: the reader's clock and view."""

    now: float  # epoch seconds
    global_maxconn: int  # per-worker global maxconn in effect (config or runtime)
    legends: bool = True  # addr, cookie, algo: HAProxy shows them to operator and admin levels


@dataclass
class StatRow:
    obj: StatObject
    fields: list[Field | None]
    servers_up: int = 0  # backends: servers not stopped (HAProxy's nbup)

    @property
    def type(self) -> int:
        return TYPE_OF_KIND[self.obj.kind]


class RowBuilder:
    """Fills one row at a time; `put` drops values HAProxy's tag table has no room for."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.fields: list[Field | None] = [None] * NFIELDS

    def put(self, name: str, value: int | str | None) -> None:
        if value is not None:
            self.fields[POSITION[name]] = field(self.kind, name, value)

    def put_counters(self, totals: list[int], names: dict[str, str]) -> None:
        for column, counter in names.items():
            self.put(column, totals[C[counter]])


def stat_rows(config: Config, shm: ShmTable, facts: Facts) -> list[StatRow]:
    objects = catalog(config, shm.nproxies, shm.nservers, shm.nbackends)
    rows = []
    for obj in objects:
        up = sum(1 for s in obj.servers if state.server_running(shm, s.server_index)) if obj.kind == "B" else 0
        rows.append(StatRow(obj, fill(config, shm, facts, obj), up))
    return rows


def fill(config: Config, shm: ShmTable, facts: Facts, obj: StatObject) -> list[Field | None]:
    row = RowBuilder(obj.kind)
    row.put("pxname", obj.proxy.name)
    row.put("svname", obj.name)
    row.put("pid", 1)
    row.put("iid", obj.iid)
    row.put("sid", obj.sid)
    row.put("type", TYPE_OF_KIND[obj.kind])
    row.put("mode", obj.proxy.mode)
    totals = object_totals(shm, obj)
    {"F": fill_frontend, "L": fill_listener, "S": fill_server, "B": fill_backend}[obj.kind](
        row, config, shm, facts, obj, totals
    )
    return row.fields


def object_totals(shm: ShmTable, obj: StatObject) -> list[int]:
    rows = [r for index in obj.rows for r in combine.slot_rows(shm, index)]
    return combine.combine(rows + [combine.carried_row(shm, index) for index in obj.rows], obj.http)


def sampled(shm: ShmTable, obj: StatObject, name: str) -> int:
    return shm.sampled[shm.sampled_index(obj.rows[0], name)]


COMMON = {"stot": "sessions", "bin": "bytes_in", "bout": "bytes_out", "eint": "internal_errors"}
HRSP = {f"hrsp_{k}": f"hrsp_{k}" for k in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")}
TIMES = ("qtime", "ctime", "rtime", "ttime")


def fill_frontend(row: RowBuilder, config: Config, shm: ShmTable, facts: Facts, obj: StatObject,
                  totals: list[int]) -> None:  # fmt: skip
    pindex = obj.proxy_index
    scur = sum(shm.column("feconn", pindex))
    row.put("scur", scur)
    # the workers publish their maxima once a second: what is open now is a maximum already
    row.put("smax", max(scur, totals[C["sessions_max"]], sampled(shm, obj, "conn_max")))
    row.put("slim", shm.fe_maxconn[pindex] or facts.global_maxconn)
    row.put_counters(totals, COMMON | {"dreq": "denied_req", "dresp": "denied_resp", "ereq": "req_errors",
                                       "req_tot": "requests", "dcon": "denied_conn", "dses": "denied_sess"})  # fmt: skip
    row.put("status", "PAUSED" if shm.fe_disabled[pindex] else "OPEN")
    for name in ("rate", "rate_max", "req_rate", "req_rate_max"):
        row.put(name, sampled(shm, obj, name))
    row.put("rate_lim", 0)  # lb has no `rate-limit sessions`: 0 is HAProxy's "no limit"
    if obj.http:
        row.put_counters(totals, HRSP | {"intercepted": "intercepted"})


def fill_listener(row: RowBuilder, config: Config, shm: ShmTable, facts: Facts, obj: StatObject,
                  totals: list[int]) -> None:  # fmt: skip
    row.put("smax", totals[C["sessions_max"]])
    row.put("slim", 0)  # no per-bind maxconn in lb: HAProxy's 0
    row.put_counters(totals, COMMON | {"dreq": "denied_req", "dresp": "denied_resp", "ereq": "req_errors",
                                       "dcon": "denied_conn", "dses": "denied_sess"})  # fmt: skip
    row.put("status", "OPEN")
    if facts.legends and obj.bind is not None:
        bind = obj.bind
        host = bind.host or ("::" if ":" in bind.host else "0.0.0.0")
        row.put("addr", f"[{host}]:{bind.port}" if ":" in host else f"{host}:{bind.port}")


SERVER_COUNTERS = COMMON | {"dresp": "denied_resp", "econ": "conn_errors", "eresp": "resp_errors",
                            "wretr": "retries", "wredis": "redispatches", "lbtot": "lbtot",
                            "cli_abrt": "cli_aborts", "srv_abrt": "srv_aborts"}  # fmt: skip


def fill_server(row: RowBuilder, config: Config, shm: ShmTable, facts: Facts, obj: StatObject,
                totals: list[int]) -> None:  # fmt: skip
    i, server = obj.server_index, obj.server
    assert server is not None
    qcur, scur = sum(shm.column("queued", i)), sum(shm.column("conns", i))
    row.put("qcur", qcur)
    row.put("qmax", max(qcur, totals[C["queue_max"]], sampled(shm, obj, "queue_max")))
    row.put("scur", scur)
    row.put("smax", max(scur, totals[C["sessions_max"]], sampled(shm, obj, "conn_max")))
    row.put("slim", shm.srv_maxconn[i] or None)
    row.put_counters(totals, SERVER_COUNTERS)
    row.put("status", state.server_status(shm, i, server))
    row.put("weight", shm.srv_weight[i])
    row.put("uweight", shm.srv_weight[i])
    row.put("act", 0 if server.backup else 1)
    row.put("bck", 1 if server.backup else 0)
    change_s = shm.srv_change[i] // 1000
    row.put("lastchg", max(0, int(facts.now) - change_s))
    row.put("qlimit", server.maxqueue or None)
    row.put("rate", sampled(shm, obj, "rate"))
    row.put("rate_max", sampled(shm, obj, "rate_max"))
    fill_times(row, totals, facts)
    if server.check:
        fill_check(row, shm, facts, i, server)
    if obj.http:
        row.put_counters(totals, HRSP | {"req_tot": "requests"})
    if facts.legends:
        row.put("addr", server.address)
        row.put("cookie", server.cookie)


def fill_check(row: RowBuilder, shm: ShmTable, facts: Facts, i: int, server) -> None:
    """The check columns: counters while the check is enabled, results unless it is paused (MAINT)."""
    if not state.check_enabled(shm, i, server):
        return
    row.put("chkfail", shm.srv_checks[i] >> 32)
    row.put("chkdown", shm.srv_downs[i])
    down_ms = shm.srv_downtime[i]
    if not shm.srv_up[i]:
        down_ms += max(0, int(facts.now * 1000) - shm.srv_change[i])
    row.put("downtime", down_ms // 1000)
    if shm.srv_admin[i] == layout.ADMIN_MAINT:
        return  # HAProxy pauses the check of a server in maintenance
    status = status_of(shm.srv_status[i])
    row.put("check_status", ("* " if shm.srv_checking[i] else "") + status.code)
    if status.shows_code:
        row.put("check_code", shm.srv_code[i])
    if status.code not in ("UNK", "INI"):
        row.put("check_duration", shm.srv_duration[i])
    row.put("check_desc", status.desc)
    row.put("last_chk", shm.server_info(i))
    row.put("check_rise", server.rise)
    row.put("check_fall", server.fall)
    row.put("check_health", shm.srv_health[i])


def fill_times(row: RowBuilder, totals: list[int], facts: Facts) -> None:
    """qtime..ttime (averages over the last 1024 samples) and lastsess (-1: never)."""
    for name in TIMES:
        row.put(name, combine.average(totals, name))
    last = totals[C["last_session"]]
    row.put("lastsess", max(0, int(facts.now) - last) if last else -1)


def fill_backend(row: RowBuilder, config: Config, shm: ShmTable, facts: Facts, obj: StatObject,
                 totals: list[int]) -> None:  # fmt: skip
    bindex, proxy = obj.backend_index, obj.proxy
    members = [(s.server_index, s.server) for s in obj.servers]
    weights = state.backend_weights(shm, members, proxy.option("allbackups"))  # type: ignore[arg-type]
    qcur, scur = sum(shm.column("bequeued", bindex)), sum(shm.column("beconn", bindex))
    row.put("qcur", qcur)
    row.put("qmax", max(qcur, totals[C["queue_max"]], sampled(shm, obj, "queue_max")))
    row.put("scur", scur)
    row.put("smax", max(scur, totals[C["sessions_max"]], sampled(shm, obj, "conn_max")))
    row.put("slim", fullconn(config, proxy, facts))
    row.put_counters(totals, SERVER_COUNTERS | {"dreq": "denied_req"})
    row.put("status", weights.status if members else "UP")
    row.put("weight", weights.weight)
    row.put("uweight", weights.uweight)
    row.put("act", weights.active)
    row.put("bck", weights.backup)
    row.put("chkdown", shm.be_downs[bindex])
    row.put("lastchg", max(0, int(facts.now) - shm.be_change[bindex] // 1000))
    if members:
        down_ms = shm.be_downtime[bindex]
        if not weights.weight:
            down_ms += max(0, int(facts.now * 1000) - shm.be_change[bindex])
        row.put("downtime", down_ms // 1000)
    row.put("rate", sampled(shm, obj, "rate"))
    row.put("rate_max", sampled(shm, obj, "rate_max"))
    fill_times(row, totals, facts)
    if obj.http:
        row.put_counters(totals, HRSP | {"req_tot": "requests"})
    if facts.legends:
        settings = proxy.areas.get(RULES_AREA)
        cookie = getattr(settings, "cookie", None)
        row.put("cookie", cookie.name if cookie is not None else None)
        row.put("algo", proxy.balance.algorithm)


def fullconn(config: Config, backend, facts: Facts) -> int:
    """HAProxy's default fullconn: a tenth of the maxconn of the frontends that
    can route to the backend (rounded up), at least 1."""
    total = 0
    for frontend in config.frontends.values():
        if frontend.disabled or not routes_to(frontend, backend):
            continue
        total += frontend.maxconn or facts.global_maxconn
    return max(1, (total + 9) // 10)


def routes_to(frontend, backend) -> bool:
    if frontend is backend:
        return True
    settings = frontend.areas.get(RULES_AREA)
    if settings is not None and getattr(settings, "default_backend", None) is backend:
        return True
    if frontend.default_backend == backend.name:
        return True
    return any(rule.backend == backend.name for rule in frontend.use_backends)
