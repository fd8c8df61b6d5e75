#!/usr/bin/env python3
"""Per-request cost of the HTTP engine alone, without a load generator (tool, not a test).

    python tools/bench_http_engine.py [--requests 50000] [--profile] [--log] [--track]

One H1Connection of a real worker runtime is driven by hand on loopback TCP
connections:
a request is written to the client side, the session's read callback
runs, the server side answers, the server connection's callback runs,
and the response is read back.  No event loop wait and no concurrency, so
the figure is the work per keep-alive request (Python plus the socket
calls of both ends): a stable number to compare engine changes with,
where tools/bench.py is at the mercy of the shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lb.config  # noqa: E402
from lb.generation import Generation  # noqa: E402
from lb.logs import events  # noqa: E402
from lb.sticktables.regions import TableSet  # noqa: E402
from workers.base import Worker  # noqa: E402
from workers.client import ClientConn  # noqa: E402
from workers.http.h1 import H1Connection  # noqa: E402
from workers.http.serverconn import ServerConn  # noqa: E402
from workers.listener import Listener  # noqa: E402
from workers.loop import EventLoop  # noqa: E402
from workers.runtime import Runtime  # noqa: E402

CONFIG = """
global
    nbproc 1
{log}defaults
    mode http
{log_global}    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:1
{track}    default_backend be
backend be
    server s1 127.0.0.1:2
"""
TRACK = """    stick-table type ip size 100k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000000 }
"""
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
RESPONSE = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 18:10:26 GMT\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 17\r\nConnection: keep-alive\r\n\r\n"
            b"hello from nginx\n")  # fmt: skip


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """Two ends of one loopback TCP connection (lb's end first)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        far = socket.create_connection(listener.getsockname())
        near, _ = listener.accept()
    for sock in (near, far):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return near, far


def build_session(log_port: int | None, track: bool = False) -> tuple[H1Connection, socket.socket, socket.socket,
                                                                     ServerConn]:  # fmt: skip
    """`log_port`: with `log 127.0.0.1:PORT local0` (httplog lines to that UDP port), else no log target;
    `track`: the frontend tracks the client in a stick table and checks its request rate."""
    log = f"    log 127.0.0.1:{log_port} local0\n" if log_port else ""
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as fh:
        fh.write(CONFIG.format(log=log, log_global="    log global\n" if log else "", track=TRACK if track else ""))
    config = lb.config.load(fh.name)
    os.unlink(fh.name)
    generation = Generation(1, config, os.getpid())
    generation.seed(None)
    TableSet.set_writer(0)  # as the master does before forking the worker of slot 0 (stick tables' shard)
    worker = Worker(config, 1, 0, 1, generation.shm, [], os.getpid())
    worker.loop = EventLoop()
    worker.log = events.get_logger()
    worker.runtime = Runtime(config, generation.shm, 0)
    worker.maxconn = 1000
    worker.attach_loggers()
    worker.init_http()
    frontend = worker.runtime.frontends["fe"]
    listener = Listener(config.frontends["fe"].binds[0], "fe", socket.socket())
    listener.attach(worker, frontend)
    client_lb, client = tcp_pair()
    server_lb, server = tcp_pair()
    for sock in (client_lb, server_lb):
        sock.setblocking(False)
    accepted = ClientConn(worker, listener, client_lb, ("127.0.0.1", 40000))
    accepted.start()
    session = accepted.protocol
    assert isinstance(session, H1Connection)
    conn = ServerConn(worker.loop, server_lb, worker.runtime.backends["be"].servers[0])
    session.conn = conn  # as if a first request had connected: later ones reuse it
    return session, client, server, conn


def one_request(session: H1Connection, client: socket.socket, server: socket.socket, conn: ServerConn) -> None:
    client.sendall(REQUEST)
    session.on_client_event(1)
    server.recv(65536)
    server.sendall(RESPONSE)
    conn.on_event(1)
    client.recv(65536)


def ends_only(client: socket.socket, server: socket.socket, count: int) -> float:
    """CPU seconds of the two ends' own work, exchanging the same bytes directly."""
    near, far = tcp_pair()
    started = time.process_time()
    for _ in range(count):
        far.sendall(REQUEST)
        near.recv(65536)
        near.sendall(RESPONSE)
        far.recv(65536)
    return time.process_time() - started


def best_of(runs: int, measure) -> float:  # type: ignore[no-untyped-def]
    return min(measure() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5, help="report the best of this many runs (least noise)")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions")
    parser.add_argument("--log", action="store_true",
                        help="log each request (httplog) to a UDP socket on 127.0.0.1 that nobody reads")
    parser.add_argument("--track", action="store_true",
                        help="http-request track-sc0 src and a sc_http_req_rate rule (a stick table)")
    args = parser.parse_args()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))  # never read: full, the kernel drops datagrams and the send still costs
    session, client, server, conn = build_session(sink.getsockname()[1] if args.log else None, args.track)
    for _ in range(2000):  # warm-up
        one_request(session, client, server, conn)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            one_request(session, client, server, conn)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0

    def engine() -> float:
        started = time.process_time()
        for _ in range(args.requests):
            one_request(session, client, server, conn)
        return time.process_time() - started

    total = best_of(args.runs, engine) / args.requests * 1e6
    ends = best_of(args.runs, lambda: ends_only(client, server, args.requests)) / args.requests * 1e6
    print(f"{args.requests} keep-alive requests, best of {args.runs}: {total:.1f} µs/request with lb between "
          f"the ends, {ends:.1f} µs/request for the ends alone: lb's engine {total - ends:.1f} µs/request")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
