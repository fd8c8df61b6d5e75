#!/usr/bin/env python3
"""Memory of idle keep-alive HTTP client connections: lb's worker against HAProxy (tool, not a test).

    python tools/bench_idle_rss.py                  # 9,500 connections, 3 runs
    python tools/bench_idle_rss.py --connections 2000 --runs 1

Each proxy (lb `nbproc 1`, HAProxy `nbthread 1`, mode http, nginx behind)
gets `--connections` client connections, each of which sends one GET,
reads its response and then stays open, idle.  Both run `option
http-server-close` and `ulimit-n` at this process's limit: 10,000 client
connections plus 10,000 idle server connections would not fit in a
20,000-descriptor hard limit (HAProxy refuses to start when maxconn needs
more than it can get), and the client side is what is measured.  The
default is 9,500 connections, not 10,000: HAProxy 2.6 counts two
descriptors per connection whatever the mode and refuses maxconn 10,100
under a 20,000 limit that this machine does not let even root raise.  The
figure is the growth of the serving process's resident set (VmRSS: lb's
worker, HAProxy's single process) from before the first connection to
the last response (and SETTLE seconds idle), per connection.  Clients spread over source
addresses 127.0.0.2-127.0.0.201 so that no address runs out of ports;
RLIMIT_NOFILE is raised for this process and the proxies (root may raise
the hard limit).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import NGINX_CONF, REPO, free_port, launch_proxy, stop, threads_keyword, wait_port  # noqa: E402

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
BATCH = 500
SETTLE = 3.0  # seconds idle before measuring: past `timeout connect` (2s), whose cancelled timers
#               keep a finished request's objects alive in lb until they expire (workers/loop.py)


def raise_nofile(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_nginx(work: Path, connections: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = NGINX_CONF.format(dir=work, port=port).replace(
        "worker_connections 4096;", f"worker_connections {connections * 2 + 100};")
    conf = conf.replace("worker_processes 1;", f"worker_processes 1;\nworker_rlimit_nofile {connections * 2 + 200};")
    (work / "nginx.conf").write_text(conf)
    proc = subprocess.Popen(["/usr/sbin/nginx", "-c", str(work / "nginx.conf"), "-e", str(work / "nginx-error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_port(port)
    return proc, port


def proxy_config(port: int, backend: int, threads_kw: str, connections: int) -> str:
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return f"""global
    {threads_kw} 1
    maxconn {connections + 100}
    ulimit-n {limit}
defaults
    mode http
    option http-server-close
    timeout connect 2s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{backend}
"""


def start_proxy(name: str, work: Path, backend: int, connections: int) -> tuple[subprocess.Popen, int, int]:
    """(process, port, pid whose RSS counts: lb's worker, HAProxy itself)."""
    port = free_port()
    config = proxy_config(port, backend, threads_keyword(name), connections)
    with open(work / f"{name}.log", "wb") as log:  # the proxy's own messages, when it fails to start
        proc = launch_proxy(name, work, port, config, settle=1.0, output=log)
    return proc, port, worker_of(proc.pid) if name == "lb" else proc.pid


def worker_of(master: int) -> int:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                title = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master and b"worker" in title:
                return int(entry)
    raise RuntimeError("no lb worker found")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def read_response(sock: socket.socket) -> None:
    """One response of the tiny nginx location (Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed before the response")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(4096)


def open_idle(port: int, count: int) -> list[socket.socket]:
    conns: list[socket.socket] = []
    for start in range(0, count, BATCH):
        batch = []
        for index in range(start, min(start + BATCH, count)):
            sock = socket.socket()
            sock.bind((f"127.0.0.{2 + index % 200}", 0))
            sock.connect(("127.0.0.1", port))
            sock.sendall(REQUEST)
            batch.append(sock)
        for sock in batch:
            read_response(sock)
        conns += batch
    return conns


def measure(name: str, work: Path, backend: int, connections: int) -> dict:
    proc, port, pid = start_proxy(name, work, backend, connections)
    try:
        before = rss_kib(pid)
        conns = open_idle(port, connections)
        time.sleep(SETTLE)
        after = rss_kib(pid)
        for sock in conns:
            sock.close()
    finally:
        stop(proc)
    return {"name": name, "before": before, "after": after, "per_conn": (after - before) * 1024 / connections}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=9_500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    raise_nofile(args.connections * 3 + 1000)
    work = Path(tempfile.mkdtemp(prefix="lb-bench-rss-"))
    nginx, backend = start_nginx(work, args.connections)
    engine = subprocess.run([sys.executable, "-c", "from lb.engine import engine; print(engine())"],
                            cwd=REPO, capture_output=True, text=True).stdout.strip()  # fmt: skip
    print(f"{time.strftime('%Y-%m-%d')}  {args.connections:,} idle keep-alive HTTP client connections, "
          f"lb engine {engine}, 1 worker vs nbthread 1; RSS of the serving process")  # fmt: skip
    print("| run | proxy | RSS before (KiB) | RSS after (KiB) | bytes / connection | lb / haproxy |")
    print("|---|---|---:|---:|---:|---:|")
    try:
        for number in range(1, args.runs + 1):
            rows = [measure(name, work, backend, args.connections) for name in ("lb", "haproxy")]
            ratio = rows[0]["per_conn"] / rows[1]["per_conn"] if rows[1]["per_conn"] > 0 else float("nan")
            for row in rows:
                shown = f"{ratio:.2f}" if row["name"] == "lb" else ""
                print(f"| {number} | {row['name']} | {row['before']:,} | {row['after']:,} "
                      f"| {row['per_conn']:,.0f} | {shown} |", flush=True)  # fmt: skip
    finally:
        stop(nginx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
