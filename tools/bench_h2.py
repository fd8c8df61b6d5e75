#!/usr/bin/env python3
"""HTTP/2 clients on a TLS bind: lb against HAProxy with h2load, in the same run (tool, not a test).

    python tools/bench_h2.py [--requests 50000] [--clients 10] [--streams 10] [--runs 3]

Both proxies terminate TLS on `bind ... ssl crt ... alpn h2,http/1.1` (a
self-signed certificate made here with openssl) and forward HTTP/1.1 to the
same nginx backend (tools/bench.py's), one worker against `nbthread 1`.
h2load (Debian `nghttp2-client`) opens `--clients` connections with
`--streams` concurrent streams each.  CPU per request is the proxy's
user+system time over the run divided by the requests served.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import cpu_seconds, free_port, launch_proxy, process_tree, start_backend, stop, threads_keyword  # noqa: E402

CONFIG = """global
    {threads} 1
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port} ssl crt {pem} alpn h2,http/1.1
    default_backend be
backend be
    server s1 127.0.0.1:{backend}
"""


def certificate(work: Path) -> Path:
    key, cert, pem = work / "b.key", work / "b.crt", work / "b.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=bench.test"], check=True, capture_output=True)  # fmt: skip
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    return pem


def start(kind: str, work: Path, pem: Path, backend: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    config = CONFIG.format(threads=threads_keyword(kind), port=port, pem=pem, backend=backend)
    return launch_proxy(kind, work, port, config), port


def h2load(port: int, requests: int, clients: int, streams: int) -> int:
    out = subprocess.run(["h2load", "-n", str(requests), "-c", str(clients), "-m", str(streams),
                          f"https://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=300).stdout  # fmt: skip
    match = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    if not match or "h2" not in out:
        raise RuntimeError(f"h2load failed:\n{out[-1500:]}")
    return int(match.group(2))


def measure(kind: str, work: Path, pem: Path, backend: int, args: argparse.Namespace) -> dict:
    proc, port = start(kind, work, pem, backend)
    try:
        h2load(port, args.requests // 10, args.clients, args.streams)  # warm-up
        pids = process_tree(proc.pid)
        cpu_before, started = cpu_seconds(pids), time.monotonic()
        done = h2load(port, args.requests, args.clients, args.streams)
        elapsed, cpu = time.monotonic() - started, cpu_seconds(pids) - cpu_before
        return {"name": kind, "rps": done / elapsed, "cpu_us": cpu / done * 1e6, "done": done}
    finally:
        stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        print("Error: h2load is not installed (Debian package nghttp2-client)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="lb-bench-h2-"))
    pem = certificate(work)
    backend, backend_port, backend_name = start_backend(work)
    try:
        print(f"{time.strftime('%Y-%m-%d')}  HTTP/2 over TLS (h2load -c{args.clients} -m{args.streams}, "
              f"{args.requests} requests), backend {backend_name} over HTTP/1.1, 1 worker vs nbthread 1")
        print("| run | HAProxy req/s | lb req/s | lb / HAProxy | CPU µs/req HAProxy | CPU µs/req lb |")
        print("|---|---:|---:|---:|---:|---:|")
        for number in range(1, args.runs + 1):
            haproxy = measure("haproxy", work, pem, backend_port, args)
            lb = measure("lb", work, pem, backend_port, args)
            print(f"| {number} | {haproxy['rps']:,.0f} | {lb['rps']:,.0f} | {lb['rps'] / haproxy['rps']:.2f} "
                  f"| {haproxy['cpu_us']:.1f} | {lb['cpu_us']:.1f} |", flush=True)
    finally:
        stop(backend)
    return 0


if __name__ == "__main__":
    sys.exit(main())
