"""Map-based hashing shared by the keyed algorithms (worker).

HAProxy's default `hash-type map-based`: the key's hash modulo the total
weight of the usable servers picks a slot in a table where each server
appears `weight` times, so most keys move when the server set changes.
The string hash is sdbm, HAProxy's default function.
"""

from __future__ import annotations

from typing import Any

from lb.balance.base import Balancer


def sdbm(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (byte + (value << 6) + (value << 16) - value) & 0xFFFFFFFF
    return value


class MapBased(Balancer):
    """Base of keyed algorithms; `key_of()` extracts the bytes to hash."""

    fallback_roundrobin = True  # HAProxy: url_param and hdr fall back when the key is missing

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache_key: tuple = ()
        self._map: list[Any] = []

    def key_of(self, key: Any) -> bytes | None:
        raise NotImplementedError

    def choose(self, servers: list[Any], key: Any) -> Any:
        data = self.key_of(key) if key is not None else None
        position = self.count_pick()
        if data is None:
            return servers[position % len(servers)]
        weight = self.shm.srv_weight
        cache_key = tuple(s.index for s in servers) + tuple(weight[s.index] for s in servers)
        if cache_key != self._cache_key:
            self._map = [s for s in servers for _ in range(weight[s.index])]
            self._cache_key = cache_key
        return self._map[sdbm(data) % len(self._map)]
