#!/usr/bin/env python3
"""Benchmark lb against HAProxy on the same backend, in the same run (tool, not a test).

    python tools/bench.py --mode tcp            # keep-alive HTTP through a TCP tunnel
    python tools/bench.py --mode http           # HTTP proxying, option httplog on both
    python tools/bench.py --mode http --syslog  # ... with httplog lines sent to a UDP syslog

Backend: nginx when installed (a tiny static response), else a built-in
keep-alive server.  Load: wrk when installed (else a small Python client).
Both proxies run with one worker (lb `nbproc 1`, HAProxy `nbthread 1`).
CPU per request is the proxy processes' user+system time over the run
divided by the requests served.  Everything runs on 127.0.0.1.
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

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def proxy_config(mode: str, port: int, backend: int, syslog: int | None, threads_kw: str) -> str:
    log = f"    log 127.0.0.1:{syslog} local0\n" if syslog else ""
    logopt = "    option httplog\n" if mode == "http" else ""
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
    default_backend be
backend be
    server s1 127.0.0.1:{backend}
"""


def start_lb(work: Path, mode: str, backend: int, syslog: int | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = work / "lb.cfg"
    conf.write_text(proxy_config(mode, port, backend, syslog, "nbproc"))
    proc = subprocess.Popen([sys.executable, "-m", "lb", "start", "--foreground", "-f", str(conf)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_port(port)
    time.sleep(0.5)
    return proc, port


def start_haproxy(work: Path, mode: str, backend: int, syslog: int | None) -> tuple[subprocess.Popen, int] | None:
    haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if not haproxy:
        return None
    port = free_port()
    conf = work / "haproxy.cfg"
    conf.write_text(proxy_config(mode, port, backend, syslog, "nbthread"))
    proc = subprocess.Popen([haproxy, "-db", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    time.sleep(0.3)
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
    run_wrk(port, 2, connections)  # warm-up
    cpu_before = cpu_seconds(pids)
    started = time.monotonic()
    requests = run_wrk(port, seconds, connections)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pids) - cpu_before
    return {
        "name": name,
        "rps": requests / elapsed if elapsed else 0,
        "cpu_us": cpu / requests * 1e6 if requests else 0,
    }


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def syslog_sink() -> tuple[socket.socket, int]:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return sink, sink.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["tcp", "http"], default="tcp")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--syslog", action="store_true", help="send traffic logs to a UDP syslog sink")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    backend, backend_port, backend_name = start_backend(work)
    sink, sink_port = syslog_sink() if args.syslog else (None, None)
    results = []
    try:
        for starter, label in ((start_haproxy, "haproxy"), (start_lb, "lb")):
            started = starter(work, args.mode, backend_port, sink_port)
            if started is None:
                print(f"{label}: not installed, skipped", file=sys.stderr)
                continue
            proc, port = started
            try:
                results.append(measure(label, proc, port, args.seconds, args.connections))
            finally:
                stop(proc)
    finally:
        stop(backend)
        if sink is not None:
            sink.close()
    print_table(args, backend_name, results)
    return 0


def print_table(args: argparse.Namespace, backend_name: str, results: list[dict]) -> None:
    logging = " + httplog to UDP syslog" if args.syslog else (" + httplog" if args.mode == "http" else "")
    print(f"\n{time.strftime('%Y-%m-%d')}  mode {args.mode}{logging}, {args.connections} keep-alive connections, "
          f"{args.seconds}s, backend {backend_name}, 1 worker vs nbthread 1, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"| proxy | req/s | CPU µs/req |")
    print(f"|---|---:|---:|")
    for row in results:
        print(f"| {row['name']} | {row['rps']:,.0f} | {row['cpu_us']:.1f} |")
    by_name = {row["name"]: row for row in results}
    if "lb" in by_name and "haproxy" in by_name and by_name["haproxy"]["rps"]:
        ratio = by_name["lb"]["rps"] / by_name["haproxy"]["rps"]
        cpu_ratio = by_name["lb"]["cpu_us"] / by_name["haproxy"]["cpu_us"] if by_name["haproxy"]["cpu_us"] else 0
        print(f"| lb / haproxy | {ratio:.2f} | {cpu_ratio:.1f}x |")


if __name__ == "__main__":
    sys.exit(main())
