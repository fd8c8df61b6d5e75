"""The Balancer interface shared by every algorithm (worker).

A Balancer is built per backend in each worker after fork.  It reads server
health and admin state from shared memory at pick time (the checker and the
master write them) and counts picks in its own worker's column, so that
algorithms which need a shared position (roundrobin) see every worker's
picks.  A server's maxconn is the one in shared memory (srv_maxconn: the
configured value, or what `set maxconn server` made it).  Modeled on
HAProxy's `struct lbprm`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from lb.shm.layout import ADMIN_READY, ADMIN_VERSION, HEALTH_VERSION, SRV_UP

ALGORITHMS: dict[str, type["Balancer"]] = {}

# pick() returns this when usable servers exist but all are at their maxconn:
# the caller queues the stream (HAProxy's backend queue).
QUEUE: Any = object()


class ServerLike(Protocol):
    index: int  # position in shm server arrays
    id: int
    weight: int  # configured weight
    maxconn: int
    backup: bool


class SessionKey(Protocol):
    """What keyed algorithms may read from the stream being balanced."""

    client_ip: str
    request: Any  # lb.rules message (path, uri, query, header(name)) or None in TCP


def algorithm(name: str):
    def register(cls: type[Balancer]) -> type[Balancer]:
        cls.name = name
        ALGORITHMS[name] = cls
        return cls

    return register


class Balancer:
    """Chooses a server of one backend for a new stream (or request in HTTP)."""

    name: ClassVar[str] = ""

    def __init__(self, servers: list[Any], backend_index: int, shm: Any, slot: int,
                 allbackups: bool = False, params: list[str] | None = None) -> None:  # fmt: skip
        self.actives = [s for s in servers if not s.backup]
        self.backups = [s for s in servers if s.backup]
        self.backend_index = backend_index
        self.shm = shm
        self.slot = slot
        self.allbackups = allbackups
        self.params = params or []
        self._pick_cell = slot * shm.nbackends + backend_index
        self._picks_column = shm.column("picks", backend_index)
        self._all = [(s, s.index) for s in servers]
        self._maxconn = shm.srv_maxconn
        self.any_maxconn = self.limits_any()
        self._versions = shm.versions
        self._picks = shm.picks
        self._health_seen = self._admin_seen = -1  # change counters the usable set was built at
        self._usable: list[Any] = []

    @classmethod
    def check_args(cls, params: list[str]) -> str | None:
        """None when `balance <name> params...` is valid, else the problem."""
        return f"'{cls.name}' takes no argument" if params else None

    # -- server sets -------------------------------------------------------

    def usable(self, exclude: Any = None) -> list[Any]:
        """Servers allowed to take load-balanced traffic now: up, READY and
        weighted; backups only when no active one is (the first backup only,
        unless `option allbackups`).

        The set only changes when the checker or the master bumps its change
        counter in shared memory, so it is rebuilt only then: the same list
        object is returned meanwhile (algorithms may cache on its identity)."""
        if exclude is None:
            versions = self._versions
            health, admin = versions[HEALTH_VERSION], versions[ADMIN_VERSION]
            if health != self._health_seen or admin != self._admin_seen:
                self._usable = self.compute_usable(None)
                self._health_seen, self._admin_seen = health, admin
                self.any_maxconn = self.limits_any()  # `set maxconn server` bumps the admin version
            return self._usable
        return self.compute_usable(exclude)

    def limits_any(self) -> bool:
        """Some server of the backend has a maxconn (a plain loop: compiled code has no closures)."""
        for _server, i in self._all:
            if self._maxconn[i]:
                return True
        return False

    def compute_usable(self, exclude: Any) -> list[Any]:
        shm = self.shm
        up, admin, weight = shm.srv_up, shm.srv_admin, shm.srv_weight
        actives: list[Any] = []
        backups: list[Any] = []
        for server, i in self._all:
            if up[i] == SRV_UP and weight[i] and admin[i] == ADMIN_READY and server is not exclude:
                (backups if server.backup else actives).append(server)
        if actives:
            return actives
        return backups if self.allbackups else backups[:1]

    def has_room(self, server: Any) -> bool:
        """Below the server's maxconn (runtime value in shm), counting every worker's streams."""
        maxconn = self._maxconn[server.index]
        return not maxconn or self.shm.server_conns(server.index) < maxconn

    def count_pick(self) -> int:
        """Record one pick in this worker's column; return the shared position before it."""
        position = 0
        for picks in self._picks_column:  # one cell per worker: a loop is as quick as sum(), and compiles
            position += picks
        self._picks[self._pick_cell] += 1
        return position

    # -- the algorithm -------------------------------------------------------

    def pick(self, key: SessionKey | None = None, exclude: Any = None) -> Any:
        """A server, None when no server is usable, or QUEUE when all are full."""
        servers = self.usable(exclude)
        if not servers:
            return None
        if self.any_maxconn:
            servers = [s for s in servers if self.has_room(s)]
            if not servers:
                return QUEUE
        return self.choose(servers, key)

    def choose(self, servers: list[Any], key: SessionKey | None) -> Any:
        raise NotImplementedError


def smooth_weighted_sequence(servers: list[Any], weights: list[int]) -> list[Any]:
    """One cycle of smooth weighted round robin: each server appears `weight`
    times, spread as evenly as possible (s1,s1,s2,s1 for weights 3:1)."""
    total = sum(weights)
    current = [0] * len(servers)
    sequence = []
    for _ in range(total):
        for i, weight in enumerate(weights):
            current[i] += weight
        best = max(range(len(servers)), key=lambda i: current[i])
        current[best] -= total
        sequence.append(servers[best])
    return sequence
