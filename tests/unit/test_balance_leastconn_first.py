"""leastconn and first: decisions from the in-flight counts every worker writes (worker code, in-process shm)."""

from __future__ import annotations

import pytest

from lb.balance.base import QUEUE
from tests.unit.helpers import FakeServer, balancer, make_servers, make_table, picks, set_conns

# (weights, conns per server per slot, queued per server per slot, expected pick)
LEASTCONN = [
    ([1, 1, 1], [[2, 0], [0, 1], [1, 1]], None, "s2"),
    ([1, 1, 1], [[0, 0], [3, 0], [0, 3]], None, "s1"),
    ([1, 1, 1], [[1, 1], [0, 3], [0, 1]], None, "s3"),  # only the sum over columns counts
    ([1, 1], [[0, 1], [0, 0]], [[0, 0], [1, 1]], "s1"),  # queued streams count as in-flight
    ([3, 1], [[2, 2], [1, 0]], None, "s1"),  # (4+1)/3 < (1+1)/1
    ([1, 3], [[1, 0], [3, 2]], None, "s1"),  # (1+1)/1 < (5+1)/3
]


@pytest.mark.parametrize("weights, conns, queued, expected", LEASTCONN)
def test_leastconn_picks_least_loaded(weights, conns, queued, expected) -> None:  # type: ignore[no-untyped-def]
    servers = make_servers(weights)
    shm = make_table(servers, nslots=2)
    for index, per_slot in enumerate(conns):
        set_conns(shm, index, per_slot, queued[index] if queued else None)
    assert picks(balancer("leastconn", servers, shm), 1) == [expected]


def test_leastconn_rotates_ties_on_the_shared_position() -> None:
    servers = make_servers([1, 1, 1])
    shm = make_table(servers, nslots=2)
    one, two = balancer("leastconn", servers, shm, slot=0), balancer("leastconn", servers, shm, slot=1)
    got = [one.pick().name, two.pick().name, one.pick().name, two.pick().name]
    assert got == ["s1", "s2", "s3", "s1"]


def test_leastconn_ties_only_among_the_least_loaded() -> None:
    servers = make_servers([1, 1, 1])
    shm = make_table(servers)
    set_conns(shm, 1, [2, 0])
    assert picks(balancer("leastconn", servers, shm), 4) == ["s1", "s3", "s1", "s3"]


def test_leastconn_follows_runtime_weight() -> None:
    servers = make_servers([1, 1])
    shm = make_table(servers)
    set_conns(shm, 0, [2, 0])
    set_conns(shm, 1, [1, 0])
    b = balancer("leastconn", servers, shm)
    assert picks(b, 1) == ["s2"]
    shm.srv_weight[0] = 4  # (2+1)/4 < (1+1)/1
    shm.versions[1] += 1
    assert picks(b, 1) == ["s1"]


def test_leastconn_idle_server_first_whatever_the_weights() -> None:
    # HAProxy's key is `inflight ? (inflight+1)*SRV_EWGHT_MAX/eweight : 0` (reference §2):
    # s1 (weight 1, idle) has key 0 and wins over s2 (weight 10, one stream).
    servers = make_servers([1, 10])
    shm = make_table(servers)
    set_conns(shm, 1, [1, 0])
    assert picks(balancer("leastconn", servers, shm), 1) == ["s1"]


# -- first --------------------------------------------------------------------------


def test_first_without_maxconn_always_lowest_id() -> None:
    servers = make_servers([1, 5, 9])
    assert picks(balancer("first", servers, make_table(servers)), 5) == ["s1"] * 5


def test_first_uses_the_id_not_the_position() -> None:
    ids = [(7, "a"), (3, "b"), (5, "c")]
    servers = [FakeServer(index, server_id, name=name) for index, (server_id, name) in enumerate(ids)]
    shm = make_table(servers)
    b = balancer("first", servers, shm)
    assert picks(b, 2) == ["b", "b"]
    shm.srv_up[1] = 0
    shm.versions[0] += 1
    assert picks(b, 1) == ["c"]


FIRST_FILL = [
    ([[0, 0], [0, 0], [0, 0]], "s1"),
    ([[1, 0], [0, 0], [0, 0]], "s1"),
    ([[1, 1], [0, 0], [0, 0]], "s2"),  # s1 full across the two worker columns
    ([[2, 0], [0, 2], [0, 0]], "s3"),
    ([[1, 1], [1, 0], [0, 2]], "s2"),  # a later server's load does not matter
    ([[2, 0], [1, 1], [0, 2]], QUEUE),
]


@pytest.mark.parametrize("conns, expected", FIRST_FILL)
def test_first_fills_servers_by_id_up_to_maxconn(conns, expected) -> None:  # type: ignore[no-untyped-def]
    servers = make_servers([1, 1, 1], maxconn=2)
    shm = make_table(servers, nslots=2)
    for index, per_slot in enumerate(conns):
        set_conns(shm, index, per_slot)
    got = balancer("first", servers, shm).pick()
    assert got is QUEUE if expected is QUEUE else got.name == expected


def test_first_ignores_weights() -> None:
    servers = make_servers([1, 100], maxconn=1)
    shm = make_table(servers)
    assert picks(balancer("first", servers, shm), 3) == ["s1"] * 3
