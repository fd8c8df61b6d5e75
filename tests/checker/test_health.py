"""The rise/fall counter (HAProxy §3.1): table-driven sequences of check results."""

import pytest

from lb.checker import health as hl

# (rise, fall, init-state, results as a string of + and -, expected (health, up) after each)
SEQUENCES = [
    # default start: up at health=rise, the first failure takes it down at once
    (2, 3, None, "-", [(0, False)]),
    (2, 3, None, "+", [(4, True)]),
    # fully up: fall failures to go down
    (2, 3, None, "+---", [(4, True), (3, True), (2, True), (0, False)]),
    # down: rise successes to come back, jumping to fully up
    (2, 3, None, "-++", [(0, False), (1, False), (4, True)]),
    # a failure while rising resets nothing below 0
    (2, 3, None, "-+-+", [(0, False), (1, False), (0, False), (1, False)]),
    # a success while falling goes back up by one only... then jumps to fully up
    (2, 3, None, "+-+", [(4, True), (3, True), (4, True)]),
    (3, 2, None, "+--", [(4, True), (3, True), (0, False)]),
    (1, 1, None, "-+-", [(0, False), (1, True), (0, False)]),
    # init-state
    (2, 3, "fully-up", "--", [(3, True), (2, True)]),
    (2, 3, "up", "-", [(0, False)]),
    (2, 3, "down", "+", [(4, True)]),
    (2, 3, "down", "-+", [(0, False), (1, False)]),
    (2, 3, "fully-down", "++", [(1, False), (4, True)]),
    (3, 3, "fully-down", "+++", [(1, False), (2, False), (5, True)]),
]


@pytest.mark.parametrize("rise,fall,init,results,expected", SEQUENCES)
def test_sequences(rise, fall, init, results, expected):
    counter = hl.initial(rise, fall, init)
    seen = []
    for result in results:
        counter = hl.after_check(counter, rise, fall, result == "+")
        seen.append(tuple(counter))
    assert seen == expected


@pytest.mark.parametrize("init,expected", [(None, (2, True)), ("up", (2, True)), ("fully-up", (4, True)),
                                           ("down", (1, False)), ("fully-down", (0, False))])
def test_initial(init, expected):
    assert tuple(hl.initial(2, 3, init)) == expected


def test_health_stays_within_bounds():
    counter = hl.initial(2, 3)
    for _ in range(10):
        counter = hl.after_check(counter, 2, 3, True)
    assert counter.health == 4
    for _ in range(10):
        counter = hl.after_check(counter, 2, 3, False)
    assert counter.health == 0


@pytest.mark.parametrize("health,rise,fall,drain,text", [
    (4, 2, 3, False, "3/3 UP"), (3, 2, 3, False, "2/3 UP"), (2, 2, 3, False, "1/3 UP"),
    (1, 2, 3, False, "1/2 DOWN"), (0, 2, 3, False, "0/2 DOWN"), (4, 2, 3, True, "3/3 DRAIN"),
])
def test_display(health, rise, fall, drain, text):
    assert hl.display(health, rise, fall, drain) == text


@pytest.mark.parametrize("health,up,expected", [
    (4, True, 2000),   # fully up: inter
    (3, True, 500),    # falling: fastinter
    (2, True, 500),    # not yet checked (health = rise): fastinter
    (1, False, 500),   # rising: fastinter
    (0, False, 7000),  # fully down: downinter
])
def test_interval(health, up, expected):
    assert hl.interval(health, up, 2, 3, 2000, 500, 7000) == expected


def test_interval_defaults_to_inter():
    assert hl.interval(0, False, 2, 3, 2000, None, None) == 2000
    assert hl.interval(2, True, 2, 3, 2000, None, None) == 2000


@pytest.mark.parametrize("health,up,old,new,expected", [
    (4, True, (2, 3), (2, 3), (4, True)),
    (4, True, (2, 3), (3, 5), (7, True)),   # fully up stays fully up
    (3, True, (2, 3), (2, 3), (3, True)),   # one failure already counted
    (3, True, (2, 3), (2, 1), (2, True)),   # clamped to the new bounds
    (0, False, (2, 3), (3, 3), (0, False)),
    (1, False, (2, 3), (3, 3), (1, False)),
    (2, False, (3, 3), (2, 3), (1, False)),  # a down server stays down
])
def test_carry(health, up, old, new, expected):
    assert tuple(hl.carry(health, up, old[0], old[1], new[0], new[1])) == expected
