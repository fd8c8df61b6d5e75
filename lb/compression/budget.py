"""The worker's compression ceilings: maxcomprate, maxcompcpuusage, maxzlibmem (worker).

HAProxy's ceilings are per process; a worker is lb's process, so each
worker enforces them on its own, with no shared state:

- `maxcomprate`: the compressor input of this worker over the last second
  (HAProxy's freq_ctr: this second's count plus the previous second's,
  weighted by what is left of this one);
- `maxcompcpuusage`: the CPU time this worker used over its last second of
  wall time, measured with process_time() at most once a second, when a
  response is about to be compressed (the loop is not touched);
- `maxzlibmem`: the zlib state of the responses being compressed.

Past a ceiling, new responses are sent as they are.  HAProxy also lowers
the zlib level of responses already being compressed; Python's zlib
cannot change the level of a running stream, so lb keeps their level
(a documented deviation).
"""

from __future__ import annotations

import time

from lb.compression.model import CompressionLimits

CPU_WINDOW = 1.0  # seconds of wall time between two CPU usage samples


class RateCounter:
    """Events per second, HAProxy's way (freq_ctr over a one-second period)."""

    __slots__ = ("second", "current", "previous")

    def __init__(self) -> None:
        self.second = 0
        self.current = 0
        self.previous = 0

    def add(self, now: float, amount: int) -> None:
        second = int(now)
        if second != self.second:
            self.previous = self.current if second == self.second + 1 else 0
            self.current = 0
            self.second = second
        self.current += amount

    def read(self, now: float) -> float:
        second = int(now)
        current, previous = self.current, self.previous
        if second != self.second:
            current, previous = 0, (current if second == self.second + 1 else 0)
        return current + previous * (1.0 - (now - second))


class CpuMeter:
    """This process's CPU usage in percent of one CPU, over the last sampled window."""

    __slots__ = ("at", "cpu", "busy")

    def __init__(self) -> None:
        self.at = time.monotonic()
        self.cpu = time.process_time()
        self.busy = 0.0

    def usage(self, now: float) -> float:
        elapsed = now - self.at
        if elapsed >= CPU_WINDOW:
            cpu = time.process_time()
            self.busy = (cpu - self.cpu) * 100.0 / elapsed
            self.at, self.cpu = now, cpu
        return self.busy


class Budget:
    """One per worker: the ceilings, what is in use, and the input rate."""

    __slots__ = ("limits", "memory", "rate", "cpu", "counts_rate")

    def __init__(self, limits: CompressionLimits) -> None:
        self.limits = limits
        self.memory = 0  # bytes of zlib state of the responses being compressed
        self.rate = RateCounter()  # compressor input, bytes
        self.cpu = CpuMeter()
        self.counts_rate = limits.max_rate > 0  # only then is every piece counted

    def allows(self, now: float, memory: int) -> bool:
        """May one more response, needing `memory` bytes of state, be compressed now?"""
        limits = self.limits
        if limits.max_rate and self.rate.read(now) > limits.max_rate:
            return False
        if limits.max_cpu < 100 and self.cpu.usage(now) > limits.max_cpu:
            return False
        return not (limits.max_memory and self.memory + memory > limits.max_memory)
