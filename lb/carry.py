"""What a generation inherits from the ones before it (master).

Objects are matched by name (lb.stats.objects keys): a frontend, backend,
server or listener that keeps its name across a reload keeps

- its runtime state, written once when the new generation is seeded
  (`seed_runtime`): admin state (ready/drain/maint), weight and maxconn set
  through the stats socket, `disable health|agent`, a paused frontend and
  its maxconn, the global maxconn, backend UP/DOWN history.  A runtime
  value is kept unless the new configuration changed the setting it
  overrides (a new `weight` on the server line wins over an old
  `set weight`), as HAProxy's server-state-file does;
- its counters (`CounterChain`): `carried` of the new generation holds what
  the generations before it counted.  While the previous one still drains,
  the master refreshes `carried` from its live totals every second, so
  readers of the new generation see both; when it is gone, its final counts
  are folded in for good.  `clear counters all` restarts every live
  generation's totals from zero (`carried` becomes the negated total).
"""

from __future__ import annotations

import array
import time
from typing import TYPE_CHECKING

from lb.config.model import Config
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.stats import combine
from lb.stats.objects import StatObject, catalog

if TYPE_CHECKING:
    from lb.generation import Generation

N = layout.NCOUNTERS


def seed_runtime(shm: ShmTable, config: Config, old_shm: ShmTable | None, old_config: Config | None) -> None:
    """Master-owned fields of a new generation, before anything forks."""
    for index, (_backend, server) in enumerate(config.all_servers()):
        shm.srv_admin[index] = layout.ADMIN_MAINT if server.disabled else layout.ADMIN_READY
        shm.srv_weight[index] = server.weight
        shm.srv_maxconn[index] = server.maxconn
    for index, proxy in enumerate(config.proxies()):
        shm.fe_maxconn[index] = proxy.maxconn if proxy.is_frontend else 0
    now = int(time.time() * 1000)
    for index in range(len(config.backends)):
        shm.be_change[index] = now
    if old_shm is not None and old_config is not None:
        carry_servers(shm, config, old_shm, old_config)
        carry_proxies(shm, config, old_shm, old_config)
        if old_config.global_.maxconn == config.global_.maxconn:
            shm.control[layout.CTRL_MAXCONN] = old_shm.control[layout.CTRL_MAXCONN]


def carry_servers(shm: ShmTable, config: Config, old_shm: ShmTable, old_config: Config) -> None:
    old = {(b.name, s.name): (i, s) for i, (b, s) in enumerate(old_config.all_servers())}
    for index, (backend, server) in enumerate(config.all_servers()):
        found = old.get((backend.name, server.name))
        if found is None:
            continue
        old_index, before = found
        if before.disabled == server.disabled:
            shm.srv_admin[index] = old_shm.srv_admin[old_index]
        if before.weight == server.weight:
            shm.srv_weight[index] = old_shm.srv_weight[old_index]
        if before.maxconn == server.maxconn:
            shm.srv_maxconn[index] = old_shm.srv_maxconn[old_index]
        if server.check:
            shm.srv_check_admin[index] = old_shm.srv_check_admin[old_index]


def carry_proxies(shm: ShmTable, config: Config, old_shm: ShmTable, old_config: Config) -> None:
    old_fe = {p.name: (i, p) for i, p in enumerate(old_config.proxies()) if p.is_frontend}
    for index, proxy in enumerate(config.proxies()):
        found = old_fe.get(proxy.name) if proxy.is_frontend else None
        if found is None:
            continue
        old_index, before = found
        shm.fe_disabled[index] = old_shm.fe_disabled[old_index]
        if before.maxconn == proxy.maxconn:
            shm.fe_maxconn[index] = old_shm.fe_maxconn[old_index]
    old_be = {name: i for i, name in enumerate(old_config.backends)}
    for index, name in enumerate(config.backends):
        if name in old_be:
            old_index = old_be[name]
            shm.be_change[index] = old_shm.be_change[old_index]
            shm.be_downs[index] = old_shm.be_downs[old_index]
            shm.be_downtime[index] = old_shm.be_downtime[old_index]


# -- counters ---------------------------------------------------------------------------------


class CounterChain:
    """The counters a generation carries: `frozen` from generations that are gone,
    plus the live totals of `pred`, the generation it replaced, while that one drains."""

    def __init__(self, generation: "Generation", pred: "Generation | None") -> None:
        self.generation = generation
        self.pred = pred
        self.objects = catalog(generation.config, generation.shm.nproxies, generation.shm.nservers,
                               generation.shm.nbackends)  # fmt: skip
        self.frozen: dict[tuple, list[int]] = {}

    def own_totals(self, obj: StatObject) -> list[int]:
        """This generation's own counts of `obj`: its slots and what it froze (not its pred's)."""
        shm = self.generation.shm
        rows = [row for index in obj.rows for row in combine.slot_rows(shm, index)]
        frozen = self.frozen.get(obj.key)
        return combine.combine(rows + ([frozen] if frozen else []), obj.http)

    def live_totals(self) -> dict[tuple, list[int]]:
        """Every object's totals as readers see them (slots and carried)."""
        shm = self.generation.shm
        out = {}
        for obj in self.objects:
            rows = [row for index in obj.rows for row in combine.slot_rows(shm, index)]
            carried = [combine.carried_row(shm, index) for index in obj.rows]
            out[obj.key] = combine.combine(rows + carried, obj.http)
        return out

    def refresh(self) -> None:
        """carried = frozen (+) pred's live totals, for each object (master, once a second)."""
        shm = self.generation.shm
        pred_totals = self.pred.chain.live_totals() if self.pred is not None else {}
        for obj in self.objects:
            parts = [part for part in (self.frozen.get(obj.key), pred_totals.get(obj.key)) if part]
            row = combine.combine(parts, obj.http) if parts else [0] * N
            base = obj.rows[0] * N
            shm.carried[base : base + N] = _signed(row)

    def absorb(self, gone: "Generation") -> None:
        """`gone` (this generation's pred) exited: fold its own final counts in, and
        follow the chain to its own pred."""
        own = {obj.key: gone.chain.own_totals(obj) for obj in gone.chain.objects}
        mine = {obj.key: obj for obj in self.objects}
        for key, totals in own.items():
            obj = mine.get(key)
            if obj is None:
                continue
            frozen = self.frozen.get(key)
            self.frozen[key] = combine.combine([frozen, totals], obj.http) if frozen else totals
        self.pred = gone.chain.pred
        self.refresh()

    def clear(self, everything: bool) -> None:
        """`clear counters [all]` (the master has bumped the clear epochs already).

        Maxima from gone generations are forgotten; with `all`, readers'
        totals restart at 0 while the slots keep counting: the SUM cells of
        `frozen` become the slots' negated sums.  The master applies it to
        every live generation, oldest first, so the pred's totals this
        generation adds restart at 0 as well."""
        shm = self.generation.shm
        for obj in self.objects:
            if everything:
                rows = [row for index in obj.rows for row in combine.slot_rows(shm, index)]
                slots = combine.combine(rows, obj.http)
                baseline = [0] * N
                for name, mode in layout.COMBINE.items():
                    if mode == layout.SUM:
                        baseline[layout.COUNTER[name]] = -slots[layout.COUNTER[name]]
                self.frozen[obj.key] = baseline
            elif obj.key in self.frozen:
                for name in layout.CLEARED_MAX:
                    self.frozen[obj.key][layout.COUNTER[name]] = 0
        self.refresh()


def _signed(row: list[int]) -> array.array:
    """A row as the i64 cells of `carried` expect it (bounded, in one slice assignment)."""
    limit = 2**63 - 1
    return array.array("q", [max(-limit, min(limit, value)) for value in row])
