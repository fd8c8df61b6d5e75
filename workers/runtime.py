"""A worker's compiled view of its generation's config (worker; built after fork).

Frontends, backends and servers become small objects with everything the
hot path needs precomputed: shared-memory cells of this worker's column,
socket addresses, the balancer, the log function.  Built once in
Worker.init_process(); never rebuilt (a reload is a new generation).
"""

from __future__ import annotations

import collections
from typing import Any

from lb.balance import ALGORITHMS
from lb.config.model import MODE_HTTP, Config, Proxy, Server
from lb.shm import layout
from lb.shm.table import ShmTable

C_SESSIONS = layout.COUNTER["sessions"]
C_BYTES_IN = layout.COUNTER["bytes_in"]
C_BYTES_OUT = layout.COUNTER["bytes_out"]
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


class Counted:
    """Something with a row of counters in this worker's shm column."""

    counters: Any
    counter_base: int

    def bind_counters(self, shm: ShmTable, slot: int, obj: int) -> None:
        """Point at object `obj`'s row of counters in worker `slot`'s column."""
        self.counters = shm.counters
        self.counter_base = shm.counter_index(slot, obj, layout.COUNTERS[0])

    def count(self, counter: int, amount: int = 1) -> None:
        self.counters[self.counter_base + counter] += amount


class ServerRuntime(Counted):
    def __init__(self, conf: Server, index: int, backend: "BackendRuntime", shm: ShmTable, slot: int) -> None:
        self.conf = conf
        self.name = conf.name
        self.index = index
        self.id = conf.id
        self.weight = conf.weight
        self.maxconn = conf.maxconn
        self.backup = conf.backup
        self.backend = backend
        self.family = conf.family
        self.address = (conf.host, conf.port)
        self.send_proxy = conf.send_proxy
        self.cookie = conf.cookie
        self.shm = shm
        self.conns = shm.conns
        self.conns_cell = slot * shm.nservers + index
        self.conns_column = shm.column("conns", index)  # this server's cell in every worker's row
        self.bind_counters(shm, slot, shm.nproxies + index)

    def take_conn(self) -> None:
        self.conns[self.conns_cell] += 1

    def drop_conn(self) -> None:
        self.conns[self.conns_cell] -= 1
        self.backend.on_slot_freed()

    def current_conns(self) -> int:
        return sum(self.conns_column)

    def is_usable(self) -> bool:
        """Up and not in maintenance (persistence may use DRAIN servers)."""
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
        self.queue: collections.deque[Any] = collections.deque()
        self.shm = shm
        self.bind_counters(shm, slot, obj)
        self.active_streams = 0  # this worker's streams assigned to the backend (for %bc)
        self.plan: Any = None  # workers.http_rules.BackendPlan (mode http)

    def current_conns(self) -> int:
        """Streams on the backend's servers (all workers) plus this worker's queue (%bc)."""
        return sum([sum(server.conns_column) for server in self.servers]) + len(self.queue)

    def on_slot_freed(self) -> None:
        """A connection of this worker to one of our servers ended: serve the queue."""
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
        self.use_backends: list[tuple[Any, BackendRuntime]] = []
        self.logger: Any = None
        self.listeners: list[Any] = []
        self.paused = False
        self.feconn = shm.feconn
        self.feconn_cell = slot * shm.nproxies + obj
        self.feconn_column = shm.column("feconn", obj)
        self.obj = obj
        self.shm = shm
        self.bind_counters(shm, slot, obj)
        self.current = 0  # this worker's connections on the frontend
        self.plan: Any = None  # workers.http_rules.FrontendPlan (mode http)

    def conn_opened(self) -> None:
        self.current += 1
        self.feconn[self.feconn_cell] = self.current

    def conn_closed(self) -> None:
        self.current -= 1
        self.feconn[self.feconn_cell] = self.current

    def total_conns(self) -> int:
        return sum(self.feconn_column)


class Runtime:
    """Every frontend, backend and server of the generation, as this worker sees them."""

    def __init__(self, config: Config, shm: ShmTable, slot: int) -> None:
        self.config = config
        self.shm = shm
        self.slot = slot
        proxies = config.proxies()
        obj_of = {id(p): i for i, p in enumerate(proxies)}
        self.backends: dict[str, BackendRuntime] = {}
        servers = iter(range(shm.nservers))
        for bindex, conf in enumerate(config.backends.values()):
            backend = BackendRuntime(conf, bindex, obj_of[id(conf)], shm, slot)
            for server_conf in conf.servers:
                server = ServerRuntime(server_conf, next(servers), backend, shm, slot)
                backend.servers.append(server)
                backend.by_name[server.name] = server
            algo = ALGORITHMS[conf.balance.algorithm]
            backend.balancer = algo(backend.servers, bindex, shm, slot, conf.option("allbackups"), conf.balance.args)
            self.backends[conf.name] = backend
        self.frontends: dict[str, FrontendRuntime] = {}
        for conf in config.frontends.values():
            frontend = FrontendRuntime(conf, obj_of[id(conf)], shm, slot)
            frontend.default_backend = self.backends.get(conf.default_backend or "")
            if frontend.default_backend is None and conf.section == "listen":
                frontend.default_backend = self.backends.get(conf.name)
            frontend.use_backends = [(rule.cond, self.backends[rule.backend])
                                     for rule in conf.use_backends if rule.backend in self.backends]  # fmt: skip
            self.frontends[conf.name] = frontend

    def choose_backend(self, frontend: FrontendRuntime, txn: Any) -> BackendRuntime | None:
        """First matching use_backend, else default_backend (HAProxy order)."""
        for cond, backend in frontend.use_backends:
            if cond is None or (cond.compiled is not None and cond.compiled.match(txn)):
                return backend
        return frontend.default_backend
