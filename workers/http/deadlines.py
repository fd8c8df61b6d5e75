"""One deadline per HTTP connection, with the phase that gives it its meaning (worker).

A connection waits for one thing at a time, and HAProxy names a timeout
for each: the request head (`timeout http-request`, 408), the next request
(`timeout http-keep-alive`), the server's response head (`timeout server`,
504), the rest of the response (`timeout server`/`timeout client`), an
Upgrade tunnel (`timeout tunnel`).  `Deadline.enter(phase, start, ms)`
starts a phase; I/O only stamps `client_io` / `server_io` (no timer churn
per packet), and the single timer, when it fires, asks its owner whether
the phase really expired: inactivity phases move their deadline forward
by themselves.  A timer is re-armed only when a new deadline is earlier
than the armed one.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from workers.loop import EventLoop, Timer


class Phase(enum.IntEnum):
    NONE = 0
    REQUEST = 1  # the head of a request is awaited (408 cR)
    KEEPALIVE = 2  # between two requests (the connection closes quietly)
    SERVER = 3  # the response head is awaited (504 sH)
    SERVER_DATA = 4  # the response body is being relayed (sD, or cD when the client stalls)
    TUNNEL = 5  # after a 101: either side inactive for `timeout tunnel`


# The members as module constants: `Phase.SERVER` is a class attribute lookup
# costing ~70 ns on CPython 3.11, a module global ~10 (several per request).
NONE, REQUEST, KEEPALIVE, SERVER, SERVER_DATA, TUNNEL = tuple(Phase)


class DeadlineOwner(Protocol):
    def on_deadline(self, phase: Phase, due: float) -> float:
        """The deadline `due` of `phase` was reached: handle it and return 0.0,
        or return a later time when the phase is still alive (inactivity)."""


class Deadline:
    __slots__ = ("client_io", "due", "loop", "owner", "phase", "server_io", "timeout", "timer")

    def __init__(self, loop: EventLoop, owner: DeadlineOwner) -> None:
        self.loop = loop
        self.owner = owner
        self.phase = NONE
        self.due = 0.0  # 0: no deadline in this phase
        self.timeout = 0.0  # seconds, the phase's timeout
        self.timer: Timer | None = None
        self.client_io = 0.0  # last activity on each side (monotonic seconds)
        self.server_io = 0.0

    def enter(self, phase: Phase, start: float, timeout_ms: int | None) -> None:
        """Enter `phase`; its deadline is `timeout_ms` after `start` (none when 0/None)."""
        self.phase = phase
        if not timeout_ms:
            self.due = 0.0
            return
        self.timeout = timeout = timeout_ms / 1000
        self.due = due = start + timeout
        self.client_io = self.server_io = start
        timer = self.timer
        if timer is None or timer.when > due:
            if timer is not None:
                timer.cancel()
            self.timer = self.loop.timer_at(due, self.fired)

    def clear(self) -> None:
        """No phase: nothing can expire (the timer, if armed, fires for nothing)."""
        self.phase = NONE
        self.due = 0.0

    def cancel(self) -> None:
        self.clear()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def fired(self) -> None:
        self.timer = None
        due = self.due
        if not due or self.phase == NONE:
            return
        if self.loop.now < due:  # moved later meanwhile
            self.timer = self.loop.timer_at(due, self.fired)
            return
        later = self.owner.on_deadline(self.phase, due)
        if later:
            self.due = later
            self.timer = self.loop.timer_at(later, self.fired)

    def idle_due(self, last_io: float) -> float:
        """When an inactivity phase expires given the last activity it watches."""
        return max(self.due, last_io + self.timeout)

    def internal_error(self) -> None:
        """A bug in the owner's handler: the owner is told the way the loop tells it."""
        handler = getattr(self.owner, "internal_error", None)
        if handler is not None:
            handler()
