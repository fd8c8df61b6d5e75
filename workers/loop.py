"""The worker's event loop: a `selectors` loop with a timer heap (worker, checker).

Callbacks live on the selector key (`register(sock, events, callback)`) and
are called as `callback(mask)`.  Timers are lazily cancelled heap entries.
`now` is read once per iteration, so sessions can stamp activity without a
system call: an inactivity timeout is a deadline the session moves forward,
checked when its single timer fires (no heap churn per I/O).

A callback that raises is a bug in the code it belongs to, never a reason
to stop serving: the loop reports it (`report_error`, which the worker
sets to a structlog event that also counts it) and calls the owner's
`internal_error()`, which ends that one stream (a listener pauses and
resumes: it is never dropped).  Only a bare function, which has no owner
to recover, loses its registration, so that it cannot spin the loop.

An event `select` returned for a registration that a callback earlier in
the same iteration removed is stale and not delivered: its owner has let
go of the file (a stopping listener, a closed connection whose descriptor
number a new socket may already reuse).  Polling is level-triggered, so
whoever registers the descriptor again hears about it at the next turn.
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import sys
import time
import traceback
from typing import Any, Callable

ErrorReporter = Callable[[Any, BaseException], None]


def print_error(owner: Any, exc: BaseException) -> None:
    """The default reporter (tests, tools): the traceback on stderr."""
    traceback.print_exception(exc, file=sys.stderr)


class Timer:
    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple) -> None:
        self.when = when
        self.callback: Callable[..., Any] | None = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        # what the callback holds (a Connector, an exchange) is freed now, not when the
        # timer would have fired: idle connections keep cancelled connect timers around
        self.callback = None
        self.args = ()


class EventLoop:
    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Timer]] = []
        self._sequence = itertools.count()
        self.now = time.monotonic()
        self.running = False
        self.report_error: ErrorReporter = print_error
        self.dropped: set[int] = set()  # descriptors unregistered during this iteration's callbacks

    # -- I/O -------------------------------------------------------------

    def register(self, fileobj: Any, events: int, callback: Callable[[int], None]) -> None:
        self.selector.register(fileobj, events, callback)

    def modify(self, fileobj: Any, events: int, callback: Callable[[int], None]) -> None:
        self.selector.modify(fileobj, events, callback)

    def unregister(self, fileobj: Any) -> None:
        try:
            key = self.selector.unregister(fileobj)
        except (KeyError, ValueError):
            return
        self.dropped.add(key.fd)

    # -- timers ------------------------------------------------------------

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(when, callback, args)
        heapq.heappush(self._timers, (when, next(self._sequence), timer))
        return timer

    def timer_at(self, when: float, callback: Callable[[], Any]) -> Timer:
        """call_at() without arguments: the form compiled callers use (no *args)."""
        timer = Timer(when, callback, ())
        heapq.heappush(self._timers, (when, next(self._sequence), timer))
        return timer

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now, callback, *args)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now + delay, callback, *args)

    def _next_timeout(self, cap: float) -> float:
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        if not timers:
            return cap
        return max(0.0, min(cap, timers[0][0] - time.monotonic()))

    def _run_timers(self) -> None:
        timers, now = self._timers, self.now
        while timers and timers[0][0] <= now:
            _, _, timer = heapq.heappop(timers)
            callback = timer.callback
            if not timer.cancelled and callback is not None:
                timer.cancelled = True
                try:
                    callback(*timer.args)
                except Exception as exc:
                    self.callback_failed(callback, exc)

    # -- running -----------------------------------------------------------

    def run(self, idle_cap: float = 1.0) -> None:
        """Dispatch I/O and timers until stop() is called."""
        self.running = True
        select = self.selector.select
        monotonic = time.monotonic
        dropped = self.dropped
        registered = self.selector.get_map()
        while self.running:
            events = select(self._next_timeout(idle_cap))
            self.now = monotonic()
            dropped.clear()
            for key, mask in events:
                if dropped and key.fd in dropped and registered.get(key.fd) is not key:
                    continue  # unregistered by an earlier callback of this iteration: stale
                try:
                    key.data(mask)
                except Exception as exc:
                    self.callback_failed(key.data, exc, key.fileobj)
            if self._timers:
                self._run_timers()

    def callback_failed(self, callback: Callable[..., Any], exc: BaseException, fileobj: Any = None) -> None:
        """Report a failed callback once, then let its owner end what it was doing."""
        owner = getattr(callback, "__self__", None)
        self.report_error(owner, exc)
        abort = getattr(owner, "internal_error", None)
        if abort is None:
            if fileobj is not None:
                self.unregister(fileobj)
            return
        try:
            abort()
        except Exception as again:  # the owner's own recovery failed: reported, nothing more to try
            self.report_error(owner, again)

    def stop(self) -> None:
        self.running = False

    def close(self) -> None:
        self.selector.close()
