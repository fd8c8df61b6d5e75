"""A generation's stick tables: created by the master before forking, carried over reloads (master).

`TableSet(config, nworkers)` maps every table of the configuration into
shared memory (lb.sticktables.store) and attaches it to its TableConfig, so
that the rules compiled from that config reach it in the workers.  Before
each worker is forked, `set_writer(slot)` makes the child write into its own
shard.

Reloads: the new generation's tables are new regions, since its workers are
new processes needing shards of their own and since `size` or `store` may
have changed.  `carry_from(old)` copies the live entries of each table of
the previous generation that keeps its name and key type into the new
table's `carried` shard: the old table's merged values, as one more shard
the new workers add up.  The master does it before forking the new
generation, again when it becomes active (the old one stops accepting),
and a last time once the old generation is gone (`final`: its connections
are closed, so conn_cur and the references it held are dropped).  Updates
the old workers make between two copies and after the last copy are lost
for the new generation; requests still in flight in the old generation
read the old table.
"""

from __future__ import annotations

from typing import Any

from lb.sticktables import clock, counters
from lb.sticktables import layout as L
from lb.sticktables.model import DATA_KIND, tables_of
from lb.sticktables.store import StickTable


class TableSet:
    """The stick tables of one generation, by name."""

    def __init__(self, config: Any, nworkers: int) -> None:
        self.tables: dict[str, StickTable] = {}
        for name, cfg in tables_of(config).items():
            cfg.store_obj = StickTable(cfg, nworkers)
            self.tables[name] = cfg.store_obj

    def __bool__(self) -> bool:
        return bool(self.tables)

    def get(self, name: str) -> StickTable | None:
        return self.tables.get(name)

    def in_order(self) -> list[StickTable]:
        """Tables as HAProxy lists them in `show table` (last declared first)."""
        return list(reversed(self.tables.values()))

    @staticmethod
    def set_writer(slot: int) -> None:
        """Master, right before forking the worker of `slot` (-1 once forked): the
        child process writes into shard `slot` of every table."""
        counters.WRITER = slot

    def carry_from(self, old: TableSet | None, final: bool = False) -> int:
        """Copy the live entries of `old`'s tables into this set's carried shards."""
        if old is None:
            return 0
        copied = 0
        for name, table in self.tables.items():
            previous = old.tables.get(name)
            if previous is None or (previous.cfg.key_type, previous.cfg.key_size) != (
                    table.cfg.key_type, table.cfg.key_size):  # fmt: skip
                continue
            copied += carry_table(previous, table, final)
        return copied

    def close(self) -> None:
        for table in self.tables.values():
            table.close()
        self.tables = {}


def carry_table(old: StickTable, new: StickTable, final: bool) -> int:
    """Write `old`'s merged entries into `new`'s carried shard; returns the entries copied."""
    now, shard, copied = clock.now_ms(), new.carried, 0
    new.mark_used(shard)
    for pos, claim, key in list(old.entries(now)):
        ref = new.get_or_create(key, now, shard)
        if ref is None:
            continue
        row = new.own_row(ref[0], ref[1], shard)
        latest, refs = old.expiry_and_refs(pos, claim)
        new.rows[row + L.EXPIRE] = latest
        new.rows[row + L.REFS] = 0 if final else refs
        for data_type in new.offsets:
            if data_type in old.offsets:
                _copy(old, pos, claim, new, row, data_type, final)
        copied += 1
    return copied


def _copy(old: StickTable, pos: int, claim: int, new: StickTable, row: int, data_type: str, final: bool) -> None:
    """One data type of an old entry into a new carried row, as the old table's sum."""
    offset, kind = new.offsets[data_type], DATA_KIND[data_type]
    old_offset = old.offsets[data_type]
    rows = new.rows
    if data_type in L.LAST_VALUE_TYPES:
        rows[row + offset], rows[row + offset + 1] = 1, old.last(pos, claim, old_offset)  # older than any new stamp
    elif kind == "frqp":
        parts = old.rate_parts(pos, claim, old_offset)
        period = old.cfg.store[data_type]
        if period == new.cfg.store[data_type]:
            from lb.sticktables import freq

            tick, curr, prev = freq.merged(parts, period)
            rows[row + offset], rows[row + offset + 1], rows[row + offset + 2] = tick, curr, prev
    elif data_type == "conn_cur":
        rows[row + offset] = 0 if final else old.counter(pos, claim, old_offset)
    elif kind != "dict":
        rows[row + offset] = old.counter(pos, claim, old_offset)


def carry_chain(generations: list[Any], gone: Any = None) -> None:
    """Master: refresh every generation's carried entries from the one before it, oldest
    first, so the newest holds everything (`gone`: a generation whose processes have all
    exited; its copy is final, then its tables are closed)."""
    live = [g for g in generations if getattr(g, "tables", None) is not None]
    for older, newer in zip(live, live[1:], strict=False):
        newer.tables.carry_from(older.tables, final=older is gone)
    if gone is not None and getattr(gone, "tables", None) is not None:
        gone.tables.close()
