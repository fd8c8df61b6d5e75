"""balance roundrobin: smooth weighted round robin, dynamic weights (worker).

The position in the sequence is the number of picks every worker of the
generation has made for this backend (summed from shared memory), so a
series of separate connections sees s1, s2, s3 ... whichever worker
accepts each of them.
"""

from __future__ import annotations

from typing import Any

from lb.balance.base import Balancer, SessionKey, algorithm, smooth_weighted_sequence


@algorithm("roundrobin")
class RoundRobin(Balancer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache_key: Any = None
        self._cache_values: tuple = ()
        self._sequence: list[Any] = []

    def weights(self, servers: list[Any]) -> list[int]:
        """Runtime weights (the master may change them); static-rr overrides."""
        weight = self.shm.srv_weight
        return [weight[s.index] for s in servers]  # noqa: C416

    def choose(self, servers: list[Any], key: SessionKey | None) -> Any:
        if servers is not self._cache_key:  # the usable list is a new object whenever it changed
            weights = self.weights(servers)
            if (servers, weights) != self._cache_values:
                self._sequence = smooth_weighted_sequence(servers, weights)
                self._cache_values = (servers, weights)
            self._cache_key = servers if servers is self._usable else None
        sequence = self._sequence
        return sequence[self.count_pick() % len(sequence)]
