"""Failures injected at each step of the checker loop (in process, real sockets).

Two servers on loopback, `a` and `b`, checked every 50 ms by a Checker
driven turn by turn (`run_once`).  A bug is injected for `a` alone at one
step: its probe's I/O callback, its timeout, its start, the check-due
timer, the storing or the reporting of its result, the admin follow-up of
the tick, a callback that escapes the probe's own guard, a selector that
refuses to unregister.  Each time: `b` keeps being checked and stays up,
`a` is attempted again and again (a failed check with a clear status, or
a retried one), the failure is one `internal error` event with the
traceback however often it repeats, and no socket is left open.
"""

from __future__ import annotations

import io
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from lb.checker import probe as probe_module
from lb.checker import report as report_module
from lb.checker import runner as runner_module
from lb.checker import seed_health
from lb.checker import status as st
from lb.checker.probe import Probe
from lb.checker.runner import Checker
from lb.checker.timers import TimerHeap, now_ms
from lb.logs import events, failures
from lb.shm.table import ShmTable
from tests.checker.helpers import Listener, StuckListener, parse

CONFIG = """backend be
  server a 127.0.0.1:{a} check inter 50ms rise 1 fall 1
  server b 127.0.0.1:{b} check inter 50ms rise 1 fall 1
"""
A, B = 0, 1  # server indexes in shm
BOOM = "injected failure"


def closing(conn: socket.socket) -> None:
    conn.close()


class Harness:
    def __init__(self, tmp_path: Path, stuck_a: bool = False) -> None:
        self.listeners: list[Any] = [StuckListener() if stuck_a else Listener(closing), Listener(closing)]
        config = parse(tmp_path, CONFIG.format(a=self.listeners[0].port, b=self.listeners[1].port))
        self.shm = ShmTable(1, 2, len(config.all_servers()), len(config.backends), len(config.proxies()))
        for index, (_backend, server) in enumerate(config.all_servers()):
            self.shm.srv_weight[index] = server.weight
        seed_health(self.shm, config)
        self.fds_before = open_fds()
        self.checker = Checker(config, self.shm, 1, os.getppid())
        self.checker.schedule_first_checks()

    def checks(self, index: int) -> int:
        return self.shm.srv_checks[index] & 0xFFFFFFFF

    def failed(self, index: int) -> int:
        return self.shm.srv_checks[index] >> 32

    def drive(self, until: Callable[[], bool], limit: float = 20.0) -> None:
        deadline = time.monotonic() + limit
        while not until():
            assert time.monotonic() < deadline, "the checker did not get there"
            self.checker.run_once()

    def close(self) -> None:
        self.checker.close()
        for listener in self.listeners:
            listener.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def is_a(obj: Any) -> bool:
    """Is this probe (or run) working for server `a`?"""
    return obj.target.server.name == "a"


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setattr(failures, "_throttle", failures.Throttle())
    stream = io.StringIO()
    events.configure("json", role="checker", stream=stream)
    yield stream
    events.configure("json", role="test", stream=io.StringIO())


def internal_errors(stream: io.StringIO) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [e for e in found if e["event"] == "internal error"]


def assert_contained(harness: Harness, stream: io.StringIO, where: str, attempts: Callable[[], int]) -> None:
    """`b` checked and up, `a` attempted again, one event, no socket left open."""
    b_before = harness.checks(B)
    harness.drive(lambda: attempts() >= 5 and harness.checks(B) >= b_before + 5)
    assert harness.shm.srv_up[B] == 1 and st.STATUSES[harness.shm.srv_status[B]].code == "L4OK"
    (event,) = internal_errors(stream)
    assert event["where"] == where and (event["backend"], event["server"]) == ("be", "a")
    assert BOOM in event["error"] and "Traceback" in event["traceback"] and BOOM in event["traceback"]
    assert len(harness.checker.selector.get_map()) <= 2  # at most one probe socket per server registered
    assert open_fds() <= harness.fds_before + 3 + 2  # selector + wakeup pair, and two probe sockets at most
    assert harness.checker.stopping is False


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    yield made
    made.close()


# -- in the probe: a failed check, SOCKERR "internal error" ------------------------------------


def _failing_for_a(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, *args: Any) -> Any:
        if is_a(self):
            raise RuntimeError(BOOM)
        return method(self, *args)

    return wrapper


def test_a_probe_io_callback_that_raises(harness: Harness, logged: io.StringIO,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Probe, "_handle_io", _failing_for_a(Probe._handle_io))
    assert_contained(harness, logged, "checker probe io", lambda: harness.checks(A))
    assert st.STATUSES[harness.shm.srv_status[A]].code == "SOCKERR" and harness.shm.srv_up[A] == 0


def test_a_probe_timeout_that_raises(tmp_path: Path, logged: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness(tmp_path, stuck_a=True)  # a's connect never completes: its timeout fires
    try:
        monkeypatch.setattr(Probe, "_handle_timeout", _failing_for_a(Probe._handle_timeout))
        assert_contained(harness, logged, "checker probe timeout", lambda: harness.checks(A))
        assert st.STATUSES[harness.shm.srv_status[A]].code == "SOCKERR"
    finally:
        harness.close()


def test_a_probe_that_fails_after_opening_its_socket(harness: Harness, logged: io.StringIO,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[socket.socket] = []
    real_open = Probe._open

    def open_then_fail(self: Probe, rule: Any) -> None:
        real_open(self, rule)
        if is_a(self):
            opened.append(self.sock)  # type: ignore[arg-type]
            raise RuntimeError(BOOM)

    monkeypatch.setattr(Probe, "_open", open_then_fail)
    assert_contained(harness, logged, "checker probe start", lambda: harness.checks(A))
    assert opened and all(sock.fileno() == -1 for sock in opened)  # every one of them closed


def test_a_selector_that_refuses_to_unregister_still_closes(harness: Harness, logged: io.StringIO,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    selector = harness.checker.selector
    real_unregister = selector.unregister
    refused: list[socket.socket] = []

    def unregister(fileobj: Any) -> Any:
        key = real_unregister(fileobj)
        if getattr(key.data, "__self__", None) is not None and is_a(key.data.__self__):
            refused.append(fileobj)
            raise KeyError(BOOM)
        return key

    monkeypatch.setattr(selector, "unregister", unregister)
    harness.drive(lambda: len(refused) >= 5 and harness.checks(B) >= 5)
    assert all(sock.fileno() == -1 for sock in refused) and harness.shm.srv_up[A] == 1
    assert internal_errors(logged) == []  # nothing to report: the check itself went well


# -- around the probe: the attempt is retried ----------------------------------------------------


def test_the_check_due_timer_that_raises(harness: Harness, logged: io.StringIO,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = [0]

    def probe_factory(target: Any, *args: Any) -> Probe:
        if target.server.name == "a":
            attempts[0] += 1
            raise RuntimeError(BOOM)
        return Probe(target, *args)

    monkeypatch.setattr(runner_module, "Probe", probe_factory)
    assert_contained(harness, logged, "checker schedule", lambda: attempts[0])
    assert harness.checks(A) == 0 and harness.shm.srv_up[A] == 1  # retried, never counted as a check


def test_storing_a_result_that_raises(harness: Harness, logged: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = [0]
    real_store = Checker._store

    def store(self: Checker, i: int, *args: Any) -> None:
        if i == A:
            attempts[0] += 1
            raise RuntimeError(BOOM)
        real_store(self, i, *args)

    monkeypatch.setattr(Checker, "_store", store)
    assert_contained(harness, logged, "checker result", lambda: attempts[0])


def test_reporting_a_state_change_that_raises(tmp_path: Path, logged: io.StringIO,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness(tmp_path)
    try:
        harness.listeners[0].close()  # a goes down: a state change to report at each flap
        reports = [0]

        def report(message: Any, proxy: Any, stream: Any = None) -> None:
            if "/a " in message.text:
                reports[0] += 1
                raise RuntimeError(BOOM)

        monkeypatch.setattr(runner_module, "report", report)
        harness.drive(lambda: reports[0] >= 1)
        assert harness.shm.srv_up[A] == 0  # stored before the report failed
        harness.listeners[0] = Listener(closing)  # a new port: up and down again through the config's port
        assert_contained(harness, logged, "checker result", lambda: harness.checks(A))
    finally:
        harness.close()


def test_the_log_send_of_a_state_change_that_raises(tmp_path: Path, logged: io.StringIO,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness(tmp_path)
    sent: list[str] = []

    def sink(proxy: Any, level: str, text: str) -> None:
        sent.append(text)
        raise OSError(BOOM)

    report_module.set_log_sink(sink)
    try:
        harness.listeners[0].close()
        harness.drive(lambda: harness.shm.srv_up[A] == 0 and harness.checks(B) >= 5)
        assert any("Server be/a is DOWN" in text for text in sent) and harness.shm.srv_up[B] == 1
        found = [json.loads(line) for line in logged.getvalue().splitlines()]
        (dropped,) = [e for e in found if e["event"] == "log line dropped"]
        assert dropped["proxy"] == "be" and BOOM in dropped["error"]
        assert internal_errors(logged) == []  # the sink's failure stays in the sink
    finally:
        report_module.set_log_sink(None)
        harness.close()


def test_following_admin_changes_that_raises(harness: Harness, logged: io.StringIO,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calls = [0]
    real_follow = Checker._follow_admin

    def follow(self: Checker, run: Any) -> None:
        if is_a(run):
            calls[0] += 1
            raise RuntimeError(BOOM)
        real_follow(self, run)

    monkeypatch.setattr(Checker, "_follow_admin", follow)
    assert_contained(harness, logged, "checker admin", lambda: min(calls[0], harness.checks(A)))


# -- what escapes a probe's own guard: caught by the loop, pinned on its server ------------------


def test_a_socket_callback_escaping_the_probe_guard(harness: Harness, logged: io.StringIO,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    escaped = [0]
    real_on_io = Probe._on_io

    def on_io(self: Probe, mask: int) -> None:
        if is_a(self):
            escaped[0] += 1
            raise RuntimeError(BOOM)
        real_on_io(self, mask)

    monkeypatch.setattr(Probe, "_on_io", on_io)
    assert_contained(harness, logged, "checker event", lambda: escaped[0])


def test_a_probe_timer_escaping_the_probe_guard(tmp_path: Path, logged: io.StringIO,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness(tmp_path, stuck_a=True)
    escaped = [0]
    real_on_timeout = Probe._on_timeout

    def on_timeout(self: Probe) -> None:
        if is_a(self):
            escaped[0] += 1
            raise RuntimeError(BOOM)
        real_on_timeout(self)

    monkeypatch.setattr(Probe, "_on_timeout", on_timeout)
    try:
        assert_contained(harness, logged, "checker timer", lambda: escaped[0])
    finally:
        harness.close()


def test_a_probe_no_server_holds_is_closed_when_its_callback_escapes(harness: Harness, logged: io.StringIO) -> None:
    run = harness.checker.runs[A]
    orphan = Probe(run.target, harness.checker.selector, harness.checker.timers, lambda probe: None)
    orphan.start()  # connected or connecting: registered on the selector, held by no server
    assert orphan.sock is not None and orphan.mask
    sock = orphan.sock
    harness.checker._escaped(orphan, "event", RuntimeError(BOOM))
    assert sock.fileno() == -1 and orphan.sock is None
    assert all(key.fileobj is not sock for key in harness.checker.selector.get_map().values())
    (event,) = internal_errors(logged)
    assert event["where"] == "checker event" and event["server"] is None
    harness.drive(lambda: harness.checks(A) >= 3 and harness.checks(B) >= 3)


def test_the_internal_error_report_itself_failing(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Probe, "_handle_io", _failing_for_a(Probe._handle_io))
    monkeypatch.setattr(failures, "_emit", lambda *args: 1 / 0)  # structlog broken too
    harness.drive(lambda: harness.checks(A) >= 3 and harness.checks(B) >= 3)
    assert harness.shm.srv_up[B] == 1


# -- the timer heap ----------------------------------------------------------------------------------


def test_a_raising_timer_does_not_keep_the_others_from_firing() -> None:
    timers, fired, failed = TimerHeap(), [], []
    timers.call_at(1.0, lambda: fired.append(1))
    timers.call_at(2.0, lambda: 1 / 0, owner="bad")
    timers.call_at(3.0, lambda: fired.append(3))
    assert timers.run_due(10.0, lambda timer, exc: failed.append((timer.owner, type(exc)))) == 3
    assert fired == [1, 3] and failed == [("bad", ZeroDivisionError)]
    timers.call_at(now_ms(), lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        timers.run_due(now_ms() + 1)  # without a handler, as before


def test_the_probe_module_reports_through_the_checker_report() -> None:
    assert probe_module.report is report_module
