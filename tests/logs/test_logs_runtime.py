"""Per-proxy loggers on real sockets: what reaches a syslog server, a unix socket or a pipe, and what does not."""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import pytest

from lb.config import parser
from lb.config.model import Config
from lb.logs import targets
from lb.logs.record import LogRecord
from lb.logs.runtime import ProxyLogger, build_backend_loggers, build_global_targets, build_loggers, dropped_logs
from tests.logs.conftest import UdpReceiver
from tests.logs.recorded import RECORDED, scenario

DEFAULTS = "defaults\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"


def load(tmp_path: Path, text: str) -> Config:
    (tmp_path / "lb.cfg").write_text(text)
    config = parser.parse_files([str(tmp_path / "lb.cfg")])
    assert not config.alerts, [d.message for d in config.alerts]
    return config


def http_logger(tmp_path: Path, udp: UdpReceiver, options: str = "", fmt: str = "short") -> ProxyLogger:
    config = load(tmp_path, DEFAULTS + f"frontend fe\n    mode http\n    bind :8000\n    option httplog\n"
                  f"    log {udp.address} format {fmt} local0\n{options}")
    return build_loggers(config, master_pid=4242)["fe"]


def record(status: int = 200, term: str = "--", bytes_in: int = 100, retries: int = 0) -> LogRecord:
    r = LogRecord()
    r.client_ip, r.client_port, r.frontend, r.backend, r.server = "127.0.0.1", 40000, "fe", "be", "s1"
    r.accept_date = r.request_date = 1795715127.527
    r.t_request, r.t_queue, r.t_connect, r.t_response, r.t_active = 0, 0, 1, 2, 3
    r.status, r.term_state, r.bytes_in, r.bytes_out, r.retries = status, term, bytes_in, 512, retries
    r.request_line = "GET / HTTP/1.1"
    return r


def test_a_line_reaches_the_syslog_server(tmp_path: Path, udp: UdpReceiver) -> None:
    logger = http_logger(tmp_path, udp, fmt="local")
    assert logger.enabled and not logger.logs_at_accept
    logger.log(record())
    datagram = udp.receive().decode()
    assert re.fullmatch(r'<134>\w{3} [ \d]\d \d\d:\d\d:\d\d lb\[4242\]: 127\.0\.0\.1:40000 \[26/Nov/2026:17:45:27\.527\] '
                        r'fe be/s1 0/0/1/2/3 200 512 - - ---- 0/0/0/0/0 0/0 "GET / HTTP/1\.1"\n', datagram)


@pytest.mark.parametrize(("options", "case", "expected"), [
    ("", record(), b"<6>"),
    ("", record(bytes_in=0), b"<6>"),  # logged: dontlognull is off
    ("    option log-separate-errors\n", record(), b"<6>"),
    ("    option log-separate-errors\n", record(status=503), b"<3>"),
    ("    option log-separate-errors\n", record(term="CD"), b"<3>"),
    ("    option log-separate-errors\n", record(retries=1), b"<3>"),
    ("    option log-separate-errors\n", record(status=302, term="LR"), b"<6>"),  # local answers are no errors
    ("    option dontlognull\n", record(bytes_in=0, status=400, term="CR"), None),
    ("    option dontlognull\n", record(bytes_in=1), b"<6>"),
    ("    option dontlog-normal\n", record(), None),
    ("    option dontlog-normal\n", record(status=504, term="sH"), b"<6>"),
])
def test_levels_and_what_is_not_logged(tmp_path: Path, udp: UdpReceiver, options: str, case: LogRecord,
                                       expected: bytes | None) -> None:
    http_logger(tmp_path, udp, options).log(case)
    if expected is None:
        assert udp.nothing_within(0.3)
    else:
        assert udp.receive().startswith(expected + b"127.0.0.1:40000 ")


def test_connect_line_without_format(tmp_path: Path, udp: UdpReceiver) -> None:
    """`log` without any format: HAProxy's line at accept, byte for byte (recorded)."""
    recorded_line = scenario("connect_from")["lines"][0]
    ci, cp, fi, fp = re.fullmatch(r"Connect from (\S+):(\d+) to (\S+):(\d+) \(f_noformat/TCP\)", recorded_line).groups()  # type: ignore[union-attr]
    config = load(tmp_path, DEFAULTS + f"frontend f_noformat\n    bind :8000\n    log {udp.address} format raw local0\n")
    logger = build_loggers(config, 1)["f_noformat"]
    assert logger.logs_at_accept and not logger.enabled
    r = LogRecord()
    r.client_ip, r.client_port, r.frontend_ip, r.frontend_port = ci, int(cp), fi, int(fp)
    logger.log(r)  # no traffic line for such a frontend ...
    logger.log_accept(r)  # ... only the accept line
    assert udp.receive().decode() == recorded_line + "\n"


def test_server_state_events_go_to_the_backend_targets(tmp_path: Path, udp: UdpReceiver) -> None:
    recorded = RECORDED["server_state"]  # UP (notice), DOWN (alert), no server left (emerg)
    config = load(tmp_path, DEFAULTS + f"backend bk_state\n    log {udp.address} local0\n    server s1 127.0.0.1:9\n")
    logger = build_backend_loggers(config, 1)["bk_state"]
    for level, datagram in zip(("notice", "alert", "emerg"), recorded):
        body = datagram.split("]: ", 1)[1]
        logger.send_event(level, body.rstrip("\n"))
        ours = udp.receive().decode()
        assert ours[:5] == datagram[:5] and ours.split("]: ", 1)[1] == body


def test_hostname_and_tags_as_haproxy(tmp_path: Path, udp: UdpReceiver) -> None:
    """log-send-hostname makes the default format rfc3164; an explicit `format local` stays local."""
    recorded = [d.split(" 127.0.0.1:")[0] for d in RECORDED["hostname_syslog"][:3]]
    pid = int(re.search(r"\[(\d+)\]", recorded[0]).group(1))  # type: ignore[union-attr]
    config = load(tmp_path, "global\n    log-send-hostname myhost\n    log-tag gtag\n" + DEFAULTS
                  + f"frontend fe_host\n    mode http\n    bind :8000\n    option httplog\n    log-tag ptag\n"
                  f"    log {udp.address} local0\n    log {udp.address} format local local0\n"
                  f"    log {udp.address} format rfc5424 local0\n")
    build_loggers(config, pid)["fe_host"].send_event("info", "x")
    ours = [udp.receive().decode().removesuffix(" x\n") for _ in range(3)]
    date = re.compile(r"\w{3} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+\+00:00")
    assert [date.sub("DATE", h) for h in ours] == [date.sub("DATE", h) for h in recorded]
    # <134>DATE myhost ptag[PID]:   <134>DATE ptag[PID]:   <134>1 DATE myhost ptag PID - -


def test_len_truncates_per_target(tmp_path: Path, udp: UdpReceiver) -> None:
    config = load(tmp_path, DEFAULTS + f"frontend fe\n    mode http\n    bind :8000\n    option httplog\n"
                  f"    log {udp.address} len 100 format raw local0\n    log {udp.address} format raw local0\n")
    long = record()
    long.request_line = "GET /" + "a" * 1500 + " HTTP/1.1"
    build_loggers(config, 1)["fe"].log(long)
    sizes = sorted(len(udp.receive()) for _ in range(2))
    assert sizes == [101, 1024]  # len 100 (+ LF); and 1023 body bytes (+ LF), as HAProxy's max_syslog_len - 1


def test_unix_datagram_target_reconnects(tmp_path: Path) -> None:
    path = str(tmp_path / "log.sock")
    config = load(tmp_path, "global\n" f"    log {path} format raw local0\n")
    (target,) = build_global_targets(config, 1)
    target.send(6, b"lost", time.time())  # nobody listens yet: counted, not raised
    assert target.sink.errors == 1
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    try:
        target.sink.next_attempt = 0.0  # type: ignore[attr-defined]  (skip the 1 s reconnect delay)
        target.send(6, b"found", time.time())
        assert server.recv(100) == b"found\n"
    finally:
        server.close()


def test_full_pipe_drops_instead_of_blocking() -> None:
    """stdout to a pipe nobody reads: the worker must not block; lines are counted as dropped."""
    read_end, write_end = os.pipe()
    try:
        sink = targets.FdSink(write_end)
        assert sink.own_fd >= 0 and os.get_blocking(write_end)  # the shared description stays blocking
        line = b"x" * 1023 + b"\n"
        deadline = time.monotonic() + 10
        while sink.dropped == 0 and time.monotonic() < deadline:
            sink.send(line)
        assert sink.dropped >= 1 and sink.sent >= 1
        chunk = os.read(read_end, 1 << 20)
        assert chunk.startswith(line) and len(chunk) % len(line) == 0  # only whole lines went in
        sink.close()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_regular_file_gets_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        sink = targets.FdSink(fd)
        for i in range(3):
            sink.send(f"line {i}\n".encode())
    finally:
        os.close(fd)
    assert path.read_text() == "line 0\nline 1\nline 2\n"


def test_udp_without_listener_never_raises(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = targets.UdpSink("127.0.0.1", port, socket.AF_INET)
    for _ in range(3):
        sink.send(b"x\n")  # ICMP port unreachable shows up as ECONNREFUSED on a later send
    assert sink.sent + sink.errors == 3
    assert dropped_logs() >= 0
    sink.close()
