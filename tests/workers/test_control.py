"""Pure parts of the worker's runtime API side (workers/control.py)."""

from __future__ import annotations

import pytest

from workers.control import human_time


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0s"), (5, "5s"), (60, "1m"), (65, "1m5s"), (3600, "1h"), (3661, "1h1m"), (86400, "1d"),
    (90061, "1d1h"), (86401, "1d1s"), (-1, "?"),
])  # fmt: skip
def test_human_time_is_haproxys(seconds: int, shown: str) -> None:
    assert human_time(seconds) == shown
