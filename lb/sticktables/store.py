"""One stick table in shared memory: lookups, inserts, counters, expiry, eviction (worker, master).

The layout and the reasons for it are in lb.sticktables.layout: one claim,
one key and one row per shard and position; the newest claim of a position
says which key lives there; rows tagged with that claim add up to the
entry.  This module holds the operations.  An entry is designated by
(position, claim) — a "ref" — which stays valid until the entry is
removed; a stale ref reads as a missing entry.

Every write goes to one shard: the caller's (`shard` arguments; workers
pass their own, the master the admin or carried shard).  Reads add up the
shards in use: every worker shard, plus the master's shards once the
master has written in them (header `used` bits).

Times are integer milliseconds of the system-wide monotonic clock
(lb.sticktables.clock), the same in every process.  An entry is live while
its latest expiry is in the future or while a session tracks it (refs);
a table without `expire` keeps entries until they are evicted.  Expired
entries are tombstoned by `purge` (called by workers when idle and by
inserters when the table is full); when the table is full the oldest
unreferenced entries are evicted in batches of size/256 + 1, as HAProxy's
stktable_trash_oldest() does.
"""

from __future__ import annotations

import heapq
import mmap
import time
from typing import Any, Iterator

from lb.sticktables import freq
from lb.sticktables import layout as L
from lb.sticktables.keys import Words, hash_words
from lb.sticktables.model import DATA_KIND, TableConfig

PROBE_WINDOW = 128  # positions a key may be found at, from its hash: bounds every lookup
LIVE = 1
M32 = 0xFFFFFFFF


class StickTable:
    """A table's region and the operations on it (one object per process after fork)."""

    # the arrays of lb.sticktables.layout, as typed views (set in __init__ from the layout)
    header: memoryview
    meta: memoryview
    claims: memoryview
    keys: memoryview
    rows: memoryview

    def __init__(self, cfg: TableConfig, nworkers: int, origin_ns: int | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.nworkers = nworkers
        self.nshards = nworkers + 2
        self.carried, self.admin = nworkers, nworkers + 1
        self.cap = L.capacity(cfg.size)
        self.mask = self.cap - 1
        self.shift = 64 - (self.cap.bit_length() - 1)
        self.kw = L.key_words(cfg)
        self.offsets, self.rw = L.row_offsets(cfg)
        self.expire = cfg.expire
        self.batch = (cfg.size >> 8) + 1
        self.size_bytes = L.region_size(self.nshards, self.cap, self.rw, self.kw)
        self.mm = mmap.mmap(-1, self.size_bytes, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        buf = memoryview(self.mm)
        self.buf = buf
        for name, (offset, count, fmt) in L.sections(self.nshards, self.cap, self.rw, self.kw).items():
            setattr(self, name, buf[offset : offset + count * 8].cast(fmt))  # type: ignore[call-overload]
        header = self.header
        header[L.H_MAGIC], header[L.H_VERSION], header[L.H_NSHARDS] = L.MAGIC, L.VERSION, self.nshards
        header[L.H_CAP], header[L.H_RW], header[L.H_KW] = self.cap, self.rw, self.kw
        header[L.H_ORIGIN] = time.monotonic_ns() if origin_ns is None else origin_ns
        self.origin = header[L.H_ORIGIN]
        self.worker_shards = tuple(range(nworkers))
        self.all_shards = tuple(range(self.nshards))
        self._shards_for = {0: self.worker_shards}
        self._last_stamp = 0
        self._zero_row = memoryview(bytes(self.rw * 8)).cast("q")
        self.plans: dict[str, Any] = {}  # lb.sticktables.fast.Plan by event, made on first use
        # (offset, period) of each stored rate, and conn_cur's offset (0: not stored), for the hot paths
        self.rate_specs = {name: (off, cfg.store[name]) for name, off in self.offsets.items()
                           if DATA_KIND[name] == "frqp"}  # fmt: skip
        self.conn_cur = self.offsets.get("conn_cur", 0)
        self.counts_bytes = any(name.startswith(("bytes_in_", "bytes_out_")) for name in self.offsets)

    # -- process-local helpers ----------------------------------------------------------

    def shards(self) -> tuple[int, ...]:
        """The shards a read must add up: the workers', and the master's once used."""
        used = self.header[L.H_USED]
        shards = self._shards_for.get(used)
        if shards is None:
            extra = ((self.carried,) if used & L.USED_CARRIED else ()) + ((self.admin,) if used & L.USED_ADMIN else ())
            shards = self._shards_for[used] = self.worker_shards + extra
        return shards

    def mark_used(self, shard: int) -> None:
        """Master: its carried/admin shard now holds data that reads must include."""
        bit = L.USED_CARRIED if shard == self.carried else L.USED_ADMIN
        self.header[L.H_USED] |= bit

    def stamp(self, shard: int) -> int:
        """A claim value for `shard`: newer than any this process made, ordered across processes."""
        now = (time.monotonic_ns() - self.origin) // 100
        if now <= self._last_stamp:
            now = self._last_stamp + 1
        self._last_stamp = now
        return ((now << 8) | shard) << 1

    def slot(self, words: Words) -> int:
        return (hash_words(words) >> self.shift) & self.mask

    def key_at(self, shard: int, pos: int) -> Words:
        base = (shard * self.cap + pos) * self.kw
        return tuple(self.keys[base : base + self.kw])

    # -- finding entries --------------------------------------------------------------------

    def winner(self, pos: int, shards: tuple[int, ...]) -> tuple[int, int]:
        """(claim, shard) of the newest claim at `pos` (claim 0: never used)."""
        claims, cap = self.claims, self.cap
        best, owner = 0, -1
        for shard in shards:
            claim = claims[shard * cap + pos]
            if claim > best:
                best, owner = claim, shard
        return best, owner

    def probe(self, words: Words, now: int) -> tuple[int, int, int]:
        """(position, claim, free position) for `words`: position -1 when the key has
        no live entry; free is where it may be inserted (-1: the window is full)."""
        shards, cap, kw, keys, mask = self.shards(), self.cap, self.kw, self.keys, self.mask
        pos, free = self.slot(words), -1
        first = words[0]
        for _step in range(PROBE_WINDOW):
            claim, owner = self.winner(pos, shards)
            if not claim:
                return -1, 0, pos if free < 0 else free
            if claim & LIVE:
                base = (owner * cap + pos) * kw
                if keys[base] == first and (kw == 1 or tuple(keys[base : base + kw]) == words):
                    if self.alive(pos, claim, now, shards):
                        return pos, claim, -1
                    return -1, 0, pos if free < 0 else free
            elif free < 0:
                free = pos
            pos = (pos + 1) & mask
        return -1, 0, free

    def lookup(self, words: Words, now: int) -> tuple[int, int] | None:
        pos, claim, _free = self.probe(words, now)
        return None if pos < 0 else (pos, claim)

    def alive(self, pos: int, claim: int, now: int, shards: tuple[int, ...] | None = None) -> bool:
        rows, cap, rw = self.rows, self.cap, self.rw
        latest = refs = 0
        for shard in shards or self.shards():
            base = (shard * cap + pos) * rw
            if rows[base] == claim:
                refs += rows[base + L.REFS]
                if rows[base + L.EXPIRE] > latest:
                    latest = rows[base + L.EXPIRE]
        return refs > 0 or not self.expire or latest > now

    def is_current(self, pos: int, claim: int) -> bool:
        """The ref still designates the entry at `pos` (no newer claim or tombstone)."""
        return self.winner(pos, self.shards())[0] == claim

    # -- creating and removing -----------------------------------------------------------

    def get_or_create(self, words: Words, now: int, shard: int) -> tuple[int, int] | None:
        """HAProxy's stktable_get_entry(): the live entry of `words`, or a new one
        (evicting the oldest when the table is full); None when none can be made."""
        pos, claim, free = self.probe(words, now)
        if pos >= 0:
            return pos, claim
        if self.count() >= self.cfg.size or free < 0:
            self.make_room(shard, now)
            if self.count() >= self.cfg.size:
                return None
            pos, claim, free = self.probe(words, now)
            if pos >= 0:
                return pos, claim
            if free < 0:
                return None
        return self.insert(words, free, now, shard)

    def insert(self, words: Words, pos: int, now: int, shard: int) -> tuple[int, int]:
        """A new entry at `pos` (free, a tombstone, or a dead entry it replaces)."""
        if self.winner(pos, self.shards())[0] & LIVE:
            self.meta[shard * L.META_WORDS + L.M_KILLED] += 1  # the dead entry it replaces
        claim = self.stamp(shard) | LIVE
        base = (shard * self.cap + pos) * self.kw
        self.keys[base : base + self.kw] = _words_view(words)
        row = (shard * self.cap + pos) * self.rw
        self.rows[row : row + self.rw] = self._zero_row
        self.rows[row] = claim
        self.rows[row + L.EXPIRE] = now + self.expire
        self.claims[shard * self.cap + pos] = claim  # last: readers that see the claim see the key
        self.meta[shard * L.META_WORDS + L.M_CREATED] += 1
        return pos, claim

    def kill(self, pos: int, shard: int) -> None:
        """Remove the entry at `pos` (a tombstone claim in `shard`)."""
        if self.winner(pos, self.shards())[0] & LIVE:
            self.claims[shard * self.cap + pos] = self.stamp(shard)
            self.meta[shard * L.META_WORDS + L.M_KILLED] += 1

    def count(self) -> int:
        """Entries in the table (HAProxy's t->current); expired entries count until purged."""
        meta, total = self.meta, 0
        for shard in range(self.nshards):
            base = shard * L.META_WORDS
            total += meta[base + L.M_CREATED] - meta[base + L.M_KILLED]
        return max(total, 0)

    def purge(self, shard: int, now: int, budget: int | None = None) -> int:
        """Tombstone expired entries, scanning `budget` positions from this shard's cursor."""
        if not self.expire:
            return 0
        meta_cursor = shard * L.META_WORDS + L.M_CURSOR
        start = self.meta[meta_cursor]
        span = self.cap if budget is None else min(budget, self.cap)
        shards, killed = self.shards(), 0
        for step in range(span):
            pos = (start + step) & self.mask
            claim, _owner = self.winner(pos, shards)
            if claim & LIVE and not self.alive(pos, claim, now, shards):
                self.kill(pos, shard)
                killed += 1
        self.meta[meta_cursor] = (start + span) & self.mask
        return killed

    def make_room(self, shard: int, now: int) -> None:
        """The table is full: purge expired entries, then (unless nopurge) evict the
        oldest unreferenced ones, size/256 + 1 of them."""
        self.purge(shard, now)
        if self.cfg.nopurge or self.count() < self.cfg.size:
            return
        shards = self.shards()
        candidates = []
        for pos, claim in self.live_positions(shards):
            latest, refs = self.expiry_and_refs(pos, claim, shards)
            if not refs:
                candidates.append((latest, pos))
        for _latest, pos in heapq.nsmallest(self.batch, candidates):
            self.kill(pos, shard)

    def live_positions(self, shards: tuple[int, ...] | None = None) -> Iterator[tuple[int, int]]:
        """(position, claim) of every position holding an entry (expired ones included)."""
        shards = shards or self.shards()
        winner = self.winner
        for pos in range(self.cap):
            claim, _owner = winner(pos, shards)
            if claim & LIVE:
                yield pos, claim

    def expiry_and_refs(self, pos: int, claim: int, shards: tuple[int, ...] | None = None) -> tuple[int, int]:
        rows, cap, rw = self.rows, self.cap, self.rw
        latest = refs = 0
        for shard in shards or self.shards():
            base = (shard * cap + pos) * rw
            if rows[base] == claim:
                refs += rows[base + L.REFS]
                latest = max(latest, rows[base + L.EXPIRE])
        return latest, refs

    def entries(self, now: int) -> Iterator[tuple[int, int, Words]]:
        """(position, claim, key) of every live entry."""
        shards = self.shards()
        for pos, claim in self.live_positions(shards):
            if self.alive(pos, claim, now, shards):
                yield pos, claim, self.key_at(claim >> 1 & 0xFF, pos)

    # -- a shard's row ----------------------------------------------------------------------

    def own_row(self, pos: int, claim: int, shard: int) -> int:
        """Index of `shard`'s row for the entry, reset first if it belonged to an older one."""
        row = (shard * self.cap + pos) * self.rw
        rows = self.rows
        if rows[row] != claim:
            rows[row : row + self.rw] = self._zero_row
            rows[row] = claim
        return row

    def touch(self, pos: int, claim: int, shard: int, now: int) -> None:
        """HAProxy's stktable_touch_local(): the entry expires `expire` ms from now."""
        self.rows[self.own_row(pos, claim, shard) + L.EXPIRE] = now + self.expire

    def hold(self, pos: int, claim: int, shard: int, delta: int) -> None:
        """A session starts (+1) or stops (-1) tracking the entry (HAProxy's ref_cnt)."""
        self.rows[self.own_row(pos, claim, shard) + L.REFS] += delta

    def add(self, pos: int, claim: int, shard: int, name: str, inc: int, now: int) -> None:
        """Count `inc` more of a counter or a rate."""
        offset = self.offsets[name]
        if DATA_KIND[name] == "frqp":
            self.add_rate(pos, claim, shard, offset, self.cfg.store[name], now, inc)
        else:
            self.rows[self.own_row(pos, claim, shard) + offset] += inc

    def add_rate(self, pos: int, claim: int, shard: int, offset: int, period: int, now: int, inc: int) -> None:
        rows, cap, rw = self.rows, self.cap, self.rw
        newest = 0
        for other in self.shards():
            base = (other * cap + pos) * rw
            if rows[base] == claim and rows[base + offset] > newest:
                newest = rows[base + offset]
        target = freq.next_tick(newest, period, now)
        row = self.own_row(pos, claim, shard) + offset
        tick, curr, prev = freq.shard_update((rows[row], rows[row + 1], rows[row + 2]), target, period, inc)
        rows[row], rows[row + 1], rows[row + 2] = tick, curr, prev

    def set_last(self, pos: int, claim: int, shard: int, name: str, value: int) -> None:
        """gpt0 / server_id: the newest value set by any shard wins."""
        row = self.own_row(pos, claim, shard) + self.offsets[name]
        self.rows[row], self.rows[row + 1] = self.stamp(shard), value

    def set_total(self, pos: int, claim: int, shard: int, name: str, value: int, now: int) -> None:
        """Make a counter (or rate) of the entry read `value`, whatever the other shards hold."""
        kind, offset = DATA_KIND[name], self.offsets[name]
        if name in L.LAST_VALUE_TYPES:
            self.set_last(pos, claim, shard, name, value)
        elif kind == "frqp":
            self._set_rate(pos, claim, shard, offset, value, now)
        elif kind != "dict":
            others = self.counter(pos, claim, offset) - self._own_value(pos, claim, shard, offset)
            self.rows[self.own_row(pos, claim, shard) + offset] = value - others

    def _own_value(self, pos: int, claim: int, shard: int, offset: int) -> int:
        row = (shard * self.cap + pos) * self.rw
        return self.rows[row + offset] if self.rows[row] == claim else 0

    def _set_rate(self, pos: int, claim: int, shard: int, offset: int, value: int, now: int) -> None:
        """HAProxy's `set table ... data.<rate>`: tick now, prev 0, curr value, as a sum of shards."""
        target, period = now & ~1, self._period_at(offset)
        rows, cap, rw = self.rows, self.cap, self.rw
        curr = past = 0
        for other in self.shards():
            if other == shard:
                continue
            base = (other * cap + pos) * rw
            if rows[base] == claim:
                tick, c, p = rows[base + offset], rows[base + offset + 1], rows[base + offset + 2]
                if tick == target:
                    curr, past = curr + c, past + p
                elif freq.follows(target, tick, period):
                    past += c
        row = self.own_row(pos, claim, shard) + offset
        rows[row], rows[row + 1], rows[row + 2] = target, value - curr, -past

    def _period_at(self, offset: int) -> int:
        for name, off in self.offsets.items():
            if off == offset:
                return self.cfg.store[name]
        raise KeyError(offset)

    # -- reading an entry ------------------------------------------------------------------

    def counter(self, pos: int, claim: int, offset: int) -> int:
        rows, cap, rw = self.rows, self.cap, self.rw
        total = 0
        for shard in self.shards():
            base = (shard * cap + pos) * rw
            if rows[base] == claim:
                total += rows[base + offset]
        return total

    def rate_parts(self, pos: int, claim: int, offset: int) -> list[tuple[int, int, int]]:
        """Every shard's (tick, curr, prev) of a rate of the entry."""
        rows, cap, rw = self.rows, self.cap, self.rw
        parts = []
        for shard in self.shards():
            base = (shard * cap + pos) * rw
            if rows[base] == claim:
                at = base + offset
                parts.append((rows[at], rows[at + 1], rows[at + 2]))
        return parts

    def rate(self, pos: int, claim: int, offset: int, period: int, now: int) -> int:
        tick, curr, prev = freq.merged(self.rate_parts(pos, claim, offset), period)
        return freq.read(tick, curr, prev, period, now)

    def last(self, pos: int, claim: int, offset: int) -> int:
        rows, cap, rw = self.rows, self.cap, self.rw
        newest = value = 0
        for shard in self.shards():
            base = (shard * cap + pos) * rw
            if rows[base] == claim and rows[base + offset] > newest:
                newest, value = rows[base + offset], rows[base + offset + 1]
        return value

    def value(self, pos: int, claim: int, name: str, now: int) -> int:
        """A stored data type of the entry, as HAProxy reports it (uint wrap included)."""
        offset, kind = self.offsets[name], DATA_KIND[name]
        if name in L.LAST_VALUE_TYPES:
            raw = self.last(pos, claim, offset)
        elif kind == "frqp":
            return self.rate(pos, claim, offset, self.cfg.store[name], now)
        else:
            raw = self.counter(pos, claim, offset)
        if kind == "ull":
            return raw & ((1 << 64) - 1)
        if kind == "sint":
            raw &= M32
            return raw - (1 << 32) if raw >> 31 else raw
        return raw & M32

    def refs(self, pos: int, claim: int) -> int:
        return self.counter(pos, claim, L.REFS)

    def expiry(self, pos: int, claim: int) -> int:
        return self.expiry_and_refs(pos, claim)[0]

    def close(self) -> None:
        for name in L.sections(self.nshards, self.cap, self.rw, self.kw):
            getattr(self, name).release()
        self._zero_row.release()
        try:
            self.buf.release()
            self.mm.close()
        except BufferError:
            pass


def _words_view(words: Words) -> memoryview:
    import array

    return memoryview(array.array("Q", words))
