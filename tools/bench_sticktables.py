"""Micro-benchmark: the CPU a request spends in rate limiting by stick table (a tool, not a test).

    python tools/bench_sticktables.py [--requests N] [--workers W] [--clients C]

Runs the rules engine's request phase (lb.rules.pipeline.request_phase)
in this process on two configurations that differ only by

    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000 }

plus the end of each request (lb.sticktables.tracking.stream_end), and
prints the extra time per request: what the worker's hot path pays for
tracking and checking a rate.  `--workers` sets how many shards a read
adds up (one per worker); `--clients` how many source addresses take turns.
The table lives in shared memory exactly as in a worker.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import lb.config  # noqa: E402
from lb.rules import pipeline  # noqa: E402
from lb.rules.message import Request  # noqa: E402
from lb.rules.txn import ConnFacts, Txn  # noqa: E402
from lb.sticktables import counters, tracking  # noqa: E402
from lb.sticktables.regions import TableSet  # noqa: E402

BASE = """
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:1
{rules}
    http-request set-var(txn.seen) str(1)
    default_backend be
backend be
    server s1 127.0.0.1:2
"""
RULES = """    stick-table type ip size 100k expire 30s store http_req_rate(10s),conn_cur
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000 }"""


def load(rules: str) -> object:
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as fh:
        fh.write(BASE.format(rules=rules))
    try:
        return lb.config.load(fh.name)
    finally:
        os.unlink(fh.name)


def run(config: object, requests: int, clients: int) -> float:
    frontend = config.frontends["fe"]  # type: ignore[attr-defined]
    facts = [ConnFacts(f"10.0.{i // 250}.{i % 250 + 1}", 40000, "127.0.0.1", 80) for i in range(clients)]
    request = Request("GET", "/", "1.1", [("host", "x")])
    start = time.process_time()
    for i in range(requests):
        txn = Txn(facts[i % clients], request, frontend)
        pipeline.request_phase(txn)
        tracking.stream_end(txn)
    return (time.process_time() - start) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    plain, limited = load(""), load(RULES)
    tables = TableSet(limited, args.workers)
    counters.WRITER = 0
    base, extra = [], []
    for _ in range(args.runs):
        base.append(run(plain, args.requests, args.clients))
        extra.append(run(limited, args.requests, args.clients))
    best_base, best_limited = min(base), min(extra)
    print(f"workers={args.workers} clients={args.clients} requests={args.requests} runs={args.runs}")
    print(f"request phase without a table: {best_base:.2f} us/request (best of {args.runs})")
    print(f"with track-sc0 + sc_http_req_rate deny: {best_limited:.2f} us/request")
    print(f"extra: {best_limited - best_base:.2f} us/request")
    tables.close()


if __name__ == "__main__":
    main()
