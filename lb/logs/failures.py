"""Reporting a failure that may repeat, without flooding (worker, checker, master).

A log destination that is gone fails on every line, a bug met on each
request or check fails every time: `report()` logs such a failure as one
structlog event at once, then at most once per REPORT_EVERY seconds per
key, with the number of repeats left unreported since.  HAProxy does the
same for a failing log server, once per process.

    failures.report(("log send", "udp@10.0.0.1:514"), "log send failed", "warning",
                    target="udp@10.0.0.1:514", reason="Connection refused")

The event goes through the process's structlog set-up (lb.logs.events
configures it in every lb process; this module does not import that one,
which imports the log targets that report here).  `report()` never raises,
and a report that fails, or that fails again while being sent (a global
`log` target that is the one failing), reports nothing more.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Hashable

import structlog

REPORT_EVERY = 60.0  # seconds between two reports of a failure that keeps happening


class Throttle:
    """When a failure that repeats may be reported: at once the first time, then
    at most once per `every` seconds; `due()` says how many were left out since."""

    def __init__(self, every: float = REPORT_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self.next_at: dict[Hashable, float] = {}
        self.unreported: dict[Hashable, int] = {}

    def due(self, key: Hashable) -> int | None:
        """None: not now (counted); else the repeats not reported since the last report."""
        now = self.clock()
        at = self.next_at.get(key)
        if at is not None and now < at:
            self.unreported[key] = self.unreported.get(key, 0) + 1
            return None
        self.next_at[key] = now + self.every
        return self.unreported.pop(key, 0)


_throttle = Throttle()
_reporting = False  # a report that fails must not report itself


def report(key: Hashable, name: str, level: str = "error", exc: BaseException | None = None,
           **fields: Any) -> bool:
    """Log event `name` for the failure `key` if it is due; `exc` adds `error`
    and the `traceback`.  True when an event was logged now.  Never raises."""
    global _reporting
    if _reporting:
        return False
    _reporting = True
    try:
        left_out = _throttle.due(key)
        if left_out is None:
            return False
        if left_out:
            fields["unreported"] = left_out
        if exc is not None:
            fields.setdefault("error", repr(exc))
            fields["traceback"] = "".join(traceback.format_exception(exc))
        _emit(name, level, fields)
        return True
    except Exception:  # noqa: BLE001  reporting must never be what fails the caller
        return False
    finally:
        _reporting = False


def _emit(name: str, level: str, fields: dict[str, Any]) -> None:
    getattr(structlog.get_logger(), level)(name, **fields)


__all__ = ["report", "Throttle", "REPORT_EVERY"]
