"""Rates, sampled maxima and backend transitions of one generation (master).

The engine counts events; nobody counts "per second".  Every loop tick the
master reads each object's cumulative sessions and requests (slots plus
`carried`, so traffic still drained by an older generation counts too),
feeds the increase into a HAProxy freq counter (one-second periods: the
current period's count plus the previous one's, pro rata of what is left of
the current period, src/freq_ctr.c read_freq_ctr), and writes into the
master-owned `sampled` cells: rate, rate_max, req_rate, req_rate_max, and
the highest current sessions and queue seen at a tick (smax/qmax lower
bounds that need nothing from the workers).  It also follows each backend's
UP/DOWN state (be_change, be_downs, be_downtime) and the process-wide
highest session rate (show info MaxSessRate).

Workers publish their counters once a second, so a rate moves in steps;
its average over time is exact.
"""

from __future__ import annotations

from lb.config.model import Config
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.stats import state
from lb.stats.objects import StatObject, catalog

PERIOD_MS = 1000
S = layout.SAMPLE


class FreqCounter:
    """HAProxy's freq_ctr over one-second periods."""

    __slots__ = ("period", "curr", "prev")

    def __init__(self) -> None:
        self.period = 0  # start of the current period, ms
        self.curr = 0
        self.prev = 0

    def _rotate(self, now_ms: int) -> None:
        start = now_ms - now_ms % PERIOD_MS
        if start != self.period:
            self.prev = self.curr if start - self.period == PERIOD_MS else 0
            self.curr, self.period = 0, start

    def add(self, count: int, now_ms: int) -> None:
        self._rotate(now_ms)
        self.curr += count

    def read(self, now_ms: int) -> int:
        self._rotate(now_ms)
        elapsed = now_ms - self.period
        return self.curr + self.prev * (PERIOD_MS - elapsed) // PERIOD_MS


class Track:
    """One object's sampling state."""

    __slots__ = ("obj", "sessions", "requests", "last_sessions", "last_requests")

    def __init__(self, obj: StatObject, first: tuple[int, int]) -> None:
        self.obj = obj
        self.sessions, self.requests = FreqCounter(), FreqCounter()
        self.last_sessions, self.last_requests = first


class Sampler:
    def __init__(self, config: Config, shm: ShmTable, previous: "Sampler | None" = None) -> None:
        self.config, self.shm = config, shm
        self.objects = catalog(config, shm.nproxies, shm.nservers, shm.nbackends)
        self.tracks = [Track(obj, self.cumulative(obj)) for obj in self.objects]
        self.backends = [obj for obj in self.objects if obj.kind == "B"]
        self.backend_was_up = {obj.backend_index: self.backend_up(obj) for obj in self.backends}
        if previous is not None:
            self.inherit(previous)

    def inherit(self, previous: "Sampler") -> None:
        """Keep the freq counters and maxima of objects that keep their name."""
        old = {track.obj.key: track for track in previous.tracks}
        for track in self.tracks:
            before = old.get(track.obj.key)
            if before is None:
                continue
            track.sessions, track.requests = before.sessions, before.requests
            row, old_row = track.obj.rows[0], before.obj.rows[0]
            for name in ("rate_max", "req_rate_max", "conn_max", "queue_max"):
                self.shm.sampled[self.shm.sampled_index(row, name)] = previous.shm.sampled[
                    previous.shm.sampled_index(old_row, name)]  # fmt: skip
        self.shm.control[layout.CTRL_SESS_RATE_MAX] = previous.shm.control[layout.CTRL_SESS_RATE_MAX]

    def cumulative(self, obj: StatObject) -> tuple[int, int]:
        shm, sessions, requests = self.shm, 0, 0
        for row in obj.rows:
            sessions += sum(shm.counter_cells(row, "sessions")) + shm.carried[shm.carried_index(row, "sessions")]
            requests += sum(shm.counter_cells(row, "requests")) + shm.carried[shm.carried_index(row, "requests")]
        return sessions, requests

    def gauges(self, obj: StatObject) -> tuple[int, int]:
        """(current sessions, current queue) of an object."""
        shm = self.shm
        if obj.kind == "F":
            return sum(shm.column("feconn", obj.proxy_index)), 0
        if obj.kind == "S":
            return sum(shm.column("conns", obj.server_index)), sum(shm.column("queued", obj.server_index))
        if obj.kind == "B":
            return sum(shm.column("beconn", obj.backend_index)), sum(shm.column("bequeued", obj.backend_index))
        return 0, 0

    def tick(self, now_ms: int) -> None:
        """One sampling pass; `now_ms` is epoch milliseconds (HAProxy aligns periods on seconds)."""
        shm, total_rate = self.shm, 0
        for track in self.tracks:
            sessions, requests = self.cumulative(track.obj)
            track.sessions.add(max(0, sessions - track.last_sessions), now_ms)
            track.requests.add(max(0, requests - track.last_requests), now_ms)
            track.last_sessions, track.last_requests = sessions, requests
            rate, req_rate = track.sessions.read(now_ms), track.requests.read(now_ms)
            if track.obj.kind == "F":
                total_rate += rate
            base = track.obj.rows[0] * layout.NSAMPLED
            current, queue = self.gauges(track.obj)
            for name, value in (("rate", rate), ("req_rate", req_rate)):
                shm.sampled[base + S[name]] = min(value, 2**32 - 1)
            for name, value in (("rate_max", rate), ("req_rate_max", req_rate), ("conn_max", current),
                                ("queue_max", queue)):  # fmt: skip
                if value > shm.sampled[base + S[name]]:
                    shm.sampled[base + S[name]] = min(value, 2**32 - 1)
        if total_rate > shm.control[layout.CTRL_SESS_RATE_MAX]:
            shm.control[layout.CTRL_SESS_RATE_MAX] = total_rate
        self.follow_backends(now_ms)

    def backend_up(self, obj: StatObject) -> bool:
        members = [(s.server_index, s.server) for s in obj.servers]
        return state.backend_up(self.shm, members, obj.proxy.option("allbackups"))  # type: ignore[arg-type]

    def follow_backends(self, now_ms: int) -> None:
        """be_change/be_downs/be_downtime: the backends' UP/DOWN transitions (epoch ms)."""
        shm = self.shm
        for obj in self.backends:
            i, up = obj.backend_index, self.backend_up(obj)
            if up == self.backend_was_up[i]:
                continue
            if not up:
                shm.be_downs[i] += 1
            else:
                shm.be_downtime[i] += max(0, now_ms - shm.be_change[i])
            shm.be_change[i] = now_ms
            self.backend_was_up[i] = up

    def clear_maxima(self) -> None:
        """`clear counters`: the sampled maxima start again from the current values."""
        shm = self.shm
        for track in self.tracks:
            base = track.obj.rows[0] * layout.NSAMPLED
            for name in ("rate_max", "req_rate_max", "conn_max", "queue_max"):
                shm.sampled[base + S[name]] = 0
        shm.control[layout.CTRL_SESS_RATE_MAX] = 0
