"""The shared-memory table: entries summed over shards exactly, expiry, eviction, the master's writes."""

from __future__ import annotations

import os
import random

import pytest

from lb.sticktables import counters, freq
from lb.sticktables import layout as L
from lb.sticktables.keys import converter
from lb.sticktables.regions import TableSet
from tests.sticktables.helpers import T0, as_worker, table

RATE = {"http_req_rate": 10_000, "http_req_cnt": 0, "conn_cur": 0, "gpc0": 0, "gpt0": 0}
IP = converter("ip", 4)


def key(text: str) -> tuple[int, ...]:
    return IP(text)


def test_an_entry_is_found_again_with_the_same_claim() -> None:
    t = table()
    ref = t.get_or_create(key("10.0.0.1"), T0, 0)
    assert ref is not None and t.lookup(key("10.0.0.1"), T0) == ref
    assert t.lookup(key("10.0.0.2"), T0) is None
    assert t.count() == 1


@pytest.mark.parametrize("key_type,size,samples", [
    ("ipv6", 16, ["::1", "2001:db8::1", "::ffff:10.0.0.1"]),
    ("string", 33, ["", "a", "exactly-32-bytes-long-string-xxx", "longer than thirty-two bytes, truncated"]),
    ("integer", 4, [0, 1, 4294967295]),
    ("binary", 8, ["ab", "abcdefgh", "abcdefghij"]),
])  # fmt: skip
def test_every_key_type(key_type: str, size: int, samples: list) -> None:
    t = table(key_type, key_size=size)
    to_key = converter(key_type, size)
    refs = [t.get_or_create(to_key(s), T0, 0) for s in samples]
    assert all(r is not None for r in refs)
    assert [t.lookup(to_key(s), T0) for s in samples] == refs


def test_shards_add_up_exactly_for_sequential_events() -> None:
    """A client whose requests land on two workers in turn reads as if one worker
    counted them all: counters add, rates add on a common period grid."""
    rng = random.Random(7)
    shared, alone = table(store=RATE, nworkers=2), table(store=RATE, nworkers=1)
    k, now = key("10.0.0.1"), T0
    for _ in range(300):
        now += rng.choice([0, 1, 50, 3000, 9999, 10_000, 10_001, 25_000])
        for t, shard in ((shared, rng.randrange(2)), (alone, 0)):
            pos, claim = t.get_or_create(k, now, shard)
            t.add(pos, claim, shard, "http_req_rate", 1, now)
            t.add(pos, claim, shard, "http_req_cnt", 1, now)
        for later in (now, now + 4000, now + 12_000):
            a, b = shared.lookup(k, later), alone.lookup(k, later)
            if a is None or b is None:
                assert a == b
                continue
            assert shared.value(*a, "http_req_rate", later) == alone.value(*b, "http_req_rate", later)
            assert shared.value(*a, "http_req_cnt", later) == alone.value(*b, "http_req_cnt", later)


def test_a_writer_only_writes_its_own_shard() -> None:
    t = table(store=RATE, nworkers=2)
    pos, claim = t.get_or_create(key("10.0.0.1"), T0, 1)
    before = bytes(t.buf)
    t.add(pos, claim, 1, "gpc0", 3, T0)
    changed = [i for i, (a, b) in enumerate(zip(before, bytes(t.buf), strict=True)) if a != b]
    rows_at = L.sections(t.nshards, t.cap, t.rw, t.kw)["rows"][0]
    row = rows_at + (1 * t.cap + pos) * t.rw * 8  # shard 1's row for the entry
    assert changed and all(row <= i < row + t.rw * 8 for i in changed)


def test_expired_entries_read_as_absent_and_purge_frees_them() -> None:
    t = table(expire=1000)
    t.get_or_create(key("10.0.0.1"), T0, 0)
    assert t.lookup(key("10.0.0.1"), T0 + 999) is not None
    assert t.lookup(key("10.0.0.1"), T0 + 1000) is None
    assert t.count() == 1  # until purged, as HAProxy's expiry task does
    assert t.purge(1, T0 + 1000) == 1
    assert t.count() == 0


def test_a_tracked_entry_does_not_expire() -> None:
    t = table(expire=1000)
    pos, claim = t.get_or_create(key("10.0.0.1"), T0, 0)
    t.hold(pos, claim, 1, +1)
    assert t.lookup(key("10.0.0.1"), T0 + 5000) == (pos, claim)
    t.hold(pos, claim, 1, -1)
    assert t.lookup(key("10.0.0.1"), T0 + 5000) is None


def test_a_full_table_evicts_its_oldest_unused_entry_whatever_shard_touched_it() -> None:
    t = table(size=3, expire=0)
    for i, shard in enumerate((0, 1, 0)):
        t.get_or_create(key(f"10.0.0.{i + 1}"), T0 + i, shard)
    t.touch(*t.lookup(key("10.0.0.1"), T0), 1, T0 + 10)  # the first one is used again: 10.0.0.2 is the oldest
    pos, claim = t.lookup(key("10.0.0.3"), T0)
    t.hold(pos, claim, 0, +1)  # and in use entries are never evicted
    assert t.get_or_create(key("10.0.0.4"), T0 + 20, 1) is not None
    live = {IP_text(t, p) for p, _c, _k in t.entries(T0 + 20)}
    assert live == {"10.0.0.1", "10.0.0.3", "10.0.0.4"}
    assert t.count() == 3


def IP_text(t, pos: int) -> str:  # noqa: N802
    from lb.sticktables.keys import display

    claim, owner = t.winner(pos, t.shards())
    return display("ip", 4, t.key_at(owner, pos))


def test_nopurge_refuses_new_entries_when_full() -> None:
    t = table(size=2, expire=0, nopurge=True)
    assert t.get_or_create(key("10.0.0.1"), T0, 0) and t.get_or_create(key("10.0.0.2"), T0, 1)
    assert t.get_or_create(key("10.0.0.3"), T0, 0) is None
    assert t.count() == 2


def test_eviction_is_batched_as_haproxy_does() -> None:
    t = table(size=512, expire=0, nworkers=1)
    for i in range(512):
        t.get_or_create(key(f"10.0.{i // 250}.{i % 250}"), T0 + i, 0)
    t.get_or_create(key("10.9.9.9"), T0 + 600, 0)
    assert t.count() == 512 - (512 >> 8) - 1 + 1  # size/256 + 1 oldest went, one came


def test_a_set_by_the_master_reads_exactly_whatever_the_workers_counted() -> None:
    t = table(store=RATE)
    pos, claim = t.get_or_create(key("10.0.0.1"), T0, 0)
    t.add(pos, claim, 0, "gpc0", 3, T0)
    t.add(pos, claim, 1, "gpc0", 4, T0)
    t.mark_used(t.admin)
    t.set_total(pos, claim, t.admin, "gpc0", 5, T0)
    assert t.value(pos, claim, "gpc0", T0) == 5
    t.add(pos, claim, 0, "gpc0", 1, T0)
    assert t.value(pos, claim, "gpc0", T0) == 6


def test_a_rate_set_by_the_master_reads_the_value_for_the_whole_period() -> None:
    t = table(store=RATE)
    pos, claim = t.get_or_create(key("10.0.0.1"), T0, 0)
    for shard in (0, 1, 0):
        t.add(pos, claim, shard, "http_req_rate", 1, T0)
    t.mark_used(t.admin)
    t.set_total(pos, claim, t.admin, "http_req_rate", 7, T0 + 100)
    assert t.value(pos, claim, "http_req_rate", T0 + 100) == 7
    assert t.value(pos, claim, "http_req_rate", T0 + 100 + 9999) == 7
    assert t.value(pos, claim, "http_req_rate", T0 + 100 + 15_000) == 3  # then it fades out


def test_last_values_take_the_newest_write_of_any_shard() -> None:
    t = table(store=RATE)
    pos, claim = t.get_or_create(key("10.0.0.1"), T0, 0)
    t.set_last(pos, claim, 1, "gpt0", 9)
    t.set_last(pos, claim, 0, "gpt0", 4)
    assert t.value(pos, claim, "gpt0", T0) == 4


def test_a_removed_entry_leaves_no_counts_behind_when_its_key_comes_back() -> None:
    t = table(store=RATE)
    pos, claim = t.get_or_create(key("10.0.0.1"), T0, 0)
    t.add(pos, claim, 1, "gpc0", 5, T0)
    t.mark_used(t.admin)
    t.kill(pos, t.admin)
    assert t.lookup(key("10.0.0.1"), T0) is None and t.count() == 0
    pos2, claim2 = t.get_or_create(key("10.0.0.1"), T0, 0)
    assert t.value(pos2, claim2, "gpc0", T0) == 0  # shard 1's old row is stale (tag), not summed
    t.add(pos2, claim2, 1, "gpc0", 1, T0)
    assert t.value(pos2, claim2, "gpc0", T0) == 1


def test_two_workers_inserting_the_same_key_at_once_end_with_one_entry() -> None:
    t = table(store=RATE)
    k = key("10.0.0.1")
    _pos, _claim, free = t.probe(k, T0)  # both workers look at the same moment: no entry
    first = t.insert(k, free, T0, 0)
    second = t.insert(k, free, T0, 1)  # the later claim wins
    assert t.lookup(k, T0) == second != first
    t.add(*first, 0, "gpc0", 1, T0)  # the loser's event is lost ...
    ref = t.lookup(k, T0)
    t.add(*ref, 0, "gpc0", 1, T0)  # ... and it counts into the winner from then on
    assert t.value(*ref, "gpc0", T0) == 1


def test_carry_over_keeps_counts_and_drops_the_old_connections_at_the_end(tmp_path) -> None:
    from tests.sticktables.helpers import load_tables

    text = "frontend fe\n    bind :1\n    stick-table type ip size 10 expire 30s store http_req_cnt,conn_cur\n"
    _c1, old = load_tables(tmp_path, text)
    _c2, new = load_tables(tmp_path, text)
    t_old, t_new = old.get("fe"), new.get("fe")
    pos, claim = t_old.get_or_create(key("10.0.0.1"), T0, 0)
    t_old.add(pos, claim, 0, "http_req_cnt", 3, T0)
    t_old.add(pos, claim, 1, "conn_cur", 2, T0)
    import lb.sticktables.clock as clock

    clock.set_clock(lambda: T0)
    try:
        assert new.carry_from(old) == 1
        ref = t_new.lookup(key("10.0.0.1"), T0)
        assert t_new.value(*ref, "http_req_cnt", T0) == 3 and t_new.value(*ref, "conn_cur", T0) == 2
        with_new = t_new.get_or_create(key("10.0.0.1"), T0, 0)
        t_new.add(*with_new, 0, "http_req_cnt", 1, T0)
        new.carry_from(old, final=True)
        assert t_new.value(*ref, "http_req_cnt", T0) == 4 and t_new.value(*ref, "conn_cur", T0) == 0
    finally:
        clock.set_clock(None)
        old.close()
        new.close()


def test_tables_of_a_generation_are_created_in_shared_memory_before_fork(tmp_path) -> None:
    from tests.sticktables.helpers import load_tables

    _config, tables = load_tables(tmp_path, "backend b\n    stick-table type ip size 10 store gpc0\n")
    t = tables.get("b")
    with as_worker(0):
        pid = os.fork()
        if pid == 0:
            t.add(*t.get_or_create(key("10.0.0.1"), T0, 0), 0, "gpc0", 7, T0)
            os._exit(0)
    os.waitpid(pid, 0)
    ref = t.lookup(key("10.0.0.1"), T0)
    assert ref is not None and t.value(*ref, "gpc0", T0) == 7
    tables.close()


def test_freq_merged_is_what_the_store_reads() -> None:
    t = table(store=RATE)
    pos, claim = t.get_or_create(key("10.0.0.1"), T0, 0)
    t.add(pos, claim, 0, "http_req_rate", 1, T0)
    t.add(pos, claim, 1, "http_req_rate", 1, T0 + 10_000)
    parts = t.rate_parts(pos, claim, t.offsets["http_req_rate"])
    assert freq.merged(parts, 10_000) == (T0 + 10_000, 1, 1)
    assert counters.WRITER == -1  # tests never leave a writer set
    _ = TableSet  # noqa: F841
