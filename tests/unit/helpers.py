"""Helpers for the unit tests: fake servers on a real in-process ShmTable (tests only).

A Balancer reads health, admin state and weights from shared memory and
counts its picks there, so the tests build a real ShmTable (an anonymous
mmap in this process) and seed it the way the master does
(lb.generation.Generation.seed): up, READY, configured weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from lb.balance import ALGORITHMS
from lb.rules.message import Request
from lb.shm.layout import ADMIN_READY
from lb.shm.table import ShmTable


@dataclass(eq=False)  # identity equality, like the worker's ServerRuntime objects
class FakeServer:
    index: int  # position in the shm server arrays
    id: int
    weight: int = 1
    maxconn: int = 0
    backup: bool = False
    name: str = ""

    def __repr__(self) -> str:
        return self.name


def make_servers(weights: list[int], backups: int = 0, maxconn: int = 0) -> list[FakeServer]:
    """s1..sN with `weights`, then b1..bM backups of weight 1."""
    servers = [FakeServer(i, i + 1, w, maxconn, False, f"s{i + 1}") for i, w in enumerate(weights)]
    for j in range(backups):
        i = len(servers)
        servers.append(FakeServer(i, i + 1, 1, maxconn, True, f"b{j + 1}"))
    return servers


def make_table(servers: list[FakeServer], nslots: int = 2, nbackends: int = 1, nproxies: int = 1) -> ShmTable:
    shm = ShmTable(1, nslots, len(servers), nbackends, nproxies)
    for server in servers:
        shm.srv_up[server.index] = 1
        shm.srv_admin[server.index] = ADMIN_READY
        shm.srv_weight[server.index] = server.weight
        shm.srv_maxconn[server.index] = server.maxconn  # as the master seeds it (lb.carry)
    return shm


def balancer(algorithm: str, servers: list[FakeServer], shm: ShmTable, slot: int = 0,
             allbackups: bool = False, params: list[str] | None = None, backend: int = 0) -> Any:  # fmt: skip
    return ALGORITHMS[algorithm](servers, backend, shm, slot, allbackups, params)


def names(picks: list[Any]) -> list[str]:
    return [getattr(p, "name", repr(p)) for p in picks]


def picks(b: Any, count: int, key: Any = None) -> list[str]:
    return names([b.pick(key) for _ in range(count)])


def set_conns(shm: ShmTable, server: int, per_slot: list[int], queued: list[int] | None = None) -> None:
    """Write `server`'s in-flight count in each worker slot's column."""
    for slot, count in enumerate(per_slot):
        shm.conns[slot * shm.nservers + server] = count
    for slot, count in enumerate(queued or []):
        shm.queued[slot * shm.nservers + server] = count


def http_key(uri: str = "/", headers: list[tuple[str, str]] | None = None, client_ip: str = "127.0.0.1") -> Any:
    """What a keyed balancer reads from an HTTP stream."""
    return SimpleNamespace(client_ip=client_ip, request=Request("GET", uri, "1.1", headers or []))


def tcp_key(client_ip: str) -> Any:
    return SimpleNamespace(client_ip=client_ip, request=None)


def sdbm_reference(data: bytes) -> int:
    """sdbm written as its multiplicative form (65599 = 2**6 + 2**16 - 1)."""
    value = 0
    for byte in data:
        value = (value * 65599 + byte) % 2**32
    return value


def haproxy_map(servers: list[FakeServer]) -> list[FakeServer]:
    """HAProxy's map for map-based hashing (src/lb_map.c): weights divided by
    their GCD, then laid out by recalc_server_map's interleaving."""
    from math import gcd

    divisor = 0
    for server in servers:
        divisor = gcd(divisor, server.weight)
    eweights = [server.weight // divisor for server in servers]
    total = sum(eweights)
    if total == 1:
        return [servers[0]]
    scores = [0] * len(servers)
    table = []
    for _ in range(total):
        best, best_v = -1, 0
        for i, eweight in enumerate(eweights):
            scores[i] += eweight
            v = (scores[i] + total) // total
            if best < 0 or v > best_v:
                best, best_v = i, v
        table.append(servers[best])
        scores[best] -= total
    return table
