"""The contract between an HTTP service and the engine (worker; standard library only).

The engine (workers/http) hands a service the whole request once its head
and body (bounded by tune.bufsize) have arrived, with a ServiceContext for
what the worker can offer, and the service calls `done(reply)` exactly once:
at once (the stats page, the Prometheus exporter), or later (the stats
page's admin buttons wait for the master to apply a runtime API command).
The engine frames the reply (content-length, connection; the head only for a
HEAD request, as for its own replies), sends it, logs it
with the service's `log_name` in the server field (`fe fe/<STATS>`, termination
state `LR`, as HAProxy), and counts it as intercepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class ServiceRequest:
    method: str  # as received ("GET", "POST", ...)
    uri: str  # as received: path, then ';csv' or '?query' if any
    version: str  # "1.1" or "1.0"
    headers: list[tuple[str, str]]  # as received (names not lower-cased), latin-1 decoded
    body: bytes
    client_ip: str
    proxy: str  # the frontend or backend whose rules or `stats` settings chose the service
    secure: bool = False  # the client connection is TLS (lb's `ssl` bind)
    # The engine's lb.rules.txn.Txn of this request when it has one: the stats
    # page evaluates its `stats admin` and `stats http-request` conditions on
    # it (None: the service builds one from the fields above).
    txn: Any = None
    # False when the body did not fit the engine's buffer (tune.bufsize less
    # tune.maxrewrite): the stats page answers its admin form with EXCD.
    body_complete: bool = True

    def header(self, name: str) -> str | None:
        """The last value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == wanted:
                return value
        return None

    @property
    def path(self) -> str:
        return self.uri.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.uri.split("?", 1)[1] if "?" in self.uri else ""


@dataclass
class ServiceReply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)  # e.g. content-type; not content-length
    reason: str = ""  # "" for the standard reason phrase of `status`
    close: bool = False  # the connection closes after this reply (HAProxy's 400 from the exporter)


Done = Callable[[ServiceReply], None]
AskMaster = Callable[[str, Callable[[str | None], None]], None]


@dataclass
class ServiceContext:
    """What a worker offers a service: the running generation's config and shared memory."""

    config: Any  # lb.config.model.Config
    shm: Any  # lb.shm.table.ShmTable of this generation
    now: float  # epoch seconds
    global_maxconn: int  # per-worker global maxconn in effect
    pid: int  # this worker's pid
    slot: int  # this worker's column in the shared memory
    # Runs one runtime API command line at admin level in the master; the answer
    # text ("" for success) comes to the callback, or None when the master cannot
    # be asked (no control channel, timed out).
    ask_master: AskMaster


class Service(Protocol):
    log_name: str  # the server field of the log line: "<STATS>", "<PROMEX>"

    def respond(self, request: ServiceRequest, context: ServiceContext, done: Done) -> None: ...
