"""Names `http-request use-service` accepts, and the action it becomes (master parses, worker runs).

A service module registers itself with `@service("name")`.  Its factory
receives the words written after the name (up to the end of the line) and
returns the Service (lb.services.base) and the words it did not use, which
must then be the rule's condition; a ValueError refuses the line with its
message, as HAProxy's service parsers do.

`UseService` is what the rule's action returns when it fires: a Verdict of
kind "service" (final, like `return`), so that lb.rules.pipeline passes it
up to the engine like any verdict, and the engine runs `verdict.service`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from lb import features
from lb.rules.actions import Verdict

Factory = Callable[[list[str]], tuple[Any, list[str]]]
SERVICES: dict[str, Factory] = {}
SERVICE_MODULES = ("lb.services.prometheus",)  # the modules that register services, imported on first lookup
# `.if feature(PROMEX)`: said here, where every configuration load passes, not in the
# exporter's module, which is only imported when a rule names it.
features.provide("PROMEX", "lb.services.prometheus")


def service(name: str) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        SERVICES[name] = factory
        return factory

    return register


def find_service(name: str) -> Factory | None:
    """The factory registered as `name` (the service modules are imported on first use)."""
    for module in SERVICE_MODULES:
        importlib.import_module(module)
    return SERVICES.get(name)


class UseService(Verdict):
    """`http-request use-service <name>`: the exchange is answered by `service` (term "LR").

    `status` stays -1 until the service replies; the engine logs the
    service's `log_name` in the server field and counts the request as
    intercepted (HAProxy's process_use_service)."""

    __slots__ = ("service",)

    def __init__(self, service: Any) -> None:
        super().__init__("service", None, -1, "LR")
        self.service = service

    def __call__(self, txn: Any) -> "UseService":
        return self

    def __repr__(self) -> str:
        return f"UseService({getattr(self.service, 'log_name', self.service)!r})"
