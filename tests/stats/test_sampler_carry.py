"""The master's statistics work: rates, maxima, counters and runtime state across reloads (master; unit).

Freq counters with HAProxy's semantics, sampled maxima, backend transitions;
a new generation keeps what the previous one changed at runtime unless the
configuration changed it; counters chain over generations (live while the
old one drains, folded when it is gone) and `clear counters` restarts them.
"""

from __future__ import annotations

from pathlib import Path

from lb.shm import layout
from lb.stats.sampler import FreqCounter
from tests.stats.helpers import count, generation, rows

BODY = """
frontend fe
    bind 127.0.0.1:1
    default_backend be
backend be
    server s1 127.0.0.1:2 weight 10
    server s2 127.0.0.1:3 weight 5
"""


def test_freq_counter_reads_as_haproxy() -> None:
    ctr = FreqCounter()
    ctr.add(10, 5_000)  # period [5000, 6000)
    assert ctr.read(5_500) == 10
    ctr.add(4, 6_200)  # next period: previous 10 counts pro rata of what is left
    assert ctr.read(6_200) == 4 + 10 * 800 // 1000
    assert ctr.read(6_900) == 4 + 10 * 100 // 1000
    assert ctr.read(8_100) == 0  # two periods later: nothing left


def test_sampler_rates_and_maxima(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    count(gen, 0, 0, "sessions", 7)
    count(gen, 1, 0, "requests", 9)
    gen.sampler.tick(10_000)
    fe = rows(gen)[("fe", "FRONTEND")]
    assert (fe["rate"], fe["rate_max"], fe["req_rate"], fe["req_rate_max"]) == ("7", "7", "9", "9")
    gen.shm.feconn[0] = 3  # worker 1 holds 3 connections
    gen.sampler.tick(12_500)
    fe = rows(gen)[("fe", "FRONTEND")]
    assert (fe["rate"], fe["rate_max"], fe["smax"]) == ("0", "7", "3")
    gen.sampler.clear_maxima()
    assert rows(gen)[("fe", "FRONTEND")]["rate_max"] == "0"


def test_backend_transitions(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    shm = gen.shm
    shm.srv_up[0] = shm.srv_up[1] = layout.SRV_DOWN
    gen.sampler.follow_backends(1_000_000)
    assert (shm.be_downs[0], shm.be_change[0]) == (1, 1_000_000)
    shm.srv_up[1] = layout.SRV_UP
    gen.sampler.follow_backends(1_004_000)
    assert (shm.be_downs[0], shm.be_downtime[0], shm.be_change[0]) == (1, 4_000, 1_004_000)


def test_runtime_state_kept_unless_the_config_changed_it(tmp_path: Path) -> None:
    old = generation(tmp_path, BODY)
    old.shm.srv_admin[0] = layout.ADMIN_DRAIN
    old.shm.srv_weight[0], old.shm.srv_weight[1] = 3, 2
    old.shm.srv_maxconn[1] = 4
    old.shm.fe_disabled[0] = 1
    new = generation(tmp_path, BODY.replace("127.0.0.1:3 weight 5", "127.0.0.1:3 weight 6"), previous=old, number=2)
    shm = new.shm
    assert (shm.srv_admin[0], shm.srv_weight[0]) == (layout.ADMIN_DRAIN, 3)
    assert (shm.srv_weight[1], shm.srv_maxconn[1]) == (6, 4)  # the new weight line wins; maxconn kept
    assert shm.fe_disabled[0] == 1


def test_counters_chain_across_generations(tmp_path: Path) -> None:
    old = generation(tmp_path, BODY)
    s1_old = old.shm.server_obj(0)
    count(old, 0, s1_old, "lbtot", 5)
    count(old, 0, 0, "sessions", 8)
    new = generation(tmp_path, BODY, previous=old, number=2)
    table = rows(new)
    assert (table[("be", "s1")]["lbtot"], table[("fe", "FRONTEND")]["stot"]) == ("5", "8")  # live from the old one
    count(old, 1, s1_old, "lbtot", 2)  # the old generation still drains
    count(new, 0, new.shm.server_obj(0), "lbtot", 1)
    new.chain.refresh()
    assert rows(new)[("be", "s1")]["lbtot"] == "8"
    new.chain.absorb(old)  # the old generation is gone: its final counts stay
    assert new.chain.pred is None and rows(new)[("be", "s1")]["lbtot"] == "8"
    third = generation(tmp_path, BODY, previous=new, number=3)
    assert rows(third)[("be", "s1")]["lbtot"] == "8"


def test_clear_counters_all_restarts_sums_at_zero(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    count(gen, 0, 0, "sessions", 8)
    count(gen, 1, 0, "sessions_max", 4)
    gen.shm.control[layout.CTRL_CLEAR_EPOCH] = gen.shm.control[layout.CTRL_CLEAR_ALL] = 1
    gen.chain.clear(everything=True)
    fe = rows(gen)[("fe", "FRONTEND")]
    assert (fe["stot"], fe["smax"]) == ("0", "0")
    count(gen, 0, 0, "sessions", 2)  # the worker goes on counting in its own row
    assert rows(gen)[("fe", "FRONTEND")]["stot"] == "2"
