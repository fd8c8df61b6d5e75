#!/usr/bin/env python3
"""Benchmark lb against HAProxy on the same backend, in the same run (tool, not a test).

    python tools/bench.py --mode tcp            # keep-alive HTTP through a TCP tunnel
    python tools/bench.py --mode http           # HTTP proxying, option httplog on both
    python tools/bench.py --mode http --syslog  # cost of logging: httplog to UDP syslog vs no logging
    python tools/bench.py --mode http --floor   # and tools/python_floor.py, the least a Python proxy does
    python tools/bench.py --mode tcp --runs 3   # three runs, a table (ratios, CPU µs/req) for each
    python tools/bench.py --mode http --track   # cost of a rate limit: track-sc0 src + sc_http_req_rate rule

Backend: nginx when installed (a tiny static response), else a built-in
keep-alive server.  Load: wrk when installed (else a small Python client).
Both proxies run with one worker (lb `nbproc 1`, HAProxy `nbthread 1`).
CPU per request is the proxy processes' user+system time over the run
divided by the requests served.  Everything runs on 127.0.0.1.

With --syslog each proxy runs twice: without any logging (no `option httplog`,
no `log`), then with `option httplog` and `log 127.0.0.1:PORT local0` to a
sink process that drains and counts the datagrams (so a proxy that drops
lines shows it; lines may exceed requests by up to twice the connections:
requests in flight when wrk stops are logged too).  On loopback the kernel's
delivery of each datagram is charged to the sending proxy's CPU time.  The
table gives req/s and CPU µs/req for both runs and the difference: the CPU
cost of one log line, lb's next to HAProxy's.  On a shared machine prefer
the CPU columns: they do not depend on what else runs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)


def threads_keyword(kind: str) -> str:
    """One worker for lb (`nbproc 1`), one thread for HAProxy (`nbthread 1`)."""
    return "nbproc" if kind == "lb" else "nbthread"


def launch_proxy(kind: str, work: Path, port: int, config: str, settle: float = 0.5,
                 output: Any = subprocess.DEVNULL) -> subprocess.Popen:  # fmt: skip
    """Run `config` (written to work/<kind>.cfg) under lb (`lbctl start --foreground`)
    or HAProxy (`-db`), wait until `port` listens, then `settle` seconds for its workers."""
    conf = work / f"{kind}.cfg"
    conf.write_text(config)
    if kind == "lb":
        command = [sys.executable, "-m", "lb", "start", "--foreground", "-f", str(conf)]
    else:
        command = [haproxy_binary() or "haproxy", "-db", "-f", str(conf)]
    proc = subprocess.Popen(command, cwd=REPO, stdout=output, stderr=output)
    wait_port(port)
    time.sleep(settle)
    return proc


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def process_tree(pid: int) -> list[int]:
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent:
                    pids.append(int(entry))
                    frontier.append(int(entry))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


# -- backends --------------------------------------------------------------------

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "hello from nginx\\n"; }}
    }}
}}
"""


def start_backend(work: Path) -> tuple[subprocess.Popen, int, str]:
    port = free_port()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx:
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work, port=port))
        proc = subprocess.Popen([nginx, "-c", str(conf), "-e", str(work / "nginx-error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        name = "nginx"
    else:
        proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "fast_backend.py"), str(port)])
        name = "built-in"
    wait_port(port)
    return proc, port, name


# -- proxies ----------------------------------------------------------------------


# --track: the article's rate limit (a deny that never fires, so that every request is served)
TRACKING = """    stick-table type ip size 100k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000000 }
"""
TRACK = False  # set by --track for the second run of each proxy


def proxy_config(mode: str, port: int, backend: int, syslog: int | None, threads_kw: str,
                 httplog: bool | None = None) -> str:
    """`httplog`: None = `option httplog` in mode http (the default runs), False = no log option at all."""
    tracking = TRACKING if TRACK else ""
    log = f"    log 127.0.0.1:{syslog} local0\n" if syslog else ""
    logopt = "    option httplog\n" if (mode == "http" if httplog is None else httplog) else ""
    defaults_log = "    log global\n" if syslog else ""
    return f"""global
    {threads_kw} 1
    maxconn 4000
{log}
defaults
    mode {mode}
{defaults_log}{logopt}    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
{tracking}    default_backend be
backend be
    server s1 127.0.0.1:{backend}
"""


def start_lb(work: Path, mode: str, backend: int, syslog: int | None,
             httplog: bool | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    return launch_proxy("lb", work, port, proxy_config(mode, port, backend, syslog, "nbproc", httplog)), port


def start_haproxy(work: Path, mode: str, backend: int, syslog: int | None,
                  httplog: bool | None = None) -> tuple[subprocess.Popen, int] | None:
    if not haproxy_binary():
        return None
    port = free_port()
    config = proxy_config(mode, port, backend, syslog, "nbthread", httplog)
    return launch_proxy("haproxy", work, port, config, settle=0.3), port


def start_floor(work: Path, mode: str, backend: int, syslog: int | None,
                httplog: bool | None = None) -> tuple[subprocess.Popen, int]:
    """tools/python_floor.py: not a proxy, the yardstick for lb's engine (mode http only)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "python_floor.py"), str(port), str(backend)])
    wait_port(port)
    return proc, port


# -- load ---------------------------------------------------------------------------


def run_wrk(port: int, seconds: int, connections: int) -> float:
    wrk = shutil.which("wrk")
    if wrk is None:
        return run_python_load(port, seconds, connections)
    out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, timeout=seconds + 30).stdout  # fmt: skip
    match = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors:
        print(f"    wrk reported: {errors.group(0)}", file=sys.stderr)
    return float(match.group(1)) if match else 0.0


def run_python_load(port: int, seconds: int, connections: int) -> float:
    import http.client
    import threading

    count = [0]
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while time.monotonic() < deadline:
            conn.request("GET", "/")
            conn.getresponse().read()
            count[0] += 1

    threads = [threading.Thread(target=client) for _ in range(min(connections, 16))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return float(count[0])


def measure(name: str, proc: subprocess.Popen, port: int, seconds: int, connections: int) -> dict:
    pids = process_tree(proc.pid)
    warm_up = run_wrk(port, 2, connections)
    cpu_before = cpu_seconds(pids)
    started = time.monotonic()
    requests = run_wrk(port, seconds, connections)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pids) - cpu_before
    return {
        "name": name,
        "rps": requests / elapsed if elapsed else 0,
        "cpu_us": cpu / requests * 1e6 if requests else 0,
        "requests_total": warm_up + requests,  # every request the proxy served (and logged)
    }


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


# A syslog sink in its own process (its CPU is not the proxy's): drains datagrams, prints the count
# received so far whenever a line arrives on its stdin.
SINK = """
import select, socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind(("127.0.0.1", 0))
sock.setblocking(False)
print(sock.getsockname()[1], flush=True)
count = 0
while True:
    ready, _, _ = select.select([sock, sys.stdin], [], [])
    if sys.stdin in ready:
        if not sys.stdin.readline():
            break
        print(count, flush=True)
    if sock in ready:
        try:
            while True:
                sock.recv(65536)
                count += 1
        except BlockingIOError:
            pass
"""


class SyslogSink:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SINK], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)  # fmt: skip
        self.port = int(self.proc.stdout.readline())  # type: ignore[union-attr]

    def received(self) -> int:
        self.proc.stdin.write("?\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return int(self.proc.stdout.readline())  # type: ignore[union-attr]

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_one(starter, label: str, args: argparse.Namespace, work: Path, backend_port: int,  # noqa: ANN001
            syslog: int | None, httplog: bool | None) -> dict | None:
    started = starter(work, args.mode, backend_port, syslog, httplog)
    if started is None:
        print(f"{label}: not installed, skipped", file=sys.stderr)
        return None
    proc, port = started
    try:
        return measure(label, proc, port, args.seconds, args.connections)
    finally:
        stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["tcp", "http"], default="tcp")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--syslog", action="store_true",
                        help="cost of logging: option httplog to a UDP syslog sink vs no logging, for both proxies")
    parser.add_argument("--floor", action="store_true",
                        help="mode http: also run tools/python_floor.py, the least a Python proxy does per request")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole comparison (a table per run)")
    parser.add_argument("--track", action="store_true",
                        help="mode http: cost of `http-request track-sc0 src` and a sc_http_req_rate rule "
                        "(both proxies)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    backend, backend_port, backend_name = start_backend(work)
    try:
        for number in range(1, args.runs + 1):
            if args.runs > 1:
                print(f"\nrun {number} of {args.runs}")
            if args.syslog:
                print_syslog_table(args, backend_name, run_syslog(args, work, backend_port))
                continue
            if args.track:
                print_track_table(args, backend_name, run_track(args, work, backend_port))
                continue
            starters = [(start_haproxy, "haproxy"), (start_lb, "lb")]
            if args.floor and args.mode == "http":
                starters.append((start_floor, "python floor"))
            results = [row for starter, label in starters
                       if (row := run_one(starter, label, args, work, backend_port, None, None)) is not None]
            print_table(args, backend_name, results)
    finally:
        stop(backend)
    return 0


def run_syslog(args: argparse.Namespace, work: Path, backend_port: int) -> list[dict]:
    """Each proxy without logging, then with httplog to the sink; lines received per request checked."""
    sink = SyslogSink()
    rows = []
    try:
        for starter, label in ((start_haproxy, "haproxy"), (start_lb, "lb")):
            quiet = run_one(starter, label, args, work, backend_port, None, False)
            if quiet is None:
                continue
            before = sink.received()
            logged = run_one(starter, label, args, work, backend_port, sink.port, True)
            time.sleep(0.5)  # the last datagrams
            assert logged is not None
            rows.append({"name": label, "without": quiet, "with": logged,
                         "lines": sink.received() - before, "requests": logged["requests_total"]})
    finally:
        sink.close()
    return rows


def run_track(args: argparse.Namespace, work: Path, backend_port: int) -> list[dict]:
    """Each proxy as configured, then with the stick-table rate limit."""
    global TRACK
    rows = []
    for starter, label in ((start_haproxy, "haproxy"), (start_lb, "lb")):
        TRACK = False
        plain = run_one(starter, label, args, work, backend_port, None, None)
        if plain is None:
            continue
        TRACK = True
        tracked = run_one(starter, label, args, work, backend_port, None, None)
        TRACK = False
        rows.append({"name": label, "without": plain, "with": tracked})
    return rows


def print_track_table(args: argparse.Namespace, backend_name: str, rows: list[dict]) -> None:
    print(f"\n{time.strftime('%Y-%m-%d')}  mode {args.mode}: without vs with track-sc0 src + a sc_http_req_rate "
          f"rule, {args.connections} keep-alive connections, {args.seconds}s each, backend {backend_name}")
    print("| proxy | req/s without | req/s with | CPU µs/req without | CPU µs/req with | delta µs/req |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        plain, tracked = row["without"], row["with"]
        print(f"| {row['name']} | {plain['rps']:,.0f} | {tracked['rps']:,.0f} | {plain['cpu_us']:.1f} "
              f"| {tracked['cpu_us']:.1f} | {tracked['cpu_us'] - plain['cpu_us']:+.1f} |")


def print_syslog_table(args: argparse.Namespace, backend_name: str, rows: list[dict]) -> None:
    print(f"\n{time.strftime('%Y-%m-%d')}  mode {args.mode}: no logging vs option httplog to UDP syslog, "
          f"{args.connections} keep-alive connections, {args.seconds}s each, backend {backend_name}, "
          f"1 worker vs nbthread 1, {os.cpu_count()} CPUs")  # fmt: skip
    print("| proxy | req/s without | req/s with | CPU µs/req without | CPU µs/req with | delta µs/req "
          "| lines received / requests |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        quiet, logged = row["without"], row["with"]
        print(f"| {row['name']} | {quiet['rps']:,.0f} | {logged['rps']:,.0f} | {quiet['cpu_us']:.1f} "
              f"| {logged['cpu_us']:.1f} | {logged['cpu_us'] - quiet['cpu_us']:+.1f} "
              f"| {row['lines']:,} / {row['requests']:,.0f} |")  # fmt: skip


def print_table(args: argparse.Namespace, backend_name: str, results: list[dict]) -> None:
    logging = " + httplog to UDP syslog" if args.syslog else (" + httplog" if args.mode == "http" else "")
    print(f"\n{time.strftime('%Y-%m-%d')}  mode {args.mode}{logging}, {args.connections} keep-alive connections, "
          f"{args.seconds}s, backend {backend_name}, 1 worker vs nbthread 1, {os.cpu_count()} CPUs")  # fmt: skip
    print("| proxy | req/s | CPU µs/req |")
    print("|---|---:|---:|")
    for row in results:
        print(f"| {row['name']} | {row['rps']:,.0f} | {row['cpu_us']:.1f} |")
    by_name = {row["name"]: row for row in results}
    if "lb" in by_name and "haproxy" in by_name and by_name["haproxy"]["rps"]:
        ratio = by_name["lb"]["rps"] / by_name["haproxy"]["rps"]
        cpu_ratio = by_name["lb"]["cpu_us"] / by_name["haproxy"]["cpu_us"] if by_name["haproxy"]["cpu_us"] else 0
        print(f"| lb / haproxy | {ratio:.2f} | {cpu_ratio:.1f}x |")
    if "python floor" in by_name and "haproxy" in by_name and by_name["haproxy"]["rps"]:
        floor = by_name["python floor"]
        print(f"| python floor / haproxy | {floor['rps'] / by_name['haproxy']['rps']:.2f} | "
              f"{floor['cpu_us'] / by_name['haproxy']['cpu_us']:.1f}x |")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
