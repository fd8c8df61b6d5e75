"""lb's own events from a running lb: JSON on stderr (`--log-format json`) and on the global `log` target.

One lb (2 workers, a checker) runs for the module with `log 127.0.0.1:PORT
local0` in `global` and `log global` in `defaults`; each test provokes one
event (start, server state change, reload with and without errors, a worker
or the checker killed, a config warning, stop) and looks for it on stderr and
among the datagrams (framed `<PRI>Mmm dd hh:mm:ss lb[<master pid>]: text`).
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from lb.logs.reader import split_header
from tests.logs.e2e_lab import EchoServer
from tests.logs.e2e_support import UdpCollector
from tests.support import LbProcess, free_port, wait_until

CONFIG = """
global
    nbproc 2
    log 127.0.0.1:{udp} local0
defaults
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    mode tcp
    bind 127.0.0.1:{port}
{extra}    default_backend be
backend be
    mode tcp
    server s1 127.0.0.1:{echo} check inter 100ms fall 1 rise 1
    server s2 127.0.0.1:{flappy} check inter 100ms fall 1 rise 1
"""
WARNING_LINE = "    option httplog\n"  # in a tcp frontend: a warning, tcplog is used instead
WARNING_TEXT = "'option httplog' not usable with frontend 'fe' (needs 'mode http'). Falling back to 'option tcplog'."
PRI_LOCAL0 = {"emerg": 128, "alert": 129, "err": 131, "warning": 132, "notice": 133, "info": 134}


class Running:
    def __init__(self, directory: Path) -> None:
        self.receiver = UdpCollector()
        self.echo = EchoServer()
        self.ports = {"udp": self.receiver.port, "port": free_port(), "echo": self.echo.port, "flappy": free_port()}
        self.lb = LbProcess(directory, self.config(warning=True)).start()
        self.flappy: EchoServer | None = None

    def config(self, warning: bool = False, broken: bool = False) -> str:
        extra = (WARNING_LINE if warning else "") + ("    no-such-keyword 1\n" if broken else "")
        return CONFIG.format(extra=extra, **self.ports)

    def datagrams_with(self, text: str) -> list[str]:
        return [d for d in self.receiver.datagrams if text in d]

    def wait_datagram(self, text: str, count: int = 1) -> str:
        return wait_until(lambda: self.datagrams_with(text)[count - 1:], 10, what=f"datagram {text!r}")[0]

    def stop(self) -> None:
        self.lb.stop()
        self.receiver.close()
        self.echo.close()
        if self.flappy is not None:
            self.flappy.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    state = Running(tmp_path_factory.mktemp("events"))
    yield state
    state.stop()


_FRAME = re.compile(r"<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d lb\[(\d+)\]: (.*)\n\Z", re.S)


def framed(datagram: str, master_pid: int, level: str) -> str:
    """The text of a datagram after checking its RFC3164 frame: PRI, the tag, the master's pid."""
    match = _FRAME.fullmatch(datagram)
    assert match, f"not `<PRI>Mmm dd hh:mm:ss lb[PID]: text`: {datagram!r}"
    assert (int(match[1]), int(match[2])) == (PRI_LOCAL0[level], master_pid), datagram
    assert split_header(datagram)[0].tag == "lb"
    return match[3]


def test_start_and_first_generation(running: Running) -> None:
    lb = running.lb
    start = lb.wait_event("start")
    assert (start["role"], start["pid"], start["workers"], start["level"]) == ("master", lb.pid, 2, "info")
    assert start["config"] == [str(lb.path)] and "timestamp" in start
    active = lb.wait_event("generation active", generation=1)
    assert active["outcome"] == "success"
    text = framed(running.wait_datagram("generation active generation=1"), lb.pid, "notice")  # HAProxy's level
    assert text == "generation active generation=1 outcome=success"


def test_start_event_reaches_the_global_log_target(running: Running) -> None:
    text = framed(running.wait_datagram(": start config="), running.lb.pid, "notice")
    assert text.startswith("start config=") and text.endswith(" workers=2") and str(running.lb.path) in text


def test_server_state_changes(running: Running) -> None:
    """s2 has nothing listening: DOWN at the first check; a listener appears: UP."""
    lb = running.lb
    down = lb.wait_event("server_state", server="s2", state="DOWN")
    assert (down["backend"], down["role"], down["level"]) == ("be", "checker", "warning")
    assert down["message"].startswith("Server be/s2 is DOWN, reason: Layer4 connection problem, ")
    assert f"[WARNING]  ({down['pid']}) : Server be/s2 is DOWN, reason: " in lb.stderr_text()
    # HAProxy's levels: a server going DOWN is `alert`, coming UP `notice`
    assert framed(running.wait_datagram("Server be/s2 is DOWN"), lb.pid, "alert") == down["message"]
    running.flappy = EchoServer(running.ports["flappy"])
    up = lb.wait_event("server_state", server="s2", state="UP")
    assert up["message"].startswith("Server be/s2 is UP, reason: Layer4 check passed, ")
    assert framed(running.wait_datagram("Server be/s2 is UP"), lb.pid, "notice") == up["message"]


def test_config_warning_at_start(running: Running) -> None:
    """HAProxy's text line on stderr, a JSON `config` event, and the message on the global target."""
    lb = running.lb
    assert f"[WARNING]  ({lb.pid}) : config : parsing [{lb.path}:13] : {WARNING_TEXT}" in lb.stderr_text()
    warning = lb.wait_event("config", severity="WARNING")
    assert (warning["message"], warning["where"], warning["level"]) == (WARNING_TEXT, f"{lb.path}:13", "warning")
    assert framed(running.wait_datagram(WARNING_TEXT), lb.pid, "warning") == WARNING_TEXT


def test_reload_with_a_warning(running: Running) -> None:
    lb = running.lb
    before, previous = len(lb.find_events("config")), lb.generation()
    generation = lb.reload(running.config(warning=True))
    assert generation == previous + 1
    active = lb.wait_event("generation active", generation=generation)
    assert active["outcome"] == "success" and active["role"] == "master"
    warning = lb.find_events("config")[before]
    assert (warning["severity"], warning["level"], warning["message"]) == ("WARNING", "warning", WARNING_TEXT)
    assert warning["where"].endswith("lb.cfg:13")
    assert framed(running.wait_datagram(WARNING_TEXT), lb.pid, "warning") == WARNING_TEXT
    text = framed(running.wait_datagram(f"generation active generation={generation}"), lb.pid, "notice")
    assert text == f"generation active generation={generation} outcome=success"
    assert lb.wait_event("generation stopped", generation=previous)


def test_reload_with_errors_keeps_the_generation(running: Running) -> None:
    lb = running.lb
    before, current = len(lb.find_events("reload aborted")), lb.generation()
    lb.path.write_text(running.config(broken=True))
    os.kill(lb.pid, signal.SIGHUP)
    aborted = lb.wait_event("reload aborted", count=before + 1)
    assert (aborted["level"], aborted["keeping_generation"]) == ("error", current)
    assert (aborted["reason"], aborted["outcome"], aborted["generation"]) == ("configuration errors", "aborted", current)
    text = framed(running.wait_datagram("reload aborted", count=before + 1), lb.pid, "alert")
    assert text.startswith("reload aborted ")
    assert {"errors=1", f"keeping_generation={current}", 'reason="configuration errors"', "outcome=aborted"} <= set(
        split_fields(text))
    lb.path.write_text(running.config())
    assert lb.generation() == current and len(lb.workers()) == 2


def test_killed_worker_is_respawned(running: Running) -> None:
    lb = running.lb
    workers = lb.workers()
    victim = workers[0]
    before = len(lb.find_events("worker exited"))
    os.kill(victim, signal.SIGKILL)
    exited = lb.wait_event("worker exited", count=before + 1)
    assert (exited["reason"], exited["action"], exited["level"]) == ("killed by SIGKILL (perhaps out of memory?)",
                                                                     "respawn", "warning")  # fmt: skip
    assert exited["generation"] == lb.generation() and exited["slot"] in (1, 2)
    assert (exited["role"], exited["pid"], exited["worker_pid"]) == ("master", lb.pid, victim)
    respawned = wait_until(lambda: len(lb.workers()) == 2 and victim not in lb.workers() and lb.workers(), 10,
                           what="a new worker in the slot")  # fmt: skip
    assert set(respawned) - set(workers)
    text = framed(running.wait_datagram(f" worker_pid={victim} "), lb.pid, "warning")
    assert text == (f"worker exited generation={exited['generation']} slot={exited['slot']} worker_pid={victim} "
                    'reason="killed by SIGKILL (perhaps out of memory?)" action=respawn')


def test_killed_checker_is_restarted(running: Running) -> None:
    lb = running.lb
    (checker,) = lb.checkers()
    os.kill(checker, signal.SIGKILL)
    restarted = lb.wait_event("checker exited", reason="killed by SIGKILL (perhaps out of memory?)")
    assert restarted["action"] == "restart" and restarted["level"] == "warning"
    wait_until(lambda: lb.checkers() and checker not in lb.checkers(), 10, what="a new checker")
    text = framed(running.wait_datagram("checker exited"), lb.pid, "warning")
    assert text.startswith("checker exited generation=") and text.endswith(" action=restart")


def test_stop(running: Running) -> None:
    lb = running.lb
    assert lb.stop() == 0
    stop = lb.find_events("stop")
    assert stop and stop[0]["mode"] == "immediate"
    assert lb.find_events("generation stopped", generation=lb_generation(lb))
    assert framed(running.wait_datagram(": stop mode=immediate"), lb.pid, "notice") == "stop mode=immediate"
    every_event = [json.loads(line) for line in lb.stderr_lines if line.startswith("{")]
    assert all(e["pid"] for e in every_event) and {e["role"] for e in every_event} >= {"master", "checker"}


def split_fields(text: str) -> list[str]:
    """`key=value` pieces of an event's syslog text (values with spaces are quoted)."""
    return re.findall(r'\w+=(?:"(?:[^"\\]|\\.)*"|\S+)', text)


def lb_generation(lb: LbProcess) -> int:
    return max(e["generation"] for e in lb.find_events("generation active"))
