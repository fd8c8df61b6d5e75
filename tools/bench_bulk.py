#!/usr/bin/env python3
"""mode tcp bulk transfer throughput: lb against HAProxy on the same backend, in the same run (tool, not a test).

    python tools/bench_bulk.py                    # 4 GiB download, 3 runs, with and without splicing
    python tools/bench_bulk.py --size 1 --runs 1  # a quick look (GiB)
    python tools/bench_bulk.py --splice-option splice-response

A source process sends SIZE bytes per connection with sendfile(2) from a
page-cached file; the client (this process) discards them in the kernel
(recv with MSG_TRUNC) and checks the count.  Each run measures, in order:
the direct connection (the loopback's ceiling with this client and
source), then lb and HAProxy without splicing, then both with `option
<splice-option>` (default splice-response: HAProxy 2.6's splice-auto did
not engage on this download in our runs, lb's did).  Both proxies run one worker (lb
`nbproc 1`, HAProxy `nbthread 1`).  CPU is the proxy's user+system time
per GiB moved.  Everything runs on 127.0.0.1; on a 2-core machine the
source, the client and the proxy share the cores, so compare within a run.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import REPO, cpu_seconds, free_port, launch_proxy, process_tree, stop, threads_keyword  # noqa: E402

GIB = 1 << 30
FILE_SIZE = 64 << 20

# The source: accepts connections one after the other, sends `size` bytes on each, closes.
SOURCE = """
import os, socket, sys
size, path = int(sys.argv[1]), sys.argv[2]
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
fd = os.open(path, os.O_RDONLY)
file_size = os.fstat(fd).st_size
while True:
    conn, _ = listener.accept()
    left = size
    try:
        while left:
            offset = (size - left) % file_size
            left -= os.sendfile(conn.fileno(), fd, offset, min(left, file_size - offset))
    except OSError:
        pass
    conn.close()
"""


def proxy_config(port: int, backend: int, threads_kw: str, splice: str | None) -> str:
    option = f"    option {splice}\n" if splice else ""
    return f"""global
    {threads_kw} 1
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
{option}
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{backend}
"""


def start_proxy(name: str, work: Path, backend: int, splice: str | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    return launch_proxy(name, work, port, proxy_config(port, backend, threads_keyword(name), splice)), port


def download(port: int, size: int) -> float:
    """Seconds to receive exactly `size` bytes through `port` (discarded in the kernel)."""
    buffer = bytearray(1 << 20)
    received = 0
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        while True:
            count = sock.recv_into(buffer, len(buffer), socket.MSG_TRUNC)
            if not count:
                break
            received += count
    elapsed = time.monotonic() - started
    if received != size:
        raise RuntimeError(f"received {received} bytes, expected {size}")
    return elapsed


def measure(label: str, port: int, size: int, pids: list[int]) -> dict:
    cpu_before = cpu_seconds(pids)
    elapsed = download(port, size)
    cpu = cpu_seconds(pids) - cpu_before
    return {"name": label, "mib_s": size / elapsed / (1 << 20), "cpu_s_gib": cpu / (size / GIB)}


def one_run(work: Path, source_port: int, size: int, splice_option: str) -> list[dict]:
    rows = [measure("direct", source_port, size, [])]
    for splice in (None, splice_option):
        for name in ("lb", "haproxy"):
            proc, port = start_proxy(name, work, source_port, splice)
            try:
                label = f"{name} {'option ' + splice if splice else 'copy'}"
                rows.append(measure(label, port, size, process_tree(proc.pid)))
            finally:
                stop(proc)
    return rows


def print_run(number: int, rows: list[dict]) -> None:
    by_name = {row["name"]: row for row in rows}
    print(f"\nrun {number}")
    print("| path | MiB/s | proxy CPU s/GiB | lb / haproxy throughput |")
    print("|---|---:|---:|---:|")
    for row in rows:
        ratio = ""
        if row["name"].startswith("lb "):
            other = by_name.get("haproxy " + row["name"][3:])
            ratio = f"{row['mib_s'] / other['mib_s']:.2f}" if other else ""
        cpu = f"{row['cpu_s_gib']:.2f}" if row["name"] != "direct" else "-"
        print(f"| {row['name']} | {row['mib_s']:,.0f} | {cpu} | {ratio} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=4, help="GiB per transfer (default 4)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--splice-option", default="splice-response",
                        choices=["splice-auto", "splice-request", "splice-response"])
    args = parser.parse_args()
    size = int(args.size * GIB)
    work = Path(tempfile.mkdtemp(prefix="lb-bench-bulk-"))
    data = work / "data"
    data.write_bytes(os.urandom(FILE_SIZE))
    source = subprocess.Popen([sys.executable, "-c", SOURCE, str(size), str(data)], stdout=subprocess.PIPE, text=True)
    try:
        source_port = int(source.stdout.readline())  # type: ignore[union-attr]
        engine = subprocess.run([sys.executable, "-c", "from lb.engine import engine; print(engine())"],
                                cwd=REPO, capture_output=True, text=True).stdout.strip()  # fmt: skip
        print(f"{time.strftime('%Y-%m-%d')}  mode tcp bulk download, {args.size:g} GiB per transfer, lb engine "
              f"{engine}, 1 worker vs nbthread 1, {os.cpu_count()} CPUs")  # fmt: skip
        for number in range(1, args.runs + 1):
            print_run(number, one_run(work, source_port, size, args.splice_option))
    finally:
        stop(source)
        data.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
