"""Per-proxy traffic-control settings: tcp-request rules, stick rules, use-server (all processes; stdlib only).

Stored in `Proxy.areas["tcp"]`, filled by the keyword handlers of
lb.rules.tcp_rules and lb.rules.stick_rules, read by the worker through
lb.sticktables.tracking.  Compiled objects (conditions, actions, fetches)
are held as `Any` so that this module imports nothing from the project.

A proxy created from a named defaults section starts with a copy of its
rules (they run first, as in HAProxy); `settings_for` re-owns the copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AREA = "tcp"


@dataclass
class TcpRule:
    """One `tcp-request <where> <action> [if|unless cond]` line."""

    where: str  # "connection" | "session" | "content"
    action_name: str
    action: Any  # callable(txn) -> None | outcome (lb.rules.tcp_rules)
    cond: Any = None  # lb.config.model.Condition
    loc: Any = None


@dataclass
class StickRule:
    """`stick on|match|store-request|store-response <expr> [table <t>] [if|unless cond]`."""

    kind: str  # "on" | "match" | "store-request" | "store-response"
    fetch: Any  # lb.rules.fetches.Fetch of the key
    table: Any  # lb.sticktables.refs.TableRef
    cond: Any = None
    loc: Any = None

    @property
    def matches(self) -> bool:
        return self.kind in ("on", "match")

    @property
    def stores(self) -> bool:
        return self.kind in ("on", "store-request", "store-response")


@dataclass
class ServerRule:
    """`use-server <name> if|unless <cond>` (a log-format name is dynamic)."""

    name: str
    cond: Any
    loc: Any = None
    server: Any = None  # lb.config.model.Server, resolved after parsing
    name_fmt: Any = None  # lb.rules.fmt.Format when the name is dynamic


@dataclass
class TcpSettings:
    owner: tuple[str, str, Any]
    inspect_delay: int | None = None  # ms; None: not set
    inspect_delay_loc: Any = None
    connection_rules: list[TcpRule] = field(default_factory=list)
    session_rules: list[TcpRule] = field(default_factory=list)
    content_rules: list[TcpRule] = field(default_factory=list)
    stick_rules: list[StickRule] = field(default_factory=list)  # request side, in order
    store_response_rules: list[StickRule] = field(default_factory=list)
    server_rules: list[ServerRule] = field(default_factory=list)
    tracks: list[Any] = field(default_factory=list)  # track-sc actions, resolved after parsing
    table: Any = None  # lb.sticktables.model.TableConfig declared by this proxy
    # Filled after parsing for the worker: ((compiled condition | None, action, name), ...)
    connection_program: tuple[Any, ...] = ()
    session_program: tuple[Any, ...] = ()
    content_program: tuple[Any, ...] = ()

    def rules(self, where: str) -> list[TcpRule]:
        return {"connection": self.connection_rules, "session": self.session_rules,
                "content": self.content_rules}[where]  # fmt: skip


def settings_for(proxy: Any) -> TcpSettings:
    """The TcpSettings of `proxy`, created on first use; a copy inherited from a
    defaults section keeps its rules (they run first) and is re-owned."""
    key = (proxy.section, proxy.name, proxy.loc)
    settings = proxy.areas.get(AREA)
    if settings is None:
        settings = TcpSettings(owner=key)
        proxy.areas[AREA] = settings
    elif settings.owner != key:
        settings.owner = key
        settings.stick_rules, settings.store_response_rules, settings.server_rules = [], [], []
        settings.table = None
    return settings
