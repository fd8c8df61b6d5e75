"""HAProxy's frequency counters, and sharded counters adding up to them exactly (lb.sticktables.freq)."""

from __future__ import annotations

import random

import pytest

from lb.sticktables import freq

P = 10_000
T0 = 1_000_000


def single(events: list[int], period: int = P) -> tuple[int, int, int]:
    tick = curr = prev = 0
    for when in events:
        tick, curr, prev = freq.update(tick, curr, prev, period, when)
    return tick, curr, prev


def test_first_event_starts_the_period_at_its_own_time() -> None:
    assert single([T0]) == (T0, 1, 0)
    assert single([T0 + 1]) == (T0, 1, 0)  # ticks are even, as HAProxy's


def test_rotation_keeps_the_previous_period_then_forgets_it() -> None:
    assert single([T0, T0 + 1, T0 + P]) == (T0 + P, 1, 2)
    assert single([T0, T0 + 1, T0 + 2 * P]) == (T0 + 2 * P, 1, 0)


@pytest.mark.parametrize("elapsed,rate", [(0, 10), (P - 1, 10), (P, 10), (P + P // 5, 8), (P + P // 2, 5),
                                          (2 * P - 1, 0), (2 * P, 0), (5 * P, 0)])  # fmt: skip
def test_read_gives_the_previous_period_its_remaining_share(elapsed: int, rate: int) -> None:
    tick, curr, prev = single([T0] * 10)
    assert freq.read(tick, curr, prev, P, T0 + elapsed) == rate


def test_low_rates_do_not_flap() -> None:
    tick, curr, prev = single([T0])
    assert freq.read(tick, curr, prev, P, T0 + P + P // 2) == 1  # prev <= 1 and no current events: prev


def test_odd_periods_keep_ticks_even() -> None:
    tick, _c, _p = single([T0, T0 + 1001], period=1001)
    assert tick == (T0 + 1001) & ~1


@pytest.mark.parametrize("seed", range(40))
def test_shards_add_up_to_the_single_counter(seed: int) -> None:
    """Events in time order, each counted by a random one of 3 shards: the merged
    counter reads what one counter fed with every event reads, at any time."""
    rng = random.Random(seed)
    period = rng.choice([1000, 1001, 10_000])
    now, events, shards = T0, [], [freq.EMPTY] * 3
    for _ in range(rng.randrange(1, 60)):
        now += rng.choice([0, 1, 7, period // 3, period - 1, period, period + 1, 2 * period + 5])
        events.append(now)
        newest = max(tick for tick, _c, _p in shards)
        target = freq.next_tick(newest, period, now)
        who = rng.randrange(3)
        shards[who] = freq.shard_update(shards[who], target, period, 1)
        tick, curr, prev = single(events, period)
        assert freq.merged(shards, period) == (tick, curr, prev)
        for later in (now, now + period // 2, now + period, now + 2 * period):
            assert freq.read(*freq.merged(shards, period), period, later) == freq.read(tick, curr, prev, period, later)
