#!/usr/bin/env python3
"""What an idle keep-alive HTTP client connection holds in lb's worker, by source line (tool, not a test).

    LB_PURE_PYTHON=1 python tools/idle_conn_memory.py          # 1,000 connections, attributed to lines
    python tools/idle_conn_memory.py --connections 2000        # compiled: attributed to the callers

Runs a worker in this process (tests/workers/harness.py: real loopback
sockets, the loop driven from here) in front of nginx, opens the
connections (one GET each, answer read, then idle), waits past `timeout
connect` so that the finished requests' timers have expired, and prints
the Python allocations that appeared meanwhile, per connection, grouped by
the line that made them (`tracemalloc`).  In pure Python the lines are the
engine's own; compiled, they are the Python callers of the compiled code.
Allocator fragmentation is not in these figures: tools/bench_idle_rss.py
measures the resident set.
"""

from __future__ import annotations

import argparse
import gc
import socket
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import REPO, stop  # noqa: E402
from bench_idle_rss import REQUEST, read_response, start_nginx  # noqa: E402

from tests.workers.harness import InProcessWorker  # noqa: E402

BATCH = 50
CONFIG = """global
    nbproc 1
defaults
    mode http
    option http-server-close
    timeout connect 1s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
frontend fe
    bind 127.0.0.1:1
    default_backend be
backend be
    server s1 127.0.0.1:{port}
"""


def open_batch(worker: InProcessWorker, port: int, count: int) -> list[socket.socket]:
    """`count` connections with one answered request each, the worker's loop run meanwhile."""
    socks = []
    for index in range(count):
        sock = socket.socket()
        sock.bind((f"127.0.0.{2 + index % 200}", 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(REQUEST)
        sock.setblocking(False)
        socks.append(sock)
    pending, deadline = list(socks), time.monotonic() + 20
    while pending and time.monotonic() < deadline:
        worker.run_for(0.02)
        waiting = []
        for sock in pending:
            try:
                sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                waiting.append(sock)
                continue
            sock.setblocking(True)
            read_response(sock)
        pending = waiting
    if pending:
        raise RuntimeError(f"{len(pending)} requests unanswered")
    return socks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    count = args.connections // BATCH * BATCH
    work = Path(tempfile.mkdtemp(prefix="lb-idle-memory-"))
    nginx, backend = start_nginx(work, count)
    try:
        worker = InProcessWorker(CONFIG.format(port=backend), work)
        port = worker.ports["fe"]
        kept = open_batch(worker, port, BATCH)  # warm-up: code paths, caches, free lists
        worker.run_for(1.5)
        gc.collect()
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
        for _ in range(count // BATCH):
            kept += open_batch(worker, port, BATCH)
        worker.run_for(1.5)  # past `timeout connect`: cancelled timers leave the heap
        gc.collect()
        stats = tracemalloc.take_snapshot().compare_to(before, "lineno")
    finally:
        stop(nginx)
    print(f"{sum(s.size_diff for s in stats) / count:,.0f} bytes of Python allocations per idle connection "
          f"({count:,} connections)")  # fmt: skip
    for stat in stats[: args.top]:
        frame = stat.traceback[0]
        where = frame.filename.replace(str(REPO) + "/", "")
        print(f"{stat.size_diff / count:8,.0f} B {stat.count_diff / count:6.1f} objects  {where}:{frame.lineno}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
