"""balance hdr(<name>): hash of a request header's value (worker, HTTP).

Falls back to round robin when the header is absent, as HAProxy does.
"""

from __future__ import annotations

from typing import Any

from lb.balance.base import algorithm
from lb.balance.hashing import MapBased, sdbm


@algorithm("hdr")
class Header(MapBased):
    @classmethod
    def check_args(cls, params: list[str]) -> str | None:
        if not params or params[0] == "":
            return "requires a header name: 'balance hdr(<name>)'"
        return None

    def key_of(self, key: Any) -> int | None:
        """HAProxy's get_server_hh(): the first value of the first occurrence."""
        request = key.request
        if request is None:
            return None
        value = request.first_value(self.params[0])
        return sdbm(value.encode("latin-1")) if value else None
