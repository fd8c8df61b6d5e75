#!/usr/bin/env python3
"""Benchmark the health checker: CPU use and spread of check start times (tool, not a test).

    python tools/bench_checker.py                       # 500 servers, 50 backends, inter 1s, 20 s
    python tools/bench_checker.py --spread-checks 5     # with 5% jitter on every interval
    python tools/bench_checker.py --servers 1000 --kind tcp-check

One helper process listens on N loopback ports and accepts/closes every
connection, noting when each arrives (= when a check starts).  The checker
runs in a forked child exactly as the master runs it (`run_checker` on a
ShmTable seeded by `seed_health`).  Reported:

- CPU of the checker process over the measured window (utime+stime from
  /proc/<pid>/stat), as a percentage of one core;
- checks per second and failed checks (from shm srv_checks);
- where checks start within the interval: a histogram of arrival times
  modulo `inter` in 10 bins, their spread (stddev / mean of the bin
  counts; 0 = perfectly even) and the busiest 10 ms of the interval;
- the per-server interval between two checks (mean and stddev).
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lb.checker import run_checker, seed_health  # noqa: E402
from lb.config.parser import parse_files  # noqa: E402
from lb.shm.table import ShmTable  # noqa: E402
from lb.util import reset_signals  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SLOT = 1


def listen_many(count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        socks.append(sock)
    return socks


def serve(socks: list[socket.socket], log_path: str, stop_after: float) -> None:
    """Child: accept and close on every port, write `<port> <monotonic ms>` per connection."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + stop_after
    with open(log_path, "w") as log:
        while time.monotonic() < deadline:
            for key, _mask in selector.select(0.2):
                try:
                    conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                except OSError:
                    continue
                log.write(f"{key.fileobj.getsockname()[1]} {time.monotonic() * 1000:.3f}\n")  # type: ignore[union-attr]
                conn.close()


def write_config(path: Path, ports: list[int], backends: int, inter: str, spread: int, kind: str) -> None:
    lines = ["global", f"    spread-checks {spread}" if spread else "", "defaults", "    mode tcp",
             "    timeout connect 1s", "    timeout client 5s", "    timeout server 5s"]
    per_backend = len(ports) // backends
    for b in range(backends):
        lines.append(f"backend be{b}")
        if kind == "tcp-check":
            lines += ["    option tcp-check", "    tcp-check connect"]
        for s, port in enumerate(ports[b * per_backend:(b + 1) * per_backend]):
            lines.append(f"    server s{s} 127.0.0.1:{port} check inter {inter}")
    path.write_text("\n".join(lines) + "\n")


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def fork_checker(config, shm: ShmTable) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            reset_signals()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            sys.stderr = open(2, "w", closefd=False)
            run_checker(config, shm, SLOT, os.getppid())
            code = 0
        finally:
            os._exit(code)
    return pid


def analyse(log_path: str, window: tuple[float, float], inter_ms: float) -> dict:
    arrivals: dict[int, list[float]] = {}
    with open(log_path) as fh:
        for line in fh:
            port, when = line.split()
            arrivals.setdefault(int(port), []).append(float(when))
    inside = [t for times in arrivals.values() for t in times if window[0] <= t < window[1]]
    bins = [0] * 10
    millis = [0] * int(inter_ms)
    for t in inside:
        phase = (t - window[0]) % inter_ms
        bins[int(phase * 10 // inter_ms)] += 1
        millis[int(phase)] += 1
    busiest = max(sum(millis[(i + k) % len(millis)] for k in range(10)) for i in range(len(millis)))
    gaps = [b - a for times in arrivals.values() for a, b in zip(times, times[1:]) if window[0] <= a < window[1]]
    firsts = sorted(times[0] for times in arrivals.values())
    return {
        "checks": len(inside), "bins": bins,
        "bin_cv": statistics.pstdev(bins) / statistics.mean(bins) if sum(bins) else 0.0,
        "busiest_10ms": busiest / max(1.0, (window[1] - window[0]) / inter_ms),  # per interval
        "gap_mean": statistics.mean(gaps) if gaps else 0.0, "gap_stdev": statistics.pstdev(gaps) if gaps else 0.0,
        "first_span": (firsts[-1] - firsts[0]) if firsts else 0.0, "servers_seen": len(arrivals),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=500)
    parser.add_argument("--backends", type=int, default=50)
    parser.add_argument("--inter", default="1s")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds ignored at the start")
    parser.add_argument("--spread-checks", type=int, default=0)
    parser.add_argument("--kind", choices=("check", "tcp-check"), default="check")
    args = parser.parse_args()
    inter_ms = float(args.inter[:-2]) if args.inter.endswith("ms") else float(args.inter.rstrip("s")) * 1000

    socks = listen_many(args.servers)
    ports = [sock.getsockname()[1] for sock in socks]
    tmp = Path(tempfile.mkdtemp(prefix="bench_checker_"))
    arrivals_path = str(tmp / "arrivals.log")
    total = args.warmup + args.seconds + 1.0
    server_pid = os.fork()
    if server_pid == 0:
        try:
            serve(socks, arrivals_path, total + 2.0)
        finally:
            os._exit(0)
    for sock in socks:
        sock.close()

    config_path = tmp / "bench.cfg"
    write_config(config_path, ports, args.backends, args.inter, args.spread_checks, args.kind)
    config = parse_files([str(config_path)])
    if config.alerts:
        sys.exit("\n".join(d.message for d in config.alerts))
    shm = ShmTable(1, 2, len(config.all_servers()), len(config.backends), len(config.proxies()))
    for index, (_backend, server) in enumerate(config.all_servers()):
        shm.srv_weight[index] = server.weight
    seed_health(shm, config)

    checker = fork_checker(config, shm)
    time.sleep(args.warmup)
    cpu0, wall0 = cpu_ticks(checker), time.monotonic()
    time.sleep(args.seconds)
    cpu1, wall1 = cpu_ticks(checker), time.monotonic()
    runs = sum(shm.srv_checks[i] & 0xFFFFFFFF for i in range(args.servers))
    failed = sum(shm.srv_checks[i] >> 32 for i in range(args.servers))
    down = sum(1 for i in range(args.servers) if not shm.srv_up[i])
    os.kill(checker, signal.SIGTERM)
    os.waitpid(checker, 0)
    os.waitpid(server_pid, 0)

    cpu_percent = (cpu1 - cpu0) / CLK_TCK / (wall1 - wall0) * 100
    stats = analyse(arrivals_path, (wall0 * 1000, wall1 * 1000), inter_ms)
    print(f"checker benchmark, {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, kind={args.kind}, spread-checks={args.spread_checks}%")
    print()
    print("| servers | backends | inter | measured | checks/s | checker CPU (% of one core) | failed | down |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.servers} | {args.backends} | {args.inter} | {wall1 - wall0:.1f} s | "
          f"{stats['checks'] / (wall1 - wall0):.1f} | {cpu_percent:.1f} % | {failed} | {down} |")
    print()
    print(f"check starts within the interval, 10 bins of {inter_ms / 10:.0f} ms: {stats['bins']}")
    print(f"  spread of bin counts (stddev/mean, 0 = even): {stats['bin_cv']:.3f}; "
          f"busiest 10 ms holds {stats['busiest_10ms']:.1f} checks per interval "
          f"(even would be {args.servers / inter_ms * 10:.1f})")
    print(f"first checks of {stats['servers_seen']} servers spread over {stats['first_span']:.0f} ms")
    print(f"per-server interval: mean {stats['gap_mean']:.1f} ms, stddev {stats['gap_stdev']:.1f} ms; "
          f"total checks run {runs}")


if __name__ == "__main__":
    main()
