"""Kernel splicing for mode tcp: bytes from one socket to the other through a pipe (worker).

HAProxy's `option splice-request|splice-response|splice-auto` (frontend or
backend, either enables it) move a direction's bytes with splice(2):
socket -> pipe -> socket, never copied into the process.  This module holds
the decision (`proxy_bits` per proxy, once), the worker's pipes (`PipePool`:
at most `maxpipes` in use, default maxconn/4 as HAProxy's, `tune.pipesize`
applied) and the two moves (`fill`, `drain`); workers/tcpsplice.py is what
a mode tcp stream does with them.

`splice-auto` follows HAProxy's heuristic (include/haproxy/channel.h,
channel_check_xfer): a direction whose reads filled a whole buffer
(tune.bufsize) three times in a row is a fast streamer and is spliced from
then on.  Unlike HAProxy, lb keeps splicing that direction until the
stream ends (a pipe is cheap to keep, and deciding again costs a read).
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

REQUEST, RESPONSE, AUTO = 1, 2, 4  # policy bits: client -> server, server -> client, heuristic
STREAMER_READS = 3  # consecutive full reads that make a fast streamer (HAProxy's xfer_large >= 3)
AVAILABLE = hasattr(os, "splice")  # Linux, Python 3.10+
FLAGS = (os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK) if AVAILABLE else 0
MAX_IDLE = 16  # empty pipes kept for the next streams (each holds two descriptors)


def proxy_bits(global_: Any, conf: Any) -> int:
    """The splice bits one proxy's options ask for; 0 under global `nosplice` or
    without splice(2).  Worked out once per proxy (workers/runtime.py)."""
    if not AVAILABLE or global_.nosplice:
        return 0
    return ((REQUEST if conf.option("splice-request") else 0) | (RESPONSE if conf.option("splice-response") else 0)
            | (AUTO if conf.option("splice-auto") else 0))  # fmt: skip


class Pipe:
    """One pipe and the bytes it holds (read from one socket, not yet written to the other)."""

    __slots__ = ("pending", "read_fd", "size", "write_fd")

    def __init__(self, read_fd: int, write_fd: int, size: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.size = size  # what one fill moves at most: the pipe's capacity
        self.pending = 0

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)


class PipePool:
    """The worker's pipes: `limit` in use at most; released empty ones are reused."""

    def __init__(self, limit: int, pipesize: int) -> None:
        self.limit = limit
        self.pipesize = pipesize  # tune.pipesize; 0 keeps the system's size
        self.in_use = 0
        self.idle: list[Pipe] = []
        self.pid = os.getpid()

    def get(self) -> Pipe | None:
        """A pipe for one direction of a stream, None when at `limit` or out of descriptors
        (the stream copies instead, as HAProxy falls back to recv/send)."""
        if self.in_use >= self.limit:
            return None
        if self.idle:
            pipe = self.idle.pop()
        else:
            try:
                read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                return None
            size = self.resize(write_fd)
            pipe = Pipe(read_fd, write_fd, size)
        self.in_use += 1
        return pipe

    def resize(self, fd: int) -> int:
        if self.pipesize:
            try:
                return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, self.pipesize)
            except OSError:  # above /proc/sys/fs/pipe-max-size for an unprivileged user
                pass
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)

    def put(self, pipe: Pipe) -> None:
        """A stream is done with `pipe`: kept when empty, closed when it still holds bytes."""
        self.in_use -= 1
        if pipe.pending or len(self.idle) >= MAX_IDLE:
            pipe.close()
        else:
            self.idle.append(pipe)


_pool: PipePool | None = None


def pool_for(worker: Any) -> PipePool:
    """This worker process's pool (made at first use, from its config: maxpipes, tune.pipesize)."""
    global _pool
    pool = _pool
    if pool is None or pool.pid != os.getpid():  # a fork never shares a parent's pipes
        glob = worker.config.global_
        limit = glob.maxpipes or max(1, worker.maxconn // 4)
        pool = _pool = PipePool(limit, glob.pipesize)
    return pool


def fill(src_fd: int, pipe: Pipe) -> int:
    """Move what `src_fd` has into the (empty) pipe: the byte count, 0 at end of stream.
    Raises BlockingIOError when nothing is there, OSError when the socket failed."""
    size = os.splice(src_fd, pipe.write_fd, pipe.size, flags=FLAGS)
    pipe.pending += size
    return size


def drain(pipe: Pipe, dst_fd: int) -> bool:
    """Write what the pipe holds to `dst_fd`, as much as it takes; True when the pipe is
    empty.  Raises OSError when the socket failed."""
    try:
        pipe.pending -= os.splice(pipe.read_fd, dst_fd, pipe.pending, flags=FLAGS)
    except (BlockingIOError, InterruptedError):
        pass
    return not pipe.pending

