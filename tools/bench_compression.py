#!/usr/bin/env python3
"""CPU cost of gzip per MB: lb against HAProxy on the same backend and response (tool, not a test).

    python tools/bench_compression.py [--seconds 5] [--size 262144] [--connections 4]

Backend: nginx serving one text file (realistic prose: words drawn from a
fixed vocabulary, so it compresses about 3:1), else a built-in keep-alive
server.  Both proxies run with one worker (lb `nbproc 1`, HAProxy `nbthread
1`), `compression algo gzip` and `compression type text/plain`.  Each proxy
is loaded twice with wrk: without Accept-Encoding (relayed as it is), then
with `Accept-Encoding: gzip`.  CPU is the proxy processes' user+system time
over the run; per MB means per MiB of response body the server sent (the
compressor's input).  The cost of gzip is the difference between the two
runs.  HAProxy 2.6 from Debian compresses with libslz (no window memory, a
fast level-1 encoder); lb with zlib at tune.comp.maxlevel (1).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import cpu_seconds, free_port, launch_proxy, process_tree, stop, threads_keyword, wait_port  # noqa: E402

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an "
         "they you were her she there been one all we their has would when if so no will more time can my into "
         "load balancer server response header compression stream worker frontend backend request client").split()
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    default_type text/plain;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    server {{ listen 127.0.0.1:{port}; root {dir}/www; }}
}}
"""
BUILTIN = """
import socket, sys, threading
body = open(sys.argv[2], "rb").read()
head = b"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body)
def serve(conn):
    buf = b""
    while True:
        while b"\\r\\n\\r\\n" not in buf:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
        buf = buf.split(b"\\r\\n\\r\\n", 1)[1]
        conn.sendall(head + body)
sock = socket.socket(); sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1]))); sock.listen(128)
while True:
    threading.Thread(target=serve, args=(sock.accept()[0],), daemon=True).start()
"""
CONFIG = """global
    {threads_kw} 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    compression algo gzip
    compression type text/plain
    default_backend be
backend be
    server s1 127.0.0.1:{backend}
"""


def prose(size: int) -> bytes:
    rng = random.Random(13)
    words, total = [], 0
    while total < size:
        word = rng.choice(WORDS) + (".\n" if rng.random() < 0.08 else " ")
        words.append(word)
        total += len(word)
    return "".join(words).encode()[:size]


def start_backend(work: Path, size: int) -> tuple[subprocess.Popen, int, str]:
    (work / "www").mkdir()
    page = work / "www" / "page.txt"
    page.write_bytes(prose(size))
    for path in (work, work / "www", page):  # nginx's workers run as nobody
        path.chmod(0o755)
    port = free_port()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx:
        (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port))
        proc = subprocess.Popen([nginx, "-c", str(work / "nginx.conf"), "-e", str(work / "nginx-error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        name = "nginx"
    else:
        proc = subprocess.Popen([sys.executable, "-c", BUILTIN, str(port), str(page)])
        name = "built-in"
    wait_port(port)
    return proc, port, name


def start_proxy(work: Path, which: str, backend: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    config = CONFIG.format(threads_kw=threads_keyword(which), port=port, backend=backend)
    return launch_proxy(which, work, port, config), port


def wrk(port: int, seconds: int, connections: int, gzip: bool) -> tuple[int, float]:
    """(requests, MiB transferred to the client)."""
    header = ["-H", "Accept-Encoding: gzip"] if gzip else []
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *header,
                          f"http://127.0.0.1:{port}/page.txt"], capture_output=True, text=True,
                         timeout=seconds + 30).stdout  # fmt: skip
    requests = re.search(r"(\d+) requests in", out)
    read = re.search(r"requests in [\d.]+\w+, ([\d.]+)(\w+) read", out)
    if not requests or not read or "Non-2xx" in out:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    scale = {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1, "GB": 1024}[read.group(2)]
    return int(requests.group(1)), float(read.group(1)) * scale


def measure(proc: subprocess.Popen, port: int, args: argparse.Namespace, gzip: bool) -> dict[str, float]:
    pids = process_tree(proc.pid)
    wrk(port, 1, args.connections, gzip)  # warm up
    before = cpu_seconds(pids)
    requests, wire_mib = wrk(port, args.seconds, args.connections, gzip)
    cpu = cpu_seconds(pids) - before
    body_mib = requests * args.size / 2**20
    return {"requests": requests, "body_mib": body_mib, "wire_mib": wire_mib, "cpu": cpu,
            "cpu_ms_per_mib": cpu * 1000 / body_mib if body_mib else 0.0}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--size", type=int, default=256 * 1024, help="response body size in bytes")
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is required (apt-get install wrk)", file=sys.stderr)
        return 2
    proxies = ["lb"] + (["haproxy"] if shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists() else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        backend, backend_port, backend_name = start_backend(work, args.size)
        try:
            for which in proxies:
                proc, port = start_proxy(work, which, backend_port)
                try:
                    plain, gzip = measure(proc, port, args, False), measure(proc, port, args, True)
                finally:
                    stop(proc)
                rows.append((which, plain, gzip))
        finally:
            stop(backend)
    print(f"# {time.strftime('%Y-%m-%d')}, backend {backend_name}, body {args.size} bytes of text/plain, "
          f"{args.connections} connections, {args.seconds}s per run, one worker / nbthread 1")
    print("| proxy | relay CPU ms/MiB | gzip CPU ms/MiB | gzip cost ms/MiB | ratio | MiB/s gzip |")
    print("|---|---:|---:|---:|---:|---:|")
    for which, plain, gzip in rows:
        ratio = gzip["body_mib"] / gzip["wire_mib"] if gzip["wire_mib"] else 0.0
        print(f"| {which} | {plain['cpu_ms_per_mib']:.2f} | {gzip['cpu_ms_per_mib']:.2f} | "
              f"{gzip['cpu_ms_per_mib'] - plain['cpu_ms_per_mib']:.2f} | {ratio:.2f} | "
              f"{gzip['body_mib'] / args.seconds:.1f} |")  # fmt: skip
    if len(rows) == 2:
        cost = [gzip["cpu_ms_per_mib"] - plain["cpu_ms_per_mib"] for _, plain, gzip in rows]
        print(f"\nlb / HAProxy, CPU cost of gzip per MiB: {cost[0] / cost[1]:.1f}x" if cost[1] > 0 else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
