"""HAProxy's frequency counters over a period, and their sum over shards (worker, master; pure functions).

A counter is (tick, curr, prev): `tick` the start of the current period in
ms, `curr` the events counted since, `prev` those of the period before.
The arithmetic is HAProxy 2.6's (src/freq_ctr.c, include/haproxy/freq_ctr.h):

- update at `now`: inside the period, `curr += inc`; otherwise the period
  rotates (`prev = curr`, `curr = inc`, `tick += period`), and when even
  the next period is over both are forgotten (`prev = 0`, `tick = now`).
  Ticks are kept even (HAProxy uses the low bit as a lock).
- read at `now` (read_freq_ctr_period): the previous period's events count
  for the share of it still inside the sliding window,
  `(prev * remain + curr * period) // period` with `remain` the time left
  in the current period; at very low rates (`curr == 0`, `prev <= 1`) the
  result is `prev`, HAProxy's anti-flapping rule.

Sharded counters (lb.sticktables.store): every writer keeps its own
(tick, curr, prev) for an entry, and all writers rotate on one grid: the
newest tick any shard holds is the entry's current tick T.  A writer first
works out the rotation from T (`next_tick`), then moves its own shard onto
it (`shard_update`).  A reader adds up the shards (`merged`): `curr` of
the shards at T, and as `prev` the `prev` of the shards at T plus the
`curr` of the shards still one period behind.  For events that follow one
another in time (whatever process counts them) the sum is exactly the
counter a single process would hold.
"""

from __future__ import annotations

EMPTY = (0, 0, 0)


def update(tick: int, curr: int, prev: int, period: int, now: int, inc: int = 1) -> tuple[int, int, int]:
    """One counter, HAProxy's update_freq_ctr_period()."""
    if tick and now - tick < period:
        return tick, curr + inc, prev
    tick, prev = rotate(tick, curr, period, now)
    return tick, inc, prev


def rotate(tick: int, curr: int, period: int, now: int) -> tuple[int, int]:
    """(new tick, new prev) once the period starting at `tick` is over at `now`."""
    if not tick:
        return now & ~1, 0
    following = tick + period
    if now - following >= period:
        return now & ~1, 0
    return following & ~1, curr


def next_tick(tick: int, period: int, now: int) -> int:
    """The current tick after an event at `now`, the newest tick being `tick`."""
    if tick and now - tick < period:
        return tick
    return rotate(tick, 0, period, now)[0]


def follows(tick: int, older: int, period: int) -> bool:
    """True when `tick` is the period right after the one starting at `older`."""
    return bool(older) and older != tick and (older + period) & ~1 == tick


def shard_update(own: tuple[int, int, int], target: int, period: int, inc: int) -> tuple[int, int, int]:
    """Move a shard's (tick, curr, prev) onto tick `target` and count `inc` events."""
    tick, curr, prev = own
    if tick == target:
        return tick, curr + inc, prev
    if follows(target, tick, period):
        return target, inc, curr
    return target, inc, 0


def merged(shards: list[tuple[int, int, int]] | tuple[tuple[int, int, int], ...], period: int) -> tuple[int, int, int]:
    """The single counter that the shards' (tick, curr, prev) add up to."""
    newest = 0
    for tick, _curr, _prev in shards:
        if tick > newest:
            newest = tick
    curr = past = 0
    for tick, c, p in shards:
        if tick == newest:
            curr += c
            past += p
        elif follows(newest, tick, period):
            past += c
    return newest, curr, past


def total(tick: int, curr: int, prev: int, period: int, now: int, pend: int = -1) -> int:
    """HAProxy's freq_ctr_total(): events over the sliding period, times `period`."""
    remain = tick + period - now
    if remain < 0:
        remain += period
        prev = curr if remain >= 0 else 0
        curr = 0
    if pend < 0:
        pend = 0
        if not curr and prev <= 1:
            return prev * period
    return prev * remain + (curr + pend) * period


def read(tick: int, curr: int, prev: int, period: int, now: int) -> int:
    """HAProxy's read_freq_ctr_period(): the event rate over `period`."""
    if not period:
        return 0
    return (total(tick, curr, prev, period, now) // period) & 0xFFFFFFFF
