"""balance source: hash of the client address (worker)."""

from __future__ import annotations

import ipaddress
from typing import Any

from lb.balance.base import algorithm
from lb.balance.hashing import MapBased


@algorithm("source")
class Source(MapBased):
    def key_of(self, key: Any) -> int | None:
        """HAProxy's get_server_sh(): the address's 32-bit big-endian words XORed."""
        try:
            packed = ipaddress.ip_address(key.client_ip).packed
        except ValueError:
            return None
        value = 0
        for offset in range(0, len(packed), 4):
            value ^= int.from_bytes(packed[offset : offset + 4], "big")
        return value
