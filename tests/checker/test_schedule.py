"""Scheduling of the checker loop: first checks staggered across the interval, spread-checks jitter."""

import os

import pytest

from lb.checker import seed_health
from lb.checker.runner import Checker
from lb.shm.table import ShmTable
from tests.checker.helpers import parse


def checker_for(tmp_path, servers: str, global_: str = "") -> Checker:
    text = (f"global\n{global_}\n" if global_ else "") + "backend be\n" + servers
    config = parse(tmp_path, text)
    shm = ShmTable(1, 2, len(config.all_servers()), len(config.backends), len(config.proxies()))
    seed_health(shm, config)
    return Checker(config, shm, 1, os.getppid())


def first_offsets(checker: Checker) -> list[float]:
    checker.schedule_first_checks()
    whens = [run.timer.when for run in checker.runs]
    checker.close()
    return [when - whens[0] for when in whens]


def lines(count: int, params: str) -> str:
    return "".join(f"  server s{i} 127.0.0.1:{1000 + i} check {params}\n" for i in range(count))


def test_first_checks_are_staggered_over_the_interval(tmp_path):
    offsets = first_offsets(checker_for(tmp_path, lines(10, "inter 1s")))
    assert offsets == pytest.approx([k * 100.0 for k in range(10)])


def test_not_yet_checked_servers_use_fastinter(tmp_path):
    # health = rise before the first check: fastinter (500 ms) is the interval spread over
    offsets = first_offsets(checker_for(tmp_path, lines(5, "inter 2s fastinter 500ms")))
    assert offsets == pytest.approx([k * 100.0 for k in range(5)])


def test_servers_with_no_check_are_not_scheduled(tmp_path):
    checker = checker_for(tmp_path, "  server a 127.0.0.1:1\n" + lines(2, "inter 1s"))
    assert [run.target.server.name for run in checker.runs] == ["s0", "s1"]
    assert [run.target.index for run in checker.runs] == [1, 2]
    checker.close()


def test_spread_checks_jitter_stays_within_the_percentage(tmp_path):
    checker = checker_for(tmp_path, lines(1, "inter 1s"), global_="  spread-checks 10")
    values = [checker._jitter(1000) for _ in range(2000)]
    checker.close()
    assert all(-100.0 <= value <= 100.0 for value in values)
    assert min(values) < -50 and max(values) > 50  # it does spread


def test_no_jitter_without_spread_checks(tmp_path):
    checker = checker_for(tmp_path, lines(1, "inter 1s"))
    assert {checker._jitter(1000) for _ in range(100)} == {0.0}
    checker.close()


def test_disable_health_during_a_probe_keeps_the_server_scheduled(tmp_path):
    """`disable health` while a probe is in flight aborts it; the aborted probe never
    reports, so its next turn must be scheduled there (it used to be lost: after
    `enable health` the server was never checked again)."""
    from lb.checker.requests import follow_check_admin
    from lb.shm import layout

    checker = checker_for(tmp_path, lines(1, "inter 1s"))
    try:
        run = checker.runs[0]
        checker._due(run)  # a probe starts (towards a closed port: it is still in flight here)
        assert run.probe is not None and run.timer is None
        checker.shm.srv_check_admin[run.target.index] |= layout.CHECK_DISABLED
        follow_check_admin(checker, run)
        assert run.probe is None and run.timer is not None  # the next turn exists
        checker.shm.srv_check_admin[run.target.index] &= ~layout.CHECK_DISABLED
        follow_check_admin(checker, run)
        checker._due(run)  # that turn, once enabled again, probes
        assert run.probe is not None
    finally:
        checker.close()
