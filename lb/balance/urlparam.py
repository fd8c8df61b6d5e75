"""balance url_param <name>: hash of a query-string parameter's value (worker, HTTP).

Falls back to round robin when the parameter is absent, as HAProxy does.
"""

from __future__ import annotations

from typing import Any

from lb.balance.base import algorithm
from lb.balance.hashing import MapBased, sdbm


@algorithm("url_param")
class UrlParam(MapBased):
    @classmethod
    def check_args(cls, params: list[str]) -> str | None:
        if not params:
            return "requires an URL parameter name"
        if len(params) > 1 and params[1] != "check_post":
            return f"unexpected argument '{params[1]}'"
        return None

    def key_of(self, key: Any) -> int | None:
        request = key.request
        if request is None or not request.query:
            return None
        name = self.params[0]
        for pair in request.query.split("&"):
            pname, sep, value = pair.partition("=")
            if pname == name and sep:
                return sdbm(value.encode())
        return None
