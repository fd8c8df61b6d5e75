"""balance static-rr: weighted round robin on the configured weights (worker).

Same sequence as roundrobin, but runtime weight changes do not apply
(HAProxy: "static"); a weight set to 0 at runtime still drains the server.
"""

from __future__ import annotations

from typing import Any

from lb.balance.base import algorithm
from lb.balance.roundrobin import RoundRobin


@algorithm("static-rr")
class StaticRoundRobin(RoundRobin):
    def weights(self, servers: list[Any]) -> list[int]:
        return [s.weight for s in servers]
