"""Combining an object's counters over the slots' rows and `carried` (any process).

Standard library only, pure functions of a ShmTable.  Each counter of
lb.shm.layout.COUNTERS is combined as layout.COMBINE says:

- SUM cells: the slots' cells plus `carried` (signed: `clear counters all`
  leaves it negative);
- MAX cells: the highest of the slots' cells and `carried`;
- SWRATE cells (HAProxy's sliding sums of the last TIME_STATS_SAMPLES
  times): each slot's average, weighted by its sample count (capped at the
  window), `carried` counting as one more participant.  The result is given
  back in the same cell form (average x weight, with `time_samples` = the
  weight), so that it can itself be carried into a later generation.

A slot's MAX cells count only once it has acknowledged the last `clear
counters` (stats_ack >= control[CTRL_CLEAR_EPOCH]); its SWRATE and
last_session cells only once it has acknowledged the last `clear counters
all` (lb.shm.layout: each worker resets those cells of its own rows).
"""

from __future__ import annotations

from lb.shm import layout
from lb.shm.table import ShmTable

N = layout.NCOUNTERS
WINDOW = layout.TIME_STATS_SAMPLES
_MAX_CELLS = tuple(layout.COUNTER[name] for name in layout.CLEARED_MAX)
_ALL_CELLS = tuple(layout.COUNTER[name] for name in layout.CLEARED_ALL)
_SUM = tuple(i for i, name in enumerate(layout.COUNTERS) if layout.COMBINE[name] == layout.SUM)
_MAX = tuple(i for i, name in enumerate(layout.COUNTERS) if layout.COMBINE[name] == layout.MAX)
_SWRATE = tuple(i for i, name in enumerate(layout.COUNTERS) if layout.COMBINE[name] == layout.SWRATE)
_SAMPLES = layout.COUNTER["time_samples"]
_REQUESTS = layout.COUNTER["requests"]
_LBTOT = layout.COUNTER["lbtot"]


def swrate_avg(total: int, samples: int) -> int:
    """HAProxy's swrate_avg: the average of a sliding sum over `samples` values."""
    return (total + samples - 1) // samples if samples > 0 else 0


def sample_weight(row: list[int], http: bool) -> int:
    """How many samples a row's swrate cells hold (capped at the window).

    `time_samples` when the writer keeps it, else HAProxy's own measure:
    requests in mode http, load-balanced connections in mode tcp."""
    samples = row[_SAMPLES] or (row[_REQUESTS] if http else row[_LBTOT])
    return max(0, min(samples, WINDOW))


def slot_rows(shm: ShmTable, obj: int) -> list[list[int]]:
    """Object `obj`'s row in every slot, with the cells a pending clear voids set to 0."""
    epoch, all_epoch = shm.control[layout.CTRL_CLEAR_EPOCH], shm.control[layout.CTRL_CLEAR_ALL]
    width = shm.nobjects * N
    rows = []
    for slot in range(shm.nslots):
        start = slot * width + obj * N
        row = list(shm.counters[start : start + N])
        ack = shm.stats_ack[slot]
        if ack < epoch:
            for i in _MAX_CELLS:
                row[i] = 0
        if ack < all_epoch:
            for i in _ALL_CELLS:
                row[i] = 0
        rows.append(row)
    return rows


def carried_row(shm: ShmTable, obj: int) -> list[int]:
    return list(shm.carried[obj * N : (obj + 1) * N])


def combine(rows: list[list[int]], http: bool) -> list[int]:
    """One row out of several (slots, carried, other generations), as COMBINE says."""
    out = [0] * N
    for i in _SUM:
        out[i] = sum(row[i] for row in rows)
    for i in _MAX:
        out[i] = max((row[i] for row in rows), default=0)
    weights = [sample_weight(row, http) for row in rows]
    total_weight = sum(weights)
    for i in _SWRATE:
        if total_weight:
            average = sum(swrate_avg(row[i], w) * w for row, w in zip(rows, weights, strict=True) if w) / total_weight
            out[i] = int(round(average * min(total_weight, WINDOW)))
    out[_SAMPLES] = min(total_weight, WINDOW)
    return out


def totals(shm: ShmTable, obj: int, http: bool, extra: list[list[int]] = ()) -> list[int]:
    """Object `obj` of `shm`, combined over its slots and `carried` (plus `extra` rows)."""
    return combine([*slot_rows(shm, obj), carried_row(shm, obj), *extra], http)


def average(row: list[int], name: str) -> int:
    """The average a combined row's swrate cell stands for (qtime, ctime, rtime, ttime)."""
    return swrate_avg(row[layout.COUNTER[name]], row[_SAMPLES])
