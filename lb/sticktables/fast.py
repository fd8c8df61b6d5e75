"""The per-request paths of a stick table, written for speed (worker).

What `http-request track-sc0 src` plus a `sc_http_req_rate(0)` rule costs
on every request: find the entry of a one-word key, count into this
process's row, read a rate back, release.  The generic operations of
lb.sticktables.store loop over shards and data types by name; these do
the same with offsets worked out once per table (`Plan`), locals instead
of attribute lookups, and a straight path when one shard is all a read
has to add up (a single worker, the master's shards unused).  With more
shards they fall back to the generic operations.

`Plan` per table and event: the offsets of the counters it adds to and of
the rates it feeds, with their periods.
"""

from __future__ import annotations

from typing import Any

from lb.sticktables import freq
from lb.sticktables import layout as L
from lb.sticktables.keys import GOLDEN, M64
from lb.sticktables.layout import H_USED
from lb.sticktables.store import LIVE, PROBE_WINDOW, StickTable

# event -> (counters it adds to, rates it feeds)
EVENTS = {
    "track": (("conn_cur", "conn_cnt"), ("conn_rate",)),
    "track_http": (("conn_cur", "conn_cnt", "http_req_cnt"), ("conn_rate", "http_req_rate")),
    "http_req": (("http_req_cnt",), ("http_req_rate",)),
    "http_err": (("http_err_cnt",), ("http_err_rate",)),
    "http_fail": (("http_fail_cnt",), ("http_fail_rate",)),
    "sess": (("sess_cnt",), ("sess_rate",)),
    "bytes_in": (("bytes_in_cnt",), ("bytes_in_rate",)),
    "bytes_out": (("bytes_out_cnt",), ("bytes_out_rate",)),
    "gpc0": (("gpc0",), ("gpc0_rate",)),
    "gpc1": (("gpc1",), ("gpc1_rate",)),
}


class Plan:
    """Offsets an event updates in a row of one table."""

    __slots__ = ("counters", "rates", "empty")

    def __init__(self, table: StickTable, event: str) -> None:
        names, rates = EVENTS[event]
        self.counters = tuple(table.offsets[n] for n in names if n in table.offsets)
        self.rates = tuple((table.offsets[n], table.cfg.store[n]) for n in rates if n in table.offsets)
        self.empty = not self.counters and not self.rates


def plan(table: StickTable, event: str) -> Plan:
    plans = table.plans
    found = plans.get(event)
    if found is None:
        found = plans[event] = Plan(table, event)
    return found


def single(table: StickTable) -> bool:
    """True when reads add up one shard only (one worker, master's shards unused)."""
    return table.nworkers == 1 and not table.header[H_USED]


def find1(table: StickTable, key: int, now: int) -> tuple[int, int, int]:
    """StickTable.probe() for a one-word key read from one shard."""
    if table.kw != 1 or not single(table):
        return table.probe((key,), now)
    claims, keys, mask = table.claims, table.keys, table.mask
    value = (key * GOLDEN) & M64
    pos = ((value ^ (value >> 29)) >> table.shift) & mask
    free = -1
    for _step in range(PROBE_WINDOW):
        claim = claims[pos]
        if not claim:
            return -1, 0, pos if free < 0 else free
        if claim & LIVE:
            if keys[pos] == key:
                rows, row = table.rows, pos * table.rw
                if rows[row] == claim and (rows[row + 2] > 0 or not table.expire or rows[row + 1] > now):
                    return pos, claim, -1
                return -1, 0, pos if free < 0 else free
        elif free < 0:
            free = pos
        pos = (pos + 1) & mask
    return -1, 0, free


def track1(table: StickTable, key: int, now: int, shard: int, event: Plan) -> tuple[int, int] | None:
    """find1 + bump(event, refs=1) in one go, for a one-word key: the entry, tracked."""
    if table.nworkers != 1 or table.header[H_USED]:
        ref = get1(table, key, now, shard)
        if ref is not None:
            bump(table, ref[0], ref[1], shard, now, event, 1, 1)
        return ref
    claims, keys, rows, rw = table.claims, table.keys, table.rows, table.rw
    value = (key * GOLDEN) & M64
    pos = ((value ^ (value >> 29)) >> table.shift) & table.mask
    row = pos * rw
    claim = claims[pos]
    if claim & LIVE and keys[pos] == key and rows[row] == claim and (
            rows[row + 2] > 0 or rows[row + 1] > now or not table.expire):  # fmt: skip
        found = claim  # found at its home position: the usual case
    else:
        pos, found, _free = find1(table, key, now)
        if pos < 0:
            ref = table.get_or_create((key,), now, shard)
            if ref is None:
                return None
            pos, found = ref
        row = pos * rw
    for offset in event.counters:
        rows[row + offset] += 1
    for offset, period in event.rates:
        at = row + offset
        tick = rows[at]
        if tick and now - tick < period:
            rows[at + 1] += 1
        else:
            rows[at], rows[at + 2] = freq.rotate(tick, rows[at + 1], period, now)
            rows[at + 1] = 1
    rows[row + 2] += 1
    rows[row + 1] = now + table.expire
    return pos, found


def get1(table: StickTable, key: int, now: int, shard: int) -> tuple[int, int] | None:
    """StickTable.get_or_create() for a one-word key."""
    pos, claim, _free = find1(table, key, now)
    if pos >= 0:
        return pos, claim
    return table.get_or_create((key,), now, shard)


def bump(table: StickTable, pos: int, claim: int, shard: int, now: int, event: Plan, inc: int = 1,
         refs: int = 0) -> None:  # fmt: skip
    """Add `inc` to the event's counters and rates, `refs` to the references; push back the expiry."""
    rows, rw = table.rows, table.rw
    row = (shard * table.cap + pos) * rw
    if rows[row] != claim:
        rows[row : row + rw] = table._zero_row
        rows[row] = claim
    for offset in event.counters:
        rows[row + offset] += inc
    if event.rates:
        if single(table):
            for offset, period in event.rates:
                at = row + offset
                tick = rows[at]
                if tick and now - tick < period:
                    rows[at + 1] += inc
                else:
                    rows[at], rows[at + 2] = freq.rotate(tick, rows[at + 1], period, now)
                    rows[at + 1] = inc
        else:
            for offset, period in event.rates:
                table.add_rate(pos, claim, shard, offset, period, now, inc)
    if refs:
        rows[row + L.REFS] += refs
    rows[row + L.EXPIRE] = now + table.expire


def rate(table: StickTable, pos: int, claim: int, offset: int, period: int, now: int) -> int:
    """StickTable.rate(), one shard read directly."""
    if not single(table):
        return table.rate(pos, claim, offset, period, now)
    rows = table.rows
    at = pos * table.rw
    if rows[at] != claim:
        return 0
    at += offset
    tick, curr, prev = rows[at], rows[at + 1], rows[at + 2]
    remain = tick + period - now
    if remain < 0:
        remain += period
        prev = curr if remain >= 0 else 0
        curr = 0
    if not curr and prev <= 1:
        return prev
    return ((prev * remain + curr * period) // period) & 0xFFFFFFFF


def counter(table: StickTable, pos: int, claim: int, offset: int) -> int:
    if not single(table):
        return table.counter(pos, claim, offset)
    at = pos * table.rw
    rows = table.rows
    return rows[at + offset] if rows[at] == claim else 0


def release(table: StickTable, pos: int, claim: int, shard: int, now: int, conn_cur: int) -> None:
    """End of tracking: conn_cur -1 unless the entry already reads 0, reference released."""
    rows, rw = table.rows, table.rw
    row = (shard * table.cap + pos) * rw
    if rows[row] != claim:
        rows[row : row + rw] = table._zero_row
        rows[row] = claim
    if conn_cur:
        alone = table.nworkers == 1 and not table.header[H_USED]
        if (rows[row + conn_cur] if alone else table.counter(pos, claim, conn_cur)) > 0:
            rows[row + conn_cur] -= 1
    rows[row + L.REFS] -= 1
    rows[row + L.EXPIRE] = now + table.expire


def offset_of(table: Any, name: str) -> int:
    """A data type's word offset in the table's rows, 0 when it is not stored."""
    return table.offsets.get(name, 0)
