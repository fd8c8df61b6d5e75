"""balance leastconn: fewest in-flight streams per unit of weight (worker).

In-flight = active connections + queued streams, summed over every worker's
column in shared memory (HAProxy's lb_fwlc key `(inflight+1)/weight`).  Ties
go round robin, on the shared pick position.
"""

from __future__ import annotations

from typing import Any

from lb.balance.base import Balancer, SessionKey, algorithm


@algorithm("leastconn")
class LeastConn(Balancer):
    def choose(self, servers: list[Any], key: SessionKey | None) -> Any:
        shm, weight = self.shm, self.shm.srv_weight
        best: list[Any] = []
        best_load = 0.0
        for server in servers:
            inflight = shm.server_conns(server.index) + shm.server_queued(server.index)
            # an idle server sorts first whatever its weight (lb_fwlc's key is 0 then)
            load = (inflight + 1) / weight[server.index] if inflight else 0.0
            if not best or load < best_load:
                best, best_load = [server], load
            elif load == best_load:
                best.append(server)
        if len(best) == 1:
            self.count_pick()
            return best[0]
        return best[self.count_pick() % len(best)]
