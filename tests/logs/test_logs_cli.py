"""`lbctl logs` as a real subprocess: files, stdin, follow with rotation, UDP syslog, filters, JSON, summary."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lb.logs.tail import percentile, status_matcher
from tests.logs.recorded import RECORDED, scenario

LBCTL = [sys.executable, "-m", "lb", "logs"]
ENV = {**os.environ, "TZ": "UTC"}
STATE_LINE = scenario("tcp_echo")["lines"][0]  # "Server bk_tcp_down/dead is DOWN, ..."


def recorded_log() -> list[str]:
    lines = [line for item in RECORDED["scenarios"] for line in item["lines"]]
    return lines + [d.rstrip("\n") for item in RECORDED["scenarios"] for d in item["syslog"]]


def lbctl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LBCTL, *args], input=stdin, capture_output=True, text=True, timeout=60, env=ENV)


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "haproxy.log"
    path.write_text("\n".join(recorded_log()) + "\n")
    return path


def test_summary_per_backend(log_file: Path) -> None:
    result = lbctl("--file", str(log_file), "--summary")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:]}
    header = result.stdout.splitlines()[0].split()
    assert header == ["backend", "requests", "1xx", "2xx", "3xx", "4xx", "5xx", "errors", "p50(ms)", "p90(ms)", "p99(ms)"]
    slow = scenario("http_server_timeout")["lines"][0].split()[4].split("/")[-1]  # Ta of the 504 (about 1 s)
    assert rows["bh"] == ["1", "0", "0", "0", "0", "1", "1", slow, slow, slow]
    assert rows["bk_down"][:7] == ["2", "0", "0", "0", "0", "2", "2"]  # two 503 NOSRV
    assert rows["f_pp"][:7] == ["2", "0", "0", "1", "1", "0", "1"]  # redirect and deny: logged as the frontend
    assert rows["bk_tcp_refused"][6:] == ["1"] + [rows["bk_tcp_refused"][7]] * 3  # 3 retries: Tt above 3 s
    assert int(rows["bk_tcp_refused"][7]) >= 3000


def test_summary_as_json(log_file: Path) -> None:
    result = lbctl("--file", str(log_file), "--summary", "--json", "--backend", "bk_http")
    (row,) = json.loads(result.stdout)["backends"]
    assert row["backend"] == "bk_http" and row["requests"] == row["2xx"] >= 5 and row["errors"] == 0


def test_filters(log_file: Path) -> None:
    errors = lbctl("--file", str(log_file), "--status", "5xx").stdout.splitlines()
    assert errors and all(" 50" in line for line in errors)
    assert {" 503 ", " 504 "} == {code for code in (" 503 ", " 504 ") if any(code in line for line in errors)}
    slow = [json.loads(line) for line in lbctl("--file", str(log_file), "--slower-than", "1s", "--json").stdout.splitlines()]
    assert slow and all(max(s.get("t_active", -1), s.get("t_total", -1)) > 1000 for s in slow)
    nosrv = lbctl("--file", str(log_file), "--server", "NOSRV", "--frontend", "ft_http").stdout.splitlines()
    assert nosrv and all("/<NOSRV> " in line and " ft_http " in line for line in nosrv)


def test_unparsed_lines_pass_through_only_without_filters(log_file: Path) -> None:
    assert STATE_LINE in lbctl("--file", str(log_file)).stdout.splitlines()
    assert STATE_LINE not in lbctl("--file", str(log_file), "--backend", "bk_tcp_down").stdout


def test_bad_filter_is_a_usage_error(log_file: Path) -> None:
    result = lbctl("--file", str(log_file), "--status", "5x")
    assert result.returncode == 2 and "invalid status filter '5x'" in result.stderr


def test_stdin_is_the_default_source() -> None:
    line = scenario("http_deny")["lines"][0]
    result = lbctl("--json", stdin=f"{line}\nnot a log line\n")
    (record,) = [json.loads(out) for out in result.stdout.splitlines()]
    assert (record["status"], record["term_state"], record["server"]) == (403, "PR", None)


def test_follow_across_rotation(tmp_path: Path) -> None:
    path = tmp_path / "lb.log"
    lines = [item["lines"][0] for item in RECORDED["scenarios"] if item["frontend"] == "ft_http" and item["lines"]]
    path.write_text(lines[0] + "\n")
    proc = subprocess.Popen([*LBCTL, "-F", "--file", str(path), "--max-lines", "3"], stdout=subprocess.PIPE,
                            text=True, env=ENV)
    try:
        time.sleep(0.5)
        with path.open("a") as fh:
            fh.write(lines[1] + "\n")
        time.sleep(0.5)
        path.rename(tmp_path / "lb.log.1")  # logrotate: move away, start a new file
        path.write_text(lines[2] + "\n")
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert out.splitlines() == lines[:3]


def wait_bound(port: int, deadline: float) -> None:
    """Until the port is taken by the lbctl process (our own bind fails)."""
    while time.monotonic() < deadline:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            return
        finally:
            probe.close()
        time.sleep(0.05)
    raise AssertionError("lbctl logs --listen never bound its port")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_listen_receives_syslog_datagrams_and_summarizes_on_sigterm() -> None:
    port = free_udp_port()
    proc = subprocess.Popen([*LBCTL, "--listen", f"127.0.0.1:{port}", "--summary"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        wait_bound(port, time.monotonic() + 20)
        datagrams = scenario("syslog_formats")["syslog"] + scenario("level_err")["syslog"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in datagrams:
                sender.sendto(datagram.encode("latin-1"), ("127.0.0.1", port))
        time.sleep(0.5)  # loopback datagrams are queued at once; give the reader time to take them
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["bk_plain"][:3] == ["9", "0", "9"] and rows["bk_down"][:7] == ["1", "0", "0", "0", "0", "1", "1"]


@pytest.mark.parametrize(("text", "codes", "not_codes"), [
    ("5xx", [500, 503, 599], [499, 200]), ("404", [404], [403, 405]), ("4xx,503", [400, 418, 503], [502, 200]),
])
def test_status_matcher(text: str, codes: list[int], not_codes: list[int]) -> None:
    keep = status_matcher(text)
    assert all(keep(c) for c in codes) and not any(keep(c) for c in not_codes)


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (50, 90, 99)
    assert percentile([7], 99) == 7 and percentile([], 50) == 0


def test_undecodable_bytes_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    path.write_bytes(b"garbage \xff\xfe line\n" + scenario("http_deny")["lines"][0].encode() + b"\n")
    result = subprocess.run([*LBCTL, "--file", str(path)], capture_output=True, timeout=60, env=ENV)
    assert result.returncode == 0 and result.stdout == path.read_bytes()
