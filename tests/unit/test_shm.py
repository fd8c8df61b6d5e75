"""Shared-memory layout and ShmTable (master creates; workers and checker inherit by fork)."""

from __future__ import annotations

import os
import struct
import time

import pytest

from lb.shm import layout
from lb.shm.table import ShmTable

SHAPES = [(1, 1, 1, 1), (3, 5, 2, 4), (9, 0, 0, 0), (2, 7, 3, 1), (65, 300, 40, 41)]


@pytest.mark.parametrize("shape", SHAPES)
def test_arrays_aligned_in_order_without_overlap(shape: tuple[int, int, int, int]) -> None:
    table, size = layout.offsets(*shape)
    end = layout.HEADER_SIZE + shape[0] * layout.SLOT_SIZE  # slots come first
    for name, fmt, count in layout.arrays(*shape):
        offset, fmt2, count2 = table[name]
        assert (fmt2, count2) == (fmt, count)
        assert offset % 8 == 0 and offset >= end, name
        end = offset + struct.calcsize(fmt) * count
    assert size % 8 == 0 and end <= size < end + 8


@pytest.mark.parametrize("shape", SHAPES)
def test_array_sizes(shape: tuple[int, int, int, int]) -> None:
    nslots, nservers, nbackends, nproxies = shape
    counts = {name: count for name, _fmt, count in layout.arrays(*shape)}
    assert counts["srv_up"] == counts["srv_weight"] == nservers
    assert counts["conns"] == counts["queued"] == nslots * nservers
    assert counts["picks"] == nslots * nbackends
    assert counts["feconn"] == nslots * nproxies
    assert counts["actconn"] == nslots
    nobjects = nproxies + nservers + nbackends  # no listener rows in these shapes
    assert counts["counters"] == nslots * nobjects * layout.NCOUNTERS
    assert counts["carried"] == nobjects * layout.NCOUNTERS
    assert counts["sampled"] == nobjects * layout.NSAMPLED
    assert counts["srv_info"] == nservers * layout.INFO_SIZE
    assert counts["fe_disabled"] == counts["fe_maxconn"] == nproxies
    assert counts["be_change"] == counts["be_downs"] == nbackends
    assert counts["stats_ack"] == nslots


def test_header_and_slot_structs_fit() -> None:
    assert layout.HEADER.size <= layout.HEADER_SIZE
    assert layout.SLOT.size <= layout.SLOT_SIZE
    assert layout.SLOT.unpack_from(layout.SLOT.pack(1, 2, 3, 4))[2] == 3
    assert struct.calcsize("<iI") == 8  # the heartbeat u64 sits at offset 8 of a slot


def test_header_fields() -> None:
    before = int(time.time() * 1000)
    shm = ShmTable(7, 3, 5, 2, 4)
    *fields, created, nlisteners = layout.HEADER.unpack_from(shm.mm, 0)
    assert fields == [b"LBSHM\0\0\0", layout.MAJOR, layout.MINOR, 7, 3, 5, 2, 4]  # magic, version, gen, sizes
    assert nlisteners == 0
    assert before <= created <= int(time.time() * 1000)
    assert shm.size == layout.offsets(3, 5, 2, 4)[1] == len(shm.mm)
    shm.check_header()


def test_check_header_refuses_other_major_and_generation() -> None:
    shm = ShmTable(7, 1, 1, 1, 1)
    struct.pack_into("<H", shm.mm, 8, layout.MAJOR + 1)
    with pytest.raises(RuntimeError, match="layout"):
        shm.check_header()
    struct.pack_into("<H", shm.mm, 8, layout.MAJOR)
    shm.generation = 8
    with pytest.raises(RuntimeError, match="another generation"):
        shm.check_header()


def test_arrays_start_zeroed_and_typed() -> None:
    shm = ShmTable(1, 2, 3, 1, 1)
    assert list(shm.srv_up) == [0, 0, 0] and list(shm.conns) == [0] * 6
    shm.srv_weight[0] = 256
    shm.srv_checks[1] = (5 << 32) | 9
    shm.picks[1] = 2**64 - 1
    assert (shm.srv_weight[0], shm.srv_checks[1] >> 32, shm.picks[1]) == (256, 5, 2**64 - 1)
    with pytest.raises((ValueError, OverflowError)):
        shm.srv_up[0] = 256


def test_arrays_do_not_share_bytes() -> None:
    shm = ShmTable(1, 3, 4, 2, 2)
    names = [name for name, _fmt, _count in layout.arrays(3, 4, 2, 2)]
    for name in names:
        view = getattr(shm, name)
        for i in range(len(view)):
            view[i] = 1 if view.format == "B" else 0x0101
    for name in names:
        view = getattr(shm, name)
        assert all(v == (1 if view.format == "B" else 0x0101) for v in view), name
    assert layout.SLOT.unpack_from(shm.mm, layout.HEADER_SIZE) == (0, 0, 0, 0)  # slots untouched


def test_set_slot_slot_and_heartbeat_round_trip() -> None:
    shm = ShmTable(4, 3, 1, 1, 1)
    shm.set_slot(1, 4321, layout.SLOT_RUNNING)
    pid, generation, beat, state = shm.slot(1)
    assert (pid, generation, state) == (4321, 4, layout.SLOT_RUNNING)
    assert abs(beat - int(time.monotonic() * 1000)) < 60_000
    shm._heartbeats[1] = 5  # an old beat; heartbeat() must replace it and nothing else
    shm.heartbeat(1)
    pid2, generation2, beat2, state2 = shm.slot(1)
    assert (pid2, generation2, state2) == (4321, 4, layout.SLOT_RUNNING) and beat2 >= beat
    assert shm.slot(0) == (0, 0, 0, 0) and shm.slot(2) == (0, 0, 0, 0)
    shm.set_slot(2, -1, layout.SLOT_STOPPING)
    assert shm.slot(2)[0] == -1 and shm.slot(1)[0] == 4321


def test_column_sums() -> None:
    shm = ShmTable(1, 3, 4, 2, 2)  # slots x servers
    for slot in range(3):
        for server in range(4):
            shm.conns[slot * 4 + server] = 10 * slot + server
            shm.queued[slot * 4 + server] = server
        shm.picks[slot * 2 + 1] = slot + 1
        shm.feconn[slot * 2 + 0] = 2
    assert [shm.server_conns(s) for s in range(4)] == [30, 33, 36, 39]
    assert [shm.server_queued(s) for s in range(4)] == [0, 3, 6, 9]
    assert (shm.backend_picks(0), shm.backend_picks(1)) == (0, 6)
    assert (shm.proxy_conns(0), shm.proxy_conns(1)) == (6, 0)
    assert list(shm.column("conns", 2)) == [2, 12, 22]
    assert list(shm.column("picks", 1)) == [1, 2, 3]


def test_column_is_a_live_view() -> None:
    shm = ShmTable(1, 2, 1, 1, 1)
    column = shm.column("picks", 0)
    shm.picks[1] = 5
    assert sum(column) == 5


def test_clear_worker_columns_clears_one_slot_only() -> None:
    shm = ShmTable(1, 3, 2, 1, 2)
    for view in (shm.conns, shm.queued, shm.feconn, shm.actconn, shm.picks):
        for i in range(len(view)):
            view[i] = 3
    shm.counters[shm.counter_index(1, 0, "sessions")] = 9
    shm.clear_worker_columns(1)
    assert list(shm.conns) == [3, 3, 0, 0, 3, 3]
    assert list(shm.queued) == [3, 3, 0, 0, 3, 3]
    assert list(shm.feconn) == [3, 3, 0, 0, 3, 3]
    assert list(shm.actconn) == [3, 0, 3]
    assert list(shm.picks) == [3, 3, 3]  # the shared round-robin position is kept
    assert shm.counter(0, "sessions") == 9  # so are cumulative counters


def test_counter_index_and_sum() -> None:
    shm = ShmTable(1, 3, 2, 1, 2)  # objects: 2 proxies, 2 servers, then 1 backend side
    assert shm.nobjects == 5
    seen = set()
    for slot in range(3):
        for obj in range(5):
            for name in layout.COUNTERS:
                seen.add(shm.counter_index(slot, obj, name))
    assert seen == set(range(len(shm.counters)))  # a bijection onto the array
    shm.counters[shm.counter_index(0, 3, "bytes_in")] = 100
    shm.counters[shm.counter_index(2, 3, "bytes_in")] = 23
    shm.counters[shm.counter_index(1, 2, "bytes_in")] = 7
    shm.counters[shm.counter_index(1, 3, "bytes_out")] = 1
    assert shm.counter(3, "bytes_in") == 123
    assert shm.counter(2, "bytes_in") == 7
    assert shm.counter(3, "bytes_out") == 1
    assert shm.counter(0, "bytes_in") == 0


def test_forked_child_writes_its_column_parent_reads_it() -> None:
    shm = ShmTable(3, 2, 2, 1, 1)
    pid = os.fork()
    if pid == 0:  # child: worker of slot 1
        try:
            shm.set_slot(1, os.getpid(), layout.SLOT_RUNNING)
            shm.conns[1 * 2 + 0] = 7
            shm.picks[1] = 11
            shm.counters[shm.counter_index(1, 2, "sessions")] = 5
        finally:
            os._exit(0)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("child did not exit")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    assert shm.slot(1)[0] == pid and shm.slot(1)[3] == layout.SLOT_RUNNING
    assert shm.server_conns(0) == 7 and shm.server_conns(1) == 0
    assert shm.backend_picks(0) == 11
    assert shm.counter(2, "sessions") == 5


def test_close_releases_the_mapping() -> None:
    shm = ShmTable(1, 1, 1, 1, 1)
    shm.heartbeat(0)  # its temporary views must not pin the mapping
    shm.close()
    assert shm.mm.closed
