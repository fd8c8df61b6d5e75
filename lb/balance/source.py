"""balance source: hash of the client address (worker)."""

from __future__ import annotations

import ipaddress
from typing import Any

from lb.balance.base import algorithm
from lb.balance.hashing import MapBased


@algorithm("source")
class Source(MapBased):
    def key_of(self, key: Any) -> bytes | None:
        try:
            return ipaddress.ip_address(key.client_ip).packed
        except ValueError:
            return key.client_ip.encode()
