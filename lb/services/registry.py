"""Names `http-request use-service` accepts, and what builds each (master parses, worker runs).

A service module registers itself with `@service("name")`; the factory
receives the words after the name on the rule line (none for
prometheus-exporter) and returns a Service (lb.services.base).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Factory = Callable[[list[str]], Any]
SERVICES: dict[str, Factory] = {}


def service(name: str) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        SERVICES[name] = factory
        return factory

    return register
