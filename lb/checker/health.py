"""The rise/fall counter of a checked server: pure functions (checker, master).

HAProxy semantics (src/check.c `set_server_check_status`, `check_notify_*`):
each server has `health` in [0, rise+fall-1] and is UP iff health >= rise.

- success: health+1 (bounded); once it reaches rise it jumps to rise+fall-1;
- failure: health-1 (floored at 0); once below rise it drops to 0;
- the server goes DOWN when a failure leaves health at 0 and comes back UP
  when a success brings it to rise or more.

Initial state ("up, but will fall down at first failure"): health = rise.
`init-state` (HAProxy 3.1+) picks another start.  The probes live
elsewhere: this module only counts.
"""

from __future__ import annotations

from typing import NamedTuple

INIT_HEALTH = {
    None: "up",  # HAProxy's default (init-state none)
    "up": "up",
    "fully-up": "fully-up",
    "down": "down",
    "fully-down": "fully-down",
}


class Counter(NamedTuple):
    health: int
    up: bool


def fully_up(rise: int, fall: int) -> int:
    return rise + fall - 1


def initial(rise: int, fall: int, init_state: str | None = None) -> Counter:
    """Health and state of a server before its first check."""
    kind = INIT_HEALTH[init_state]
    if kind == "fully-up":
        return Counter(fully_up(rise, fall), True)
    if kind == "down":  # one success brings it up
        return Counter(rise - 1, False)
    if kind == "fully-down":  # `rise` successes bring it up
        return Counter(0, False)
    return Counter(rise, True)


def after_check(counter: Counter, rise: int, fall: int, passed: bool) -> Counter:
    """The counter after one finished check (success or failure)."""
    health, up = counter
    if passed:
        if health < fully_up(rise, fall):
            health += 1
            if health >= rise:
                health = fully_up(rise, fall)
        return Counter(health, up or health >= rise)
    if health > 0:
        health -= 1
        if health < rise:
            health = 0
    return Counter(health, up and health > 0)


def display(health: int, rise: int, fall: int, drain: bool = False) -> str:
    """`3/3 UP`, `1/2 DOWN`, `2/3 DRAIN`: the `status:` part of HAProxy's check lines."""
    if health >= rise:
        return f"{health - rise + 1}/{fall} {'DRAIN' if drain else 'UP'}"
    return f"{health}/{rise} DOWN"


def interval(health: int, up: bool, rise: int, fall: int, inter: int,
             fastinter: int | None, downinter: int | None) -> int:
    """Delay before the next check (HAProxy `srv_getinter`).

    `inter` when fully up, `downinter` when fully down, `fastinter` while
    the server is changing state or has not been checked yet.
    """
    if health == fully_up(rise, fall):
        return inter
    if not up and health == 0:
        return downinter or inter
    return fastinter or inter


def carry(health: int, up: bool, old_rise: int, old_fall: int, rise: int, fall: int) -> Counter:
    """Map a counter kept across a reload onto new rise/fall values.

    A fully up server stays fully up, a down one stays down; in between the
    distance to the next transition is kept when the new bounds allow it.
    """
    if up:
        if health >= fully_up(old_rise, old_fall):
            return Counter(fully_up(rise, fall), True)
        margin = max(health - old_rise, 0)  # failures it can still take, minus one
        return Counter(min(rise + margin, fully_up(rise, fall)), True)
    return Counter(min(health, rise - 1), False)
