"""The per-worker connection limit lb derives when the configuration sets none (worker, master).

One definition for the worker that enforces it and the statistics that show
it (`slim`, `show info` Maxconn), so the two cannot disagree.
"""

from __future__ import annotations

import resource

FD_RESERVE = 64  # descriptors besides two per connection: listeners, logs, the signal pipe...


def default_maxconn() -> int:
    """Per-worker limit derived from RLIMIT_NOFILE: two descriptors per connection plus a reserve."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(100, (soft - FD_RESERVE) // 2)
