"""Log sends never raise into the caller (real sockets, pipes and fds; in process).

A unix socket removed under a sink, a datagram socket or a pipe that is
full, a UDP target that refuses, a pipe whose reader is gone, an fd or a
socket closed under us, a line that cannot be rendered: each message is
counted as dropped, the first loss of a destination is reported as one
structlog event, and later ones are not reported again before
REPORT_EVERY seconds (a fake clock proves the summary that follows).
"""

from __future__ import annotations

import io
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lb.config import parser
from lb.engine import engine
from lb.logs import events, failures, syslog, targets
from lb.logs.record import LogRecord
from lb.logs.runtime import build_global_targets, build_loggers, dropped_logs, lost_logs
from tests.logs.conftest import UdpReceiver

DEFAULTS = "defaults\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"


class Events:
    """structlog configured to write JSON lines into memory; `named(x)` parses them."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        events.configure("json", role="test", stream=self.stream)

    def named(self, name: str) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        return [e for e in found if e["event"] == name]


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[Events]:
    monkeypatch.setattr(failures, "_throttle", failures.Throttle())  # every test starts unreported
    monkeypatch.setattr(events, "_syslog_targets", [])
    yield Events()
    events.configure("json", role="test", stream=io.StringIO())


def unix_receiver(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    return sock


# -- the report ---------------------------------------------------------------------------


def test_a_repeated_failure_is_reported_at_once_then_once_per_period() -> None:
    now = [100.0]
    throttle = failures.Throttle(every=60.0, clock=lambda: now[0])
    assert throttle.due("k") == 0  # the first one: report
    assert [throttle.due("k") for _ in range(5)] == [None] * 5  # within the period: counted
    assert throttle.due("other") == 0  # another failure has its own period
    now[0] += 60.0
    assert throttle.due("k") == 5  # the next report says how many were left out
    assert throttle.due("k") is None


def test_a_report_that_fails_does_not_report_itself(logged: Events, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def broken_emit(name: str, level: str, fields: dict[str, Any]) -> None:
        calls.append(name)
        failures.report("inner", "nested")  # as a failing syslog target would, from inside the report
        raise RuntimeError("renderer broken")

    monkeypatch.setattr(failures, "_emit", broken_emit)
    assert failures.report("outer", "log send failed") is False
    assert calls == ["log send failed"]


def test_events_survive_a_closed_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    events.configure("json", role="test", stream=stream)
    stream.close()
    before = events.lost_events()
    events.event("anything", value=1)  # must not raise
    events.get_logger().warning("direct call")
    assert events.lost_events() == before + 2
    events.configure("json", role="test", stream=io.StringIO())


def test_an_event_that_cannot_be_rendered_does_not_raise(logged: Events) -> None:
    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        __str__ = __repr__

    before = events.lost_events()
    events.event("weird", value=Unprintable())
    assert events.lost_events() == before + 1


# -- sinks on real sockets -------------------------------------------------------------------


def test_a_unix_socket_removed_drops_and_reports_once_then_reconnects(tmp_path: Path, logged: Events,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "RETRY_EVERY", 0.0)  # reconnect at every send
    path = tmp_path / "log.sock"
    receiver = unix_receiver(path)
    sink = targets.UnixSink(str(path))
    sink.send(b"first\n")
    assert receiver.recv(100) == b"first\n"
    receiver.close()
    path.unlink()
    for _ in range(100):
        sink.send(b"lost\n")
    assert (sink.sent, sink.dropped, sink.errors) == (1, 100, 100)
    (report,) = logged.named("log send failed")
    assert report["target"] == f"unix@{path}" and report["level"] == "warning" and report["dropped"] == 1
    assert report["reason"] in ("Connection refused", "No such file or directory")
    receiver = unix_receiver(path)
    sink.send(b"back\n")
    assert receiver.recv(100) == b"back\n" and sink.sent == 2
    receiver.close()
    sink.close()


def test_a_full_unix_socket_drops_without_blocking(tmp_path: Path, logged: Events) -> None:
    path = tmp_path / "log.sock"
    receiver = unix_receiver(path)  # never read
    sink = targets.UnixSink(str(path))
    deadline = time.monotonic() + 10
    while sink.dropped < 10 and time.monotonic() < deadline:
        sink.send(b"x" * 512 + b"\n")
    assert sink.dropped >= 10 and sink.errors == 0 and sink.sent > 0
    (report,) = logged.named("log send failed")
    assert report["reason"] == "destination full"
    receiver.close()
    sink.close()


def test_a_udp_target_that_refuses_drops_and_reports_once(logged: Events) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens there once the probe is closed
    sink = targets.UdpSink("127.0.0.1", port, socket.AF_INET)
    for _ in range(20):
        sink.send(b"x\n")  # ICMP port unreachable makes a later send fail with ECONNREFUSED
    assert sink.sent + sink.dropped == 20 and sink.errors == sink.dropped >= 1
    (report,) = logged.named("log send failed")
    assert report["target"] == f"udp@127.0.0.1:{port}" and report["reason"] == "Connection refused"
    sink.close()


def test_a_pipe_whose_reader_is_gone_drops_and_reports_once(logged: Events) -> None:
    read_end, write_end = os.pipe()
    sink = targets.FdSink(write_end)
    sink.send(b"seen\n")
    assert os.read(read_end, 100) == b"seen\n"
    os.close(read_end)
    for _ in range(10):
        sink.send(b"lost\n")  # EPIPE (SIGPIPE is ignored in every lb process)
    assert (sink.sent, sink.dropped, sink.errors) == (1, 10, 10)
    (report,) = logged.named("log send failed")
    assert report["reason"] == "Broken pipe"
    sink.close()
    os.close(write_end)


def test_an_fd_closed_under_the_sink(logged: Events) -> None:
    read_end, write_end = os.pipe()
    sink = targets.FdSink(write_end)
    os.close(sink.own_fd)  # closed by someone else
    sink.send(b"lost\n")
    assert (sink.sent, sink.dropped, sink.errors) == (0, 1, 1)
    assert logged.named("log send failed")[0]["reason"] == "Bad file descriptor"
    sink.close()  # closing what is already closed does not raise either
    os.close(read_end)
    os.close(write_end)


def test_a_socket_closed_under_the_sink(logged: Events, udp: UdpReceiver) -> None:
    sink = targets.UdpSink("127.0.0.1", udp.port, socket.AF_INET)
    sink.sock.close()
    sink.send(b"lost\n")
    assert (sink.sent, sink.dropped, sink.errors) == (0, 1, 1)
    assert len(logged.named("log send failed")) == 1


@pytest.fixture
def udp() -> Iterator[UdpReceiver]:
    receiver = UdpReceiver()
    yield receiver
    receiver.sock.close()


# -- loggers: rendering and framing ---------------------------------------------------------------


def _loggers(tmp_path: Path, udp: UdpReceiver) -> Any:
    (tmp_path / "lb.cfg").write_text(DEFAULTS + "global\n    log " + udp.address + " format raw local0\n"
                                     "frontend fe\n    mode tcp\n    bind :8000\n    option tcplog\n"
                                     "    log " + udp.address + " format raw local0\n")  # fmt: skip
    config = parser.parse_files([str(tmp_path / "lb.cfg")])
    assert not config.alerts
    return config


def _record() -> LogRecord:
    record = LogRecord()
    record.client_ip, record.client_port, record.bytes_in = "127.0.0.1", 40000, 10
    record.accept_date = record.request_date = 1795715127.527
    return record


def test_a_line_that_cannot_be_rendered_is_dropped_and_reported_once(tmp_path: Path, udp: UdpReceiver,
                                                                     logged: Events) -> None:
    logger = build_loggers(_loggers(tmp_path, udp), 4242)["fe"]
    logger.log(_record())
    assert udp.receive().startswith(b"127.0.0.1:40000 [")

    class Broken:
        def render(self, record: LogRecord, context: Any) -> str:
            raise KeyError("a bug in a compiled format")

    good, good_steps = logger.format, logger.steps
    logger.format, logger.steps = Broken(), None  # the generated renderer, even where steps are compiled
    lost_before = lost_logs()
    for _ in range(5):
        logger.log(_record())  # must not raise
    (sink,) = {target.sink for target in logger.targets}
    assert sink.dropped == 5 and sink.errors == 5 and lost_logs() == lost_before + 5
    (report,) = logged.named("log line dropped")
    assert report["proxy"] == "fe" and report["error"] == "KeyError('a bug in a compiled format')"
    assert "Traceback" in report["traceback"] and "render" in report["traceback"]
    logger.format, logger.steps = good, good_steps
    logger.log(_record())
    assert udp.receive().startswith(b"127.0.0.1:40000 [")


@pytest.mark.skipif(engine() == "compiled", reason="patches classes: run with LB_PURE_PYTHON=1")
def test_framing_failures_and_event_lines_never_raise(tmp_path: Path, udp: UdpReceiver, logged: Events,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    config = _loggers(tmp_path, udp)
    (target,) = build_global_targets(config, 4242)
    monkeypatch.setattr(syslog.Framer, "header", lambda *args: 1 / 0)
    target.send(6, b"body", time.time())
    assert (target.sink.dropped, target.sink.errors) == (1, 1)
    reason = logged.named("log send failed")[0]["reason"]
    assert reason == "message could not be framed: ZeroDivisionError('division by zero')"
    logger = build_loggers(config, 4242)["fe"]
    (sink,) = {t.sink for t in logger.targets}
    assert sink is target.sink  # one socket per destination in a process
    monkeypatch.setattr(syslog, "level_code", lambda name: 1 / 0)
    logger.send_event("alert", "Server be/s1 is DOWN")  # the checker's call: no exception either
    assert (sink.dropped, sink.errors) == (2, 2) and logged.named("log line dropped")[0]["proxy"] == "fe"
    assert dropped_logs() >= 0 and sink.dropped - sink.errors == 0  # DroppedLogs: full destinations only


def test_events_forwarded_to_a_failing_syslog_target_are_still_printed(tmp_path: Path, logged: Events,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gone.sock"
    (tmp_path / "lb.cfg").write_text(DEFAULTS + f"global\n    log {path} local0\n")
    config = parser.parse_files([str(tmp_path / "lb.cfg")])
    monkeypatch.setattr(events, "_syslog_targets", build_global_targets(config, 4242))
    for n in range(3):
        events.event("reload", generation=n)
    assert [e["generation"] for e in logged.named("reload")] == [0, 1, 2]
    (report,) = logged.named("log send failed")  # its own syslog copy failed too: not reported again
    assert report["target"] == f"unix@{path}"
