"""A worker's compiled view of its generation's config (worker; built after fork).

Frontends, backends and servers become small objects with everything the
hot path needs precomputed: shared-memory cells of this worker's column,
socket addresses, the balancer, the log function.  Built once in
Worker.init_process(); never rebuilt (a reload is a new generation).

Routing is one path for both modes: `FrontendRuntime.route(txn)` runs
lb.rules.pipeline.select_backend (use_backend rules with their ACLs,
dynamic `%[...]` names, default_backend) on the Txn the session built,
whether it carries an HTTP request or only the connection's facts.
"""

from __future__ import annotations

import array
import collections
import time
from typing import TYPE_CHECKING, Any

from lb.balance import ALGORITHMS
from lb.config.model import MODE_HTTP, Config, Proxy, Server, listener_ids
from lb.rules.model import AREA as RULES_AREA
from lb.rules.pipeline import select_backend
from lb.shm import layout
from lb.shm.table import ShmTable
from workers.counting import BYTES_IN, BYTES_OUT, SESSIONS, new_tally, publish
from workers.splice import proxy_bits
from workers.traffic import tcp_settings

if TYPE_CHECKING:
    from lb.logs.runtime import ProxyLogger
    from lb.rules.txn import Txn
    from workers.connector import Connector
    from workers.http.plan import BackendPlan, FrontendPlan

C_CONN_ERRORS = layout.COUNTER["conn_errors"]
C_NO_SERVER = layout.COUNTER["no_server"]
C_RETRIES = layout.COUNTER["retries"]
C_REDISPATCHES = layout.COUNTER["redispatches"]
C_QUEUE_TIMEOUTS = layout.COUNTER["queue_timeouts"]
C_REQUESTS = layout.COUNTER["requests"]
C_DENIED = layout.COUNTER["denied_req"]
C_REQ_ERRORS = layout.COUNTER["req_errors"]
C_RESP_ERRORS = layout.COUNTER["resp_errors"]
C_CLI_ABORTS = layout.COUNTER["cli_aborts"]
C_SRV_ABORTS = layout.COUNTER["srv_aborts"]
C_HRSP_1XX = layout.COUNTER["hrsp_1xx"]
C_HRSP_OTHER = layout.COUNTER["hrsp_other"]
C_DENIED_RESP = layout.COUNTER["denied_resp"]
C_LBTOT = layout.COUNTER["lbtot"]
C_QUEUE_MAX = layout.COUNTER["queue_max"]
C_SESSIONS_MAX = layout.COUNTER["sessions_max"]
C_INTERNAL_ERRORS = layout.COUNTER["internal_errors"]
C_INTERCEPTED = layout.COUNTER["intercepted"]


def column_sum(column: memoryview) -> int:
    """The sum of a column of shared memory: one cell per worker slot (a loop,
    as quick as sum() for a few slots, and one that compiles)."""
    total = 0
    for cell in column:
        total += cell
    return total


class Counted:
    """Something with a row of counters in this worker's shm column, and a tally
    of what its requests add to them, published once a second (workers/counting.py)."""

    counters: Any
    counter_base: int
    tally: array.array[int]  # workers/counting.py
    t_samples: int  # samples already in the swrate time cells (qtime ... ttime)

    def bind_counters(self, shm: ShmTable, slot: int, obj: int) -> None:
        """Point at object `obj`'s row of counters in worker `slot`'s column."""
        self.counters = shm.counters
        self.counter_base = shm.counter_index(slot, obj, layout.COUNTERS[0])
        self.t_samples = 0

    def count(self, counter: int, amount: int = 1) -> None:
        self.counters[self.counter_base + counter] += amount

    def note_max(self, counter: int, value: int) -> None:
        """Keep the highest `value` seen in a "max" counter of this worker's row."""
        cell = self.counter_base + counter
        if value > self.counters[cell]:
            self.counters[cell] = value


class ServerRuntime(Counted):
    def __init__(self, conf: Server, index: int, backend: BackendRuntime, shm: ShmTable, slot: int) -> None:
        self.conf = conf
        self.name = conf.name
        self.index = index
        self.id = conf.id
        self.weight = conf.weight
        self.maxconn = conf.maxconn
        self.backup = conf.backup
        self.h2 = conf.proto == "h2"  # `server ... proto h2`: streams on shared sessions (workers/http/h2session.py)
        self.backend = backend
        self.family = conf.family
        self.address = (conf.host, conf.port)
        self.send_proxy = conf.send_proxy
        self.cookie = conf.cookie
        self.shm = shm
        self.conns = shm.conns
        self.conns_cell = slot * shm.nservers + index
        self.conns_column = shm.column("conns", index)  # this server's cell in every worker's row
        self.queued = shm.queued
        self.maxconns = shm.srv_maxconn
        self.queue: collections.deque[Connector] = collections.deque()  # persistent requests waiting for us
        self.bind_counters(shm, slot, shm.nproxies + index)
        self.tally = new_tally()  # published once a second (workers/counting.py)

    def take_conn(self) -> None:
        self.conns[self.conns_cell] += 1

    def drop_conn(self) -> None:
        self.conns[self.conns_cell] -= 1
        self.backend.on_slot_freed(self)

    def current_conns(self) -> int:
        return column_sum(self.conns_column)

    def has_room(self) -> bool:
        """Below maxconn (the runtime value in shared memory: the configured one, or
        what `set maxconn server` made it), counting every worker's streams."""
        maxconn = self.maxconns[self.index]
        return not maxconn or column_sum(self.conns_column) < maxconn

    def queue_changed(self) -> None:
        length = self.queued[self.conns_cell] = len(self.queue)
        self.note_max(C_QUEUE_MAX, length)

    def is_usable(self) -> bool:
        """Up (NOLB included) and not in maintenance: persistence may use DRAIN and
        NOLB servers, balancing may not (lb.balance.base)."""
        return bool(self.shm.srv_up[self.index]) and self.shm.srv_admin[self.index] != layout.ADMIN_MAINT


class BackendRuntime(Counted):
    def __init__(self, conf: Proxy, index: int, obj: int, shm: ShmTable, slot: int) -> None:
        self.conf = conf
        self.name = conf.name
        self.index = index
        self.mode = conf.mode
        self.timeouts = conf.timeouts
        self.retries = conf.retries
        self.redispatch = conf.redispatch
        self.keepalive = conf.option("tcpka") or conf.option("srvtcpka")  # SO_KEEPALIVE to servers
        self.servers: list[ServerRuntime] = []
        self.by_name: dict[str, ServerRuntime] = {}
        self.balancer: Any = None
        self.queue: collections.deque[Connector] = collections.deque()  # this worker's streams waiting
        self.shm = shm
        self.bind_counters(shm, slot, obj)
        self.beconn = shm.beconn
        self.beconn_cell = slot * shm.nbackends + index
        self.bequeued = shm.bequeued
        self.bequeued_cell = self.beconn_cell
        self.active_streams = 0  # this worker's streams assigned to the backend (beconn, %bc)
        self.tally = new_tally()
        self.plan: BackendPlan | None = None  # mode http
        self.tcp_rules = tcp_settings(conf)  # tcp-request content / stick / use-server rules, or None
        self.splice = 0  # workers/splice.py bits of its option splice-* (set by Runtime)

    def stream_assigned(self) -> None:
        self.active_streams += 1
        self.beconn[self.beconn_cell] = self.active_streams

    def stream_released(self) -> None:
        self.active_streams -= 1
        self.beconn[self.beconn_cell] = self.active_streams

    def queue_changed(self) -> None:
        length = self.bequeued[self.bequeued_cell] = len(self.queue)
        self.note_max(C_QUEUE_MAX, length)

    def current_conns(self) -> int:
        """Streams on the backend's servers (all workers) plus this worker's queue (%bc)."""
        total = len(self.queue)
        for server in self.servers:
            total += column_sum(server.conns_column)
        return total

    def on_slot_freed(self, server: ServerRuntime) -> None:
        """A stream of this worker on `server` ended: serve that server's queue
        (persistent requests), then the backend's."""
        if server.queue:
            server.queue[0].retry_from_queue()
        if self.queue:
            self.queue[0].retry_from_queue()


class FrontendRuntime(Counted):
    def __init__(self, conf: Proxy, obj: int, shm: ShmTable, slot: int) -> None:
        self.conf = conf
        self.name = conf.name
        self.mode = conf.mode
        self.is_http = conf.mode == MODE_HTTP
        self.timeouts = conf.timeouts
        self.maxconn = conf.maxconn
        self.default_backend: BackendRuntime | None = None
        self.settings = conf.areas[RULES_AREA]  # lb.rules.model.HttpSettings: switching rules, errorfiles
        self.backend_of: dict[int, BackendRuntime] = {}  # id(Proxy) -> runtime, for route()
        self.static_backend: BackendRuntime | None = None  # set when no rule can change the choice
        # conditional or dynamic use_backend rules: route() must run per stream/request
        self.has_switching = any(match is not None or name_fmt is not None
                                 for match, _backend, name_fmt in self.settings.switching)  # fmt: skip
        self.logger: ProxyLogger | None = None
        self.listeners: list[Any] = []
        self.paused = False
        self.feconn = shm.feconn
        self.feconn_cell = slot * shm.nproxies + obj
        self.feconn_column = shm.column("feconn", obj)
        self.actconn_cells = shm.actconn  # every worker's connection count (%ac)
        self.obj = obj
        self.shm = shm
        self.bind_counters(shm, slot, obj)
        self.current = 0  # this worker's connections on the frontend
        self.tally = new_tally()
        self.plan: FrontendPlan | None = None  # mode http
        self.listener_ids: dict[int, int] = {}  # id(Bind) -> so_id
        self.listener_counts: dict[int, ListenerCounts] = {}  # id(Bind) -> its counters (socket-stats)
        self.disabled = False  # `disable frontend` (runtime API): listeners paused
        self.tcp_rules = tcp_settings(conf)  # tcp-request / stick / use-server rules, None without any
        self.splice = 0  # workers/splice.py bits of its option splice-* (set by Runtime)

    def conn_opened(self) -> None:
        self.current += 1
        self.feconn[self.feconn_cell] = self.current
        cell = self.counter_base + C_SESSIONS_MAX
        if self.current > self.counters[cell]:
            self.counters[cell] = self.current

    def conn_closed(self) -> None:
        self.current -= 1
        self.feconn[self.feconn_cell] = self.current

    def total_conns(self) -> int:
        return column_sum(self.feconn_column)

    def total_actconn(self) -> int:
        """Connections of every worker of the generation (%ac)."""
        return column_sum(self.actconn_cells)

    def route(self, txn: Txn) -> BackendRuntime | None:
        """The backend for this stream or request: first matching use_backend, else
        default_backend (HAProxy's order); None when there is none."""
        chosen = select_backend(self.settings, txn)
        return self.backend_of.get(id(chosen)) if chosen is not None else None


class ListenerCounts(Counted):
    """The counters of one listener (`option socket-stats`): its own row in shared memory."""

    def __init__(self, shm: ShmTable, slot: int, obj: int) -> None:
        self.bind_counters(shm, slot, obj)
        self.tally = new_tally()
        self.current = 0

    def conn_opened(self) -> None:
        self.current += 1
        self.tally[SESSIONS] += 1
        self.note_max(C_SESSIONS_MAX, self.current)

    def conn_closed(self) -> None:
        self.current -= 1

    def add_bytes(self, received: int, sent: int) -> None:
        self.tally[BYTES_IN] += received
        self.tally[BYTES_OUT] += sent


class Runtime:
    """Every frontend, backend and server of the generation, as this worker sees them."""

    def counted(self) -> list[Counted]:
        """Every object with a row of counters in this worker's column."""
        objects: list[Counted] = [*self.frontends.values(), *self.backends.values(), *self.listener_counts]
        for backend in self.backends.values():
            objects += backend.servers
        return objects

    def publish_counters(self) -> None:
        """Once a second (the worker's heartbeat) and at exit: the tallies into shared memory."""
        publish(self, int(time.time()))

    def __init__(self, config: Config, shm: ShmTable, slot: int) -> None:
        self.config = config
        self.shm = shm
        self.slot = slot
        proxies = config.proxies()
        obj_of = {id(p): i for i, p in enumerate(proxies)}
        self.backends: dict[str, BackendRuntime] = {}
        servers = iter(range(shm.nservers))
        for bindex, conf in enumerate(config.backends.values()):
            backend = BackendRuntime(conf, bindex, shm.backend_obj(bindex), shm, slot)
            for server_conf in conf.servers:
                server = ServerRuntime(server_conf, next(servers), backend, shm, slot)
                backend.servers.append(server)
                backend.by_name[server.name] = server
            backend.splice = proxy_bits(config.global_, conf)
            algo = ALGORITHMS[conf.balance.algorithm]
            backend.balancer = algo(backend.servers, bindex, shm, slot, conf.option("allbackups"), conf.balance.args)
            self.backends[conf.name] = backend
        self.frontends: dict[str, FrontendRuntime] = {}
        self.listener_counts: list[ListenerCounts] = []  # `option socket-stats` listeners
        backend_of = {id(backend.conf): backend for backend in self.backends.values()}
        listener = 0  # every bind of config.frontends numbers a listener row (lb.shm.layout)
        for conf in config.frontends.values():
            frontend = self.build_frontend(conf, obj_of[id(conf)], backend_of)
            if conf.option("socket-stats"):
                for position, bind in enumerate(conf.binds):
                    counts = ListenerCounts(shm, slot, shm.listener_obj(listener + position))
                    frontend.listener_counts[id(bind)] = counts
                    self.listener_counts.append(counts)
            listener += len(conf.binds)
            self.frontends[conf.name] = frontend

    def build_frontend(self, conf: Proxy, obj: int, backend_of: dict[int, BackendRuntime]) -> FrontendRuntime:
        frontend = FrontendRuntime(conf, obj, self.shm, self.slot)
        frontend.backend_of = backend_of
        frontend.splice = proxy_bits(self.config.global_, conf)  # mode tcp: option splice-* (workers/tcp.py)
        settings = frontend.settings
        default = settings.default_backend
        frontend.default_backend = backend_of.get(id(default)) if default is not None else None
        if not frontend.has_switching:
            static = select_backend(settings, None)
            frontend.static_backend = backend_of.get(id(static)) if static is not None else None
        frontend.listener_ids = dict(zip(map(id, conf.binds), listener_ids(conf.binds), strict=True))
        return frontend

