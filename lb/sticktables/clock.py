"""The clock of stick tables: integer milliseconds of CLOCK_MONOTONIC (worker, master).

CLOCK_MONOTONIC is system-wide, so every process of every generation
reads the same time: a rate counted by one worker and read by another, or
an expiry set before a reload and checked after it, agree.  Tests replace
`now_ms` with a fake clock.
"""

from __future__ import annotations

import time
from typing import Callable


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


now_ms = _monotonic_ms


def set_clock(clock: Callable[[], int] | None) -> None:
    """Tests: make `now_ms()` return `clock()` (None restores the real clock)."""
    global now_ms
    now_ms = clock or _monotonic_ms
