"""roundrobin and static-rr, and the server sets every algorithm shares (worker code, in-process shm)."""

from __future__ import annotations

import pytest

from lb.balance import ALGORITHMS
from lb.balance.base import QUEUE, smooth_weighted_sequence
from lb.shm.layout import ADMIN_DRAIN, ADMIN_MAINT
from tests.unit.helpers import balancer, make_servers, make_table, names, picks, set_conns

SEQUENCES = [
    ([1], ["s1"]),
    ([1, 1, 1], ["s1", "s2", "s3"]),
    ([3, 1], ["s1", "s1", "s2", "s1"]),
    ([3, 1, 2], ["s1", "s3", "s1", "s2", "s3", "s1"]),
    ([5, 1, 1], ["s1", "s1", "s2", "s1", "s3", "s1", "s1"]),  # nginx's documented example
    ([2, 2], ["s1", "s2", "s1", "s2"]),
]


@pytest.mark.parametrize("weights, expected", SEQUENCES)
def test_smooth_weighted_sequence(weights: list[int], expected: list[str]) -> None:
    servers = make_servers(weights)
    assert names(smooth_weighted_sequence(servers, weights)) == expected


@pytest.mark.parametrize("algorithm", ["roundrobin", "static-rr"])
@pytest.mark.parametrize("weights, expected", SEQUENCES)
def test_round_robin_repeats_the_cycle(algorithm: str, weights: list[int], expected: list[str]) -> None:
    servers = make_servers(weights)
    b = balancer(algorithm, servers, make_table(servers))
    assert picks(b, 3 * len(expected)) == expected * 3


@pytest.mark.parametrize("pattern", [[0, 1, 0, 1, 0, 1], [0, 0, 1, 0, 1, 1], [1, 1, 1, 0, 0, 0]])
def test_two_workers_continue_one_sequence(pattern: list[int]) -> None:
    servers = make_servers([3, 1, 2])
    shm = make_table(servers, nslots=2)
    workers = [balancer("roundrobin", servers, shm, slot=0), balancer("roundrobin", servers, shm, slot=1)]
    got = names([workers[slot].pick() for slot in pattern * 2])
    assert got == ["s1", "s3", "s1", "s2", "s3", "s1"] * 2
    # each worker counted its own picks in its own column
    assert shm.picks[0] == pattern.count(0) * 2 and shm.picks[1] == pattern.count(1) * 2
    assert shm.backend_picks(0) == 12


def test_backends_keep_separate_positions() -> None:
    servers = make_servers([1, 1, 1, 1])
    shm = make_table(servers, nbackends=2)
    first = balancer("roundrobin", servers[:2], shm, backend=0)
    second = balancer("roundrobin", servers[2:], shm, backend=1)
    assert picks(first, 3) == ["s1", "s2", "s1"]
    assert picks(second, 2) == ["s3", "s4"]
    assert (shm.backend_picks(0), shm.backend_picks(1)) == (3, 2)


def test_roundrobin_follows_runtime_weights_static_rr_does_not() -> None:
    servers = make_servers([1, 1])
    shm = make_table(servers)
    dynamic = balancer("roundrobin", servers, shm, backend=0)
    shm.srv_weight[0] = 3
    shm.versions[1] += 1
    assert picks(dynamic, 4) == ["s1", "s1", "s2", "s1"]

    servers = make_servers([1, 1])
    shm = make_table(servers)
    static = balancer("static-rr", servers, shm)
    shm.srv_weight[0] = 3
    shm.versions[1] += 1
    assert picks(static, 4) == ["s1", "s2", "s1", "s2"]


@pytest.mark.parametrize("algorithm", ["roundrobin", "static-rr"])
def test_runtime_weight_zero_drains_in_both(algorithm: str) -> None:
    servers = make_servers([1, 1, 1])
    shm = make_table(servers)
    b = balancer(algorithm, servers, shm)
    shm.srv_weight[1] = 0
    shm.versions[1] += 1
    assert "s2" not in picks(b, 8)


# -- who is usable: every algorithm ------------------------------------------------

ALL = sorted(ALGORITHMS)
PARAMS = {"uri": [], "url_param": ["id"], "hdr": ["x-user"]}


def _exclude_by(shm, reason: str, index: int) -> None:  # type: ignore[no-untyped-def]
    if reason == "weight 0":
        shm.srv_weight[index] = 0
        shm.versions[1] += 1
    elif reason == "maint":
        shm.srv_admin[index] = ADMIN_MAINT
        shm.versions[1] += 1
    elif reason == "drain":
        shm.srv_admin[index] = ADMIN_DRAIN
        shm.versions[1] += 1
    elif reason == "down":
        shm.srv_up[index] = 0
        shm.versions[0] += 1


def test_every_algorithm_is_covered() -> None:
    assert ALL == ["first", "hdr", "leastconn", "roundrobin", "source", "static-rr", "uri", "url_param"]


@pytest.mark.parametrize("reason", ["weight 0", "maint", "drain", "down"])
@pytest.mark.parametrize("algorithm", ALL)
def test_excluded_server_never_picked(algorithm: str, reason: str) -> None:
    from tests.unit.helpers import http_key

    servers = make_servers([1, 1, 1])
    shm = make_table(servers)
    b = balancer(algorithm, servers, shm, params=PARAMS.get(algorithm))
    _exclude_by(shm, reason, 0)  # s1: also the one `first` would take
    keys = [http_key(f"/p{i}?id={i}", [("x-user", f"u{i}")], client_ip=f"10.0.0.{i}") for i in range(30)]
    got = set(names([b.pick(key) for key in keys]))
    assert got and "s1" not in got


@pytest.mark.parametrize("algorithm", ALL)
def test_none_when_no_server_usable(algorithm: str) -> None:
    servers = make_servers([1, 1], backups=1)
    shm = make_table(servers)
    for index in range(3):
        shm.srv_up[index] = 0
        shm.versions[0] += 1
    assert balancer(algorithm, servers, shm, params=PARAMS.get(algorithm)).pick(None) is None


@pytest.mark.parametrize("algorithm", ALL)
def test_queue_when_every_usable_server_is_full(algorithm: str) -> None:
    servers = make_servers([1, 1, 1], maxconn=2)
    shm = make_table(servers)
    set_conns(shm, 0, [1, 1])  # full across the two worker columns
    set_conns(shm, 1, [0, 2])
    shm.srv_up[2] = 0
    shm.versions[0] += 1
    assert balancer(algorithm, servers, shm, params=PARAMS.get(algorithm)).pick(None) is QUEUE


def test_full_server_skipped_while_others_have_room() -> None:
    servers = make_servers([1, 1, 1], maxconn=1)
    shm = make_table(servers)
    set_conns(shm, 1, [0, 1])
    assert picks(balancer("roundrobin", servers, shm), 4) == ["s1", "s3", "s1", "s3"]


def test_exclude_argument_skips_that_server() -> None:
    servers = make_servers([1, 1])
    b = balancer("roundrobin", servers, make_table(servers))
    assert names([b.pick(None, exclude=servers[0]) for _ in range(3)]) == ["s2"] * 3


# -- backups -------------------------------------------------------------------------


def test_backups_unused_while_an_active_server_is_usable() -> None:
    servers = make_servers([1, 1], backups=2)
    shm = make_table(servers)
    shm.srv_up[0] = 0
    shm.versions[0] += 1
    assert set(picks(balancer("roundrobin", servers, shm), 6)) == {"s2"}


def test_only_first_usable_backup_without_allbackups() -> None:
    servers = make_servers([1], backups=3)
    shm = make_table(servers)
    shm.srv_up[0] = 0
    shm.versions[0] += 1
    b = balancer("roundrobin", servers, shm)
    assert set(picks(b, 4)) == {"b1"}
    shm.srv_up[1] = 0  # b1 down: the next backup takes over
    shm.versions[0] += 1
    assert set(picks(b, 4)) == {"b2"}


def test_allbackups_balances_over_every_backup() -> None:
    servers = make_servers([1], backups=3)
    shm = make_table(servers)
    shm.srv_admin[0] = ADMIN_MAINT
    shm.versions[1] += 1
    b = balancer("roundrobin", servers, shm, allbackups=True)
    assert sorted(set(picks(b, 6))) == ["b1", "b2", "b3"]


def test_active_server_back_takes_over_from_backup() -> None:
    servers = make_servers([1], backups=1)
    shm = make_table(servers)
    b = balancer("roundrobin", servers, shm)
    shm.srv_up[0] = 0
    shm.versions[0] += 1
    assert picks(b, 1) == ["b1"]
    shm.srv_up[0] = 1
    shm.versions[0] += 1
    assert picks(b, 2) == ["s1", "s1"]


def test_usable_set_is_rebuilt_only_when_a_writer_bumps_its_version() -> None:
    """Health and admin writers bump a change counter in shm after each change; balancers
    rebuild their server set only then (one read per pick instead of a scan)."""
    servers = make_servers([1, 1])
    shm = make_table(servers)
    b = balancer("roundrobin", servers, shm)
    assert set(picks(b, 2)) == {"s1", "s2"}
    shm.srv_up[0] = 0  # a write without the bump is not seen yet...
    assert set(picks(b, 2)) == {"s1", "s2"}
    shm.versions[0] += 1  # ...the checker's bump makes it visible
    assert picks(b, 2) == ["s2", "s2"]
    shm.srv_weight[0] = 5
    shm.srv_up[0] = 1
    shm.versions[0] += 1
    shm.versions[1] += 1
    assert picks(b, 6).count("s1") == 5
