"""Resolved routing of a frontend: which backend objects it may send to (all processes).

Filled at config load by lb.config.validate and stored in
`frontend.areas["routing"]`; workers read it after fork to pick a backend
without any name lookup.  Standard library only, like lb.config.model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lb.config.model import Proxy, UseBackend

AREA = "routing"


@dataclass
class SwitchingRule:
    """One `use_backend` line, with its target resolved."""

    rule: UseBackend  # the line as parsed; `rule.cond` is compiled by lb.rules
    backend: Proxy | None  # None: the name is a log-format expression, resolved per request
    dynamic: bool = False  # True when `rule.backend` holds a log-format expression (`%[...]`)


@dataclass
class Routing:
    """Where a frontend's traffic may go, in HAProxy's evaluation order."""

    rules: list[SwitchingRule] = field(default_factory=list)  # first matching rule wins
    default_backend: Proxy | None = None  # used when no rule matches; None: no backend at all


def routing_of(frontend: Proxy) -> Routing:
    """The resolved routing of `frontend` (empty if the config was not validated)."""
    routing = frontend.areas.get(AREA)
    return routing if isinstance(routing, Routing) else Routing()
