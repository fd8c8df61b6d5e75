"""Helpers for stick-table unit tests: tables in shared memory, a fake clock, workers simulated by shard."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import lb.config
from lb.rules.message import Request
from lb.rules.txn import ConnFacts, Txn
from lb.sticktables import clock, counters
from lb.sticktables.model import TableConfig
from lb.sticktables.regions import TableSet
from lb.sticktables.store import StickTable

T0 = 10_000_000  # a fake clock starts far from 0, as the monotonic clock does


class FakeClock:
    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@contextmanager
def fake_clock(start: int = T0) -> Iterator[FakeClock]:
    fake = FakeClock(start)
    clock.set_clock(fake)
    try:
        yield fake
    finally:
        clock.set_clock(None)


@contextmanager
def as_worker(slot: int) -> Iterator[None]:
    """Run the block as if in the worker of `slot` (its shard)."""
    previous = counters.WRITER
    counters.WRITER = slot
    try:
        yield
    finally:
        counters.WRITER = previous


def table(key_type: str = "ip", size: int = 10, expire: int = 30_000, store: dict[str, int] | None = None,
          nworkers: int = 2, key_size: int = 4, nopurge: bool = False) -> StickTable:  # fmt: skip
    cfg = TableConfig("t", key_type, key_size, size, expire, nopurge, dict(store or {}))
    return StickTable(cfg, nworkers)


def load_tables(tmp_path: Path, text: str, nworkers: int = 2) -> tuple[Any, TableSet]:
    """A configuration (defaults with timeouts prepended) and its tables in shared memory."""
    path = tmp_path / "t.cfg"
    path.write_text("defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
                    + text)  # fmt: skip
    config = lb.config.load(str(path))
    assert not config.alerts, [d.message for d in config.alerts]
    return config, TableSet(config, nworkers)


def http_txn(config: Any, src: str = "10.0.0.1", frontend: str = "fe", facts: ConnFacts | None = None,
             path: str = "/") -> Txn:  # fmt: skip
    facts = facts or ConnFacts(src, 40000, "127.0.0.1", 80)
    return Txn(facts, Request("GET", path, "1.1", [("host", "x")]), config.frontends[frontend])
