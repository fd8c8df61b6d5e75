"""balance first: the usable server with the lowest id that has room (worker).

Weights are ignored; without server maxconn every stream goes to the first
server (HAProxy documents the algorithm as pointless without maxconn).
"""

from __future__ import annotations

from typing import Any

from lb.balance.base import Balancer, SessionKey, algorithm


@algorithm("first")
class First(Balancer):
    def choose(self, servers: list[Any], key: SessionKey | None) -> Any:
        self.count_pick()
        return min(servers, key=lambda s: s.id)
