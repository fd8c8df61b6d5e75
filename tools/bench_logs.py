#!/usr/bin/env python3
"""CPU cost of lb's traffic logging path alone (tool, not a test).

    python tools/bench_logs.py [--lines 100000]

For tcplog, httplog (with and without captures) and httplog clf: the time
to render a LogRecord with the compiled format, then the time of
ProxyLogger.log() sending it to a UDP syslog socket drained by another
process (header cache, encode, truncation, one send), and log() to a target
whose level (`emerg`) filters the line out: everything but the framing and the
send, so the difference between the two is the cost of sending.  The whole-proxy cost
of `option httplog` to syslog, record building in the worker included, is
measured by `tools/bench.py --mode http --syslog` next to HAProxy's.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lb.config.model import Proxy  # noqa: E402
from lb.logs import syslog  # noqa: E402
from lb.logs.logformat import HTTPLOG, HTTPLOG_CLF, TCPLOG, RenderContext, compile_format  # noqa: E402
from lb.logs.model import area_of  # noqa: E402
from lb.logs.record import LogRecord  # noqa: E402
from lb.logs.runtime import ProxyLogger, Target  # noqa: E402
from lb.logs.targets import UdpSink  # noqa: E402

DRAIN = "import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('127.0.0.1', 0))\n" \
        "print(s.getsockname()[1], flush=True)\nwhile True: s.recv(65536)\n"  # fmt: skip


def sample_record(captures: bool) -> LogRecord:
    r = LogRecord()
    r.client_ip, r.client_port, r.frontend, r.backend, r.server = "192.0.2.10", 51234, "www", "app", "app1"
    r.accept_date = r.request_date = time.time()
    r.t_request, r.t_queue, r.t_connect, r.t_response, r.t_active, r.t_total = 0, 0, 1, 12, 13, 13
    r.status, r.bytes_out, r.bytes_in, r.actconn, r.feconn, r.beconn, r.srvconn = 200, 5123, 312, 8, 8, 3, 2
    r.request_line = "GET /api/v1/items?page=2 HTTP/1.1"
    if captures:
        r.captured_request_headers = ["www.example.com"]
    return r


def per_call_us(fn, count: int) -> float:  # noqa: ANN001
    start = time.process_time()
    for _ in range(count):
        fn()
    return (time.process_time() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    drain = subprocess.Popen([sys.executable, "-c", DRAIN], stdout=subprocess.PIPE, text=True)
    try:
        port = int(drain.stdout.readline())  # type: ignore[union-attr]
        sink = UdpSink("127.0.0.1", port, socket.AF_INET)
        print(f"{time.strftime('%Y-%m-%d')}  lb.logs, {args.lines} lines each, CPU µs per line")
        print("| format | render | log() to UDP syslog | log() filtered by level (no send) |\n|---|---:|---:|---:|")
        for name, fmt, mode, captures in (("tcplog", TCPLOG, "tcp", False), ("httplog", HTTPLOG, "http", False),
                                          ("httplog + capture", HTTPLOG, "http", True),
                                          ("httplog clf", HTTPLOG_CLF, "http", False)):
            compiled, record, context = compile_format(fmt, mode), sample_record(captures), RenderContext(1, "h")
            proxy = Proxy(name="www", section="frontend", mode=mode)
            area_of(proxy).compiled = compiled
            framer = syslog.Framer("local", 16, "lb", 1)
            logger = ProxyLogger(proxy, [Target(sink, framer, 1024, syslog.LOG_DEBUG, syslog.LOG_EMERG)], 1, "h", 1023)
            quiet_target = Target(sink, framer, 1024, syslog.LOG_EMERG, syslog.LOG_EMERG)
            filtered = ProxyLogger(proxy, [quiet_target], 1, "h", 1023)
            render = per_call_us(lambda: compiled.render(record, context), args.lines)
            log = per_call_us(lambda: logger.log(record), args.lines)
            no_send = per_call_us(lambda: filtered.log(record), args.lines)
            print(f"| {name} | {render:.1f} | {log:.1f} | {no_send:.1f} |")
    finally:
        drain.kill()


if __name__ == "__main__":
    main()
