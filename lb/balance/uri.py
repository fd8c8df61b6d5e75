"""balance uri [whole] [len N] [depth N] [path-only]: hash of the request URI (worker, HTTP)."""

from __future__ import annotations

from typing import Any

from lb.balance.base import algorithm
from lb.balance.hashing import MapBased, sdbm


@algorithm("uri")
class Uri(MapBased):
    @classmethod
    def check_args(cls, params: list[str]) -> str | None:
        rest = list(params)
        while rest:
            word = rest.pop(0)
            if word in ("len", "depth"):
                if not rest or not rest.pop(0).isdigit():
                    return f"'{word}' expects a positive integer"
            elif word not in ("whole", "path-only"):
                return f"unknown option '{word}' (expects whole, len, depth or path-only)"
        return None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        words = list(self.params)
        self.whole = "whole" in words
        self.path_only = "path-only" in words
        self.length = int(words[words.index("len") + 1]) if "len" in words else 0
        self.depth = int(words[words.index("depth") + 1]) if "depth" in words else 0

    def key_of(self, key: Any) -> int | None:
        request = key.request
        if request is None:
            return None
        uri = request.path if self.path_only else request.uri
        if not self.whole and not self.path_only:
            uri = uri.split("?", 1)[0]
        if self.depth:
            uri = "/".join(uri.split("/")[: self.depth + 1])
        if self.length:
            uri = uri[: self.length]
        return sdbm(uri.encode())
