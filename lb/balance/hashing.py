"""Map-based hashing shared by the keyed algorithms (worker).

HAProxy's default `hash-type map-based` (src/lb_map.c): the usable servers'
weights are divided by their greatest common divisor and laid out in a table
where each server appears `weight` times, interleaved; a key's hash modulo
the table size picks the server, so most keys move when the server set
changes.  When a request carries no key, the same table is walked in turn
(weighted round robin).  The string hash is sdbm, HAProxy's default.
"""

from __future__ import annotations

from math import gcd
from typing import Any

from lb.balance.base import Balancer


def sdbm(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (byte + (value << 6) + (value << 16) - value) & 0xFFFFFFFF
    return value


def server_map(servers: list[Any], weights: list[int]) -> list[Any]:
    """The interleaved table of recalc_server_map() for GCD-reduced weights."""
    divisor = 0
    for weight in weights:
        divisor = gcd(divisor, weight)
    reduced = [weight // divisor for weight in weights]
    total = sum(reduced)
    scores = [0] * len(servers)
    table = []
    for _ in range(total):
        best, best_value = 0, -1
        for i, weight in enumerate(reduced):
            scores[i] += weight
            value = (scores[i] + total) // total
            if value > best_value:
                best, best_value = i, value
        table.append(servers[best])
        scores[best] -= total
    return table


class MapBased(Balancer):
    """Base of keyed algorithms; `key_of()` gives the key's 32-bit hash, or None."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache_key: tuple = ()
        self._map: list[Any] = []

    def key_of(self, key: Any) -> int | None:
        raise NotImplementedError

    def choose(self, servers: list[Any], key: Any) -> Any:
        weight = self.shm.srv_weight
        weights = [weight[s.index] for s in servers]
        cache_key = (servers, weights)
        if cache_key != self._cache_key:
            self._map = server_map(servers, weights)
            self._cache_key = cache_key
        position = self.count_pick()
        hashed = self.key_of(key) if key is not None else None
        if hashed is None:
            return self._map[position % len(self._map)]
        return self._map[hashed % len(self._map)]
