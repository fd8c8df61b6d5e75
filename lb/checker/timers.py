"""A timer heap for the checker's selectors loop (checker).

Times are monotonic milliseconds (floats).  Cancelled timers stay in the
heap and are skipped when they come out, so cancel() is O(1).
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Callable


def now_ms() -> float:
    return time.monotonic() * 1000.0


class Timer:
    __slots__ = ("when", "callback", "cancelled", "owner")

    def __init__(self, when: float, callback: Callable[[], None], owner: object = None) -> None:
        self.when, self.callback, self.cancelled = when, callback, False
        self.owner = owner  # what the timer works for: told to `on_error` when its callback fails

    def cancel(self) -> None:
        self.cancelled = True


class TimerHeap:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def call_at(self, when: float, callback: Callable[[], None], owner: object = None) -> Timer:
        timer = Timer(when, callback, owner)
        heapq.heappush(self._heap, (when, next(self._seq), timer))
        return timer

    def next_delay(self, now: float, cap: float) -> float:
        """Milliseconds until the next live timer, at most `cap`."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        if not self._heap:
            return cap
        return max(0.0, min(cap, self._heap[0][0] - now))

    def run_due(self, now: float, on_error: Callable[[Timer, Exception], None] | None = None) -> int:
        """Fire every timer due at `now`; returns how many fired.  A callback that
        raises is handed to `on_error` (raised without one) and the others still fire."""
        fired = 0
        while self._heap and self._heap[0][0] <= now:
            _when, _seq, timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                timer.cancelled = True
                fired += 1
                try:
                    timer.callback()
                except Exception as exc:
                    if on_error is None:
                        raise
                    on_error(timer, exc)
        return fired

    def __len__(self) -> int:
        return sum(1 for _w, _s, timer in self._heap if not timer.cancelled)
