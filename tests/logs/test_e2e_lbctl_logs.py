"""`lbctl logs` on what a running lb wrote: a file of its stdout lines, and its syslog datagrams received live.

One lb (3 workers) logs every frontend twice: `log stdout format raw` (the
file the `--file` tests read) and `log 127.0.0.1:PORT local0`, where
`lbctl logs --listen` is already waiting.  The traffic mixes 200, 404, 503
NOSRV, slow responses and TCP sessions over four backends.  Each filter's
output is checked against the lines themselves, parsed here independently
of lb.logs.reader (split on spaces), so a reader bug cannot hide a filter bug.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.logs.e2e_lab import Backends, exchange, http_get
from tests.logs.e2e_support import free_udp_port
from tests.support import LbProcess, free_port, wait_until

CONFIG = """
global
    nbproc 3
defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    log stdout format raw local0
    log 127.0.0.1:{udp} local0
frontend ft_app
    mode http
    bind 127.0.0.1:{app}
    option httplog
    use_backend bk_slow if {{ path_beg /slow }}
    use_backend bk_down if {{ path_beg /down }}
    default_backend bk_app
frontend ft_tcp
    mode tcp
    bind 127.0.0.1:{tcp}
    option tcplog
    default_backend bk_tcp
backend bk_app
    mode http
    server web1 127.0.0.1:{b_web}
backend bk_slow
    mode http
    server slow1 127.0.0.1:{b_web}
backend bk_down
    mode http
    server gone 127.0.0.1:{b_web} disabled
backend bk_tcp
    mode tcp
    server echo1 127.0.0.1:{b_echo}
"""
TRAFFIC = ([("app", "/index.html")] * 6 + [("app", "/slow/a"), ("app", "/slow/b")]
           + [("app", "/down/x")] * 3 + [("tcp", "")] * 2)  # fmt: skip
ENV = {**os.environ, "TZ": "UTC"}
LBCTL_LOGS = [sys.executable, "-m", "lb", "logs"]


class Listener:
    """`lbctl logs --listen ADDR --json --max-lines N`, started before lb sends anything."""

    def __init__(self, port: int, expected: int) -> None:
        self.proc = subprocess.Popen([*LBCTL_LOGS, "--listen", f"127.0.0.1:{port}", "--json", "--max-lines",
                                      str(expected)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=ENV)  # fmt: skip
        wait_until(lambda: _udp_taken(port) or self.proc.poll() is not None, 20, what="lbctl logs --listen bound")
        assert self.proc.poll() is None, self.proc.communicate()

    def result(self) -> tuple[list[dict], str]:
        try:
            out, err = self.proc.communicate(timeout=20)
        finally:
            self.proc.kill()
        assert self.proc.returncode == 0, err
        return [json.loads(line) for line in out.splitlines()], err


def _udp_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Logged:
    """The running lb, its traffic done: stdout lines in a file, the listener's output."""

    def __init__(self, directory: Path) -> None:
        self.backends = Backends()
        udp = free_udp_port()
        self.listener = Listener(udp, expected=len(TRAFFIC))
        ports = {"app": free_port(), "tcp": free_port(), "udp": udp, **self.backends.ports}
        self.lb = LbProcess(directory, CONFIG.format(**ports)).start()
        try:
            play(ports)
            wait_until(lambda: len(self.lb.stdout_lines) >= len(TRAFFIC), 10, what="every traffic line")
            self.lines = list(self.lb.stdout_lines)
            self.received, self.listener_stderr = self.listener.result()
        finally:
            self.lb.stop()
            self.backends.close()
        self.file = directory / "lb.log"
        self.file.write_text("\n".join(self.lines) + "\n")


def play(ports: dict[str, int]) -> None:
    """The traffic, the two slow requests in parallel with the rest (they wait on the backend)."""
    threads = []
    for frontend, path in TRAFFIC:
        if frontend == "tcp":
            exchange(ports["tcp"], b"ping\n")
        elif path.startswith("/slow"):
            threads.append(threading.Thread(target=http_get, args=(ports["app"], path)))
            threads[-1].start()
        else:
            http_get(ports["app"], path)
    for thread in threads:
        thread.join(10)


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Logged]:
    yield Logged(tmp_path_factory.mktemp("lbctl-logs"))


def lbctl_logs(*args: str) -> list[str]:
    result = subprocess.run([*LBCTL_LOGS, *args], capture_output=True, text=True, timeout=60, env=ENV)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


# -- the lines, read here without lb.logs.reader ----------------------------------------------------


def is_http(line: str) -> bool:
    return line.endswith('"')


def backend(line: str) -> str:
    return line.split()[3].split("/")[0]


def status(line: str) -> int:
    return int(line.split()[5]) if is_http(line) else 0


def took(line: str) -> int:
    """Ta for httplog, Tt for tcplog."""
    return int(line.split()[4].split("/")[-1])


def test_the_running_lb_wrote_what_was_played(logged: Logged) -> None:
    assert len(logged.lines) == len(TRAFFIC)
    counts = {name: sum(backend(line) == name for line in logged.lines) for name in ("bk_app", "bk_slow", "bk_down",
                                                                                       "bk_tcp")}  # fmt: skip
    assert counts == {"bk_app": 6, "bk_slow": 2, "bk_down": 3, "bk_tcp": 2}


def test_status_filter(logged: Logged) -> None:
    out = lbctl_logs("--file", str(logged.file), "--status", "5xx")
    assert out == [line for line in logged.lines if 500 <= status(line) < 600]
    assert len(out) == 3 and all(" 503 " in line and "SC--" in line for line in out)


def test_backend_filter(logged: Logged) -> None:
    assert lbctl_logs("--file", str(logged.file), "--backend", "bk_tcp") == [
        line for line in logged.lines if backend(line) == "bk_tcp"]
    assert len(lbctl_logs("--file", str(logged.file), "--backend", "bk_app")) == 6


def test_slower_than(logged: Logged) -> None:
    """Exactly the lines whose Ta (http) or Tt (tcp) exceeds the limit, the slow backend's among them."""
    out = lbctl_logs("--file", str(logged.file), "--slower-than", "500ms")
    assert out == [line for line in logged.lines if took(line) > 500]
    assert sum(backend(line) == "bk_slow" for line in out) == 2  # the backend sleeps 1 s on /slow


def test_json(logged: Logged) -> None:
    records = [json.loads(line) for line in lbctl_logs("--file", str(logged.file), "--json")]
    assert len(records) == len(logged.lines)
    for record, line in zip(records, logged.lines):
        fields = line.split()
        assert record["client_ip"] == fields[0].rsplit(":", 1)[0]
        assert record["client_port"] == int(fields[0].rsplit(":", 1)[1])
        assert record["frontend"] == fields[2] and record["backend"] == backend(line)
        assert record["server"] == (None if fields[3].endswith("/<NOSRV>") else fields[3].split("/")[1])
        if is_http(line):
            assert (record["style"], record["status"], record["t_active"]) == ("httplog", status(line), took(line))
            assert record["request_line"] == line.split('"')[1] and record["method"] == "GET"
            assert record["term_state"] + record["cookie_flags"] == fields[9]
        else:
            assert (record["style"], record["t_total"], record["term_state"]) == ("tcplog", took(line), fields[6])


def nearest_rank(values: list[int], p: int) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def test_summary_percentiles_per_backend(logged: Logged) -> None:
    (row_text,) = lbctl_logs("--file", str(logged.file), "--summary", "--json")
    rows = {row["backend"]: row for row in json.loads(row_text)["backends"]}
    assert set(rows) == {"bk_app", "bk_slow", "bk_down", "bk_tcp"}
    for name, row in rows.items():
        mine = [line for line in logged.lines if backend(line) == name]
        durations = [took(line) for line in mine]
        assert row["requests"] == len(mine)
        assert (row["p50"], row["p90"], row["p99"]) == tuple(nearest_rank(durations, p) for p in (50, 90, 99)), name
    assert (rows["bk_down"]["5xx"], rows["bk_down"]["errors"]) == (3, 3)
    assert (rows["bk_app"]["2xx"], rows["bk_app"]["errors"]) == (6, 0)
    table = lbctl_logs("--file", str(logged.file), "--summary")
    assert table[0].split()[:2] == ["backend", "requests"] and len(table) == 5
    assert [line.split()[0] for line in table[1:]] == sorted(rows)


def test_listen_receives_the_running_lbs_datagrams(logged: Logged) -> None:
    """The same sessions, received as syslog datagrams from every worker, tagged with the master's pid."""
    received = logged.received
    assert len(received) == len(logged.lines), logged.listener_stderr
    assert {(r["syslog_tag"], r["syslog_pid"], r["syslog_facility"], r["syslog_level"]) for r in received} == {
        ("lb", logged.lb.pid, "local0", "info")}
    ours = sorted((r["client_port"], r["backend"], r.get("status", 0)) for r in received)
    assert ours == sorted((int(line.split()[0].rsplit(":", 1)[1]), backend(line), status(line))
                          for line in logged.lines)  # fmt: skip
