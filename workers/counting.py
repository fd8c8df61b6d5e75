"""Per-request statistics, gathered cheaply and published once a second (worker).

HAProxy's stats count every request several times over (its frontend,
backend and server: responses by class, requests, sessions, bytes, time
averages).  Written to shared memory one by one this costs more than the
rest of a keep-alive request's bookkeeping, so the hot path adds to plain
Python arrays instead (a tally per object: an index add is cheap in
plain Python and a C add once compiled), and `publish()` folds them into this worker's row of shared
memory on every heartbeat (lb.shm.layout: the worker is that row's only
writer).  Readers therefore see counts at most a second old; rare events
(errors, aborts, denials, retries) are still written at once.

A request a server answered is tallied on the server only: its backend's
share is added from its servers' tallies when publishing.  A request that
never got a server answer (a local reply, a 503, an abort) is tallied on
the backend directly.
"""

from __future__ import annotations

import array
from typing import TYPE_CHECKING

from lb.shm import layout

if TYPE_CHECKING:
    from workers.runtime import Counted, Runtime

# Tally slots.  HRSP + klass - 1 for klass 1..5, HRSP_OTHER for anything else.
REQUESTS, HRSP, HRSP_OTHER, SESSIONS, BYTES_IN, BYTES_OUT = 0, 1, 6, 7, 8, 9
T_COUNT, T_QUEUE, T_CONNECT, T_DATA, T_TOTAL = 10, 11, 12, 13, 14
TALLY_SIZE = 15
ZEROS = array.array("q", bytes(8 * TALLY_SIZE))

# shm counter of each tally slot published as a plain sum
SUMMED = tuple((slot, layout.COUNTER[name]) for slot, name in (
    (REQUESTS, "requests"), (HRSP, "hrsp_1xx"), (HRSP + 1, "hrsp_2xx"), (HRSP + 2, "hrsp_3xx"),
    (HRSP + 3, "hrsp_4xx"), (HRSP + 4, "hrsp_5xx"), (HRSP_OTHER, "hrsp_other"), (SESSIONS, "sessions"),
    (BYTES_IN, "bytes_in"), (BYTES_OUT, "bytes_out"),
))  # fmt: skip
TIMES = tuple((slot, layout.COUNTER[name]) for slot, name in (
    (T_QUEUE, "qtime"), (T_CONNECT, "ctime"), (T_DATA, "rtime"), (T_TOTAL, "ttime"),
))  # fmt: skip
C_LAST_SESSION = layout.COUNTER["last_session"]
C_TIME_SAMPLES = layout.COUNTER["time_samples"]


def new_tally() -> array.array[int]:
    """A tally: signed 64-bit counters (an array, so that compiled code adds in C)."""
    return array.array("q", bytes(8 * TALLY_SIZE))


def hrsp_slot(status: int) -> int:
    klass = status // 100
    return HRSP + klass - 1 if 1 <= klass <= 5 else HRSP_OTHER


def publish(runtime: Runtime, now: int) -> None:
    """Fold every tally into this worker's row of shared memory (once a second)."""
    for frontend in runtime.frontends.values():
        fold(frontend, frontend.tally, now)
    for backend in runtime.backends.values():
        for server in backend.servers:
            tally = server.tally
            if any(tally):
                fold(backend, tally, now, reset=False)  # the backend's share of its servers' requests
                fold(server, tally, now)
        fold(backend, backend.tally, now)
    for counts in runtime.listener_counts:
        fold(counts, counts.tally, now)


def fold(obj: Counted, tally: array.array[int], now: int, reset: bool = True) -> None:
    if not any(tally):
        return
    counters, base = obj.counters, obj.counter_base
    for slot, cell in SUMMED:
        if tally[slot]:
            counters[base + cell] += tally[slot]
    count = tally[T_COUNT]
    if count:
        before = obj.t_samples
        for slot, cell in TIMES:
            counters[base + cell] = swrate_add_many(counters[base + cell], before, count, tally[slot])
        obj.t_samples = before + count
        counters[base + C_TIME_SAMPLES] = obj.t_samples  # how many samples the averages above hold
    if tally[SESSIONS]:
        counters[base + C_LAST_SESSION] = now
    if reset:
        tally[:] = ZEROS


def swrate_add_many(total: int, samples_before: int, count: int, values_sum: int) -> int:
    """HAProxy's dynamic sliding-window sum (swrate_add_dynamic) after `count`
    more samples summing `values_sum`, `samples_before` having been added before.

    Below TIME_STATS_SAMPLES samples the window is a plain sum, as in HAProxy;
    past it, the `count` samples of one flush are aged as one batch (each
    decays the sum by 1/n), which is exact when they are equal and off by less
    than count/n otherwise."""
    window = layout.TIME_STATS_SAMPLES
    plain = max(0, min(count, window - samples_before))
    total += values_sum * plain // count if count else 0
    rest = count - plain
    if rest:
        decay = (1 - 1 / window) ** rest
        total = int(total * decay + values_sum * rest / count * (1 - decay) * window / rest)
    return total
