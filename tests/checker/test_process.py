"""run_checker in a real forked process against a real ShmTable.

Proves, with real loopback servers: a stopped server is marked down after
`fall` failed checks and comes back after `rise` successes (log lines and
shm agree); a killed checker restarted on the same shm resumes from the
state stored there (no spurious transition); MAINT stops checks; SIGTERM
ends the process promptly; the heartbeat moves.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import threading
from pathlib import Path

import pytest

from lb.checker import run_checker, seed_health
from lb.checker import status as st
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.util import reset_signals
from tests.checker.helpers import parse
from tests.support import wait_until

SLOT = 1


class Switchable:
    """A TCP server on a fixed port that can be stopped and started again."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.start()

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.sock = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    def stop(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None


class CheckerProcess:
    def __init__(self, config, shm: ShmTable, log: Path) -> None:
        self.log = log
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                reset_signals()
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                os.dup2(fd, 2)
                sys.stderr = open(2, "w", buffering=1, closefd=False)
                run_checker(config, shm, SLOT, os.getppid())
                code = 0
            finally:
                os._exit(code)
        self.pid = pid

    def lines(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith("[")]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        os.kill(self.pid, sig)
        return wait_until(lambda: os.waitpid(self.pid, os.WNOHANG)[0], 10.0, what="checker exit")


@pytest.fixture
def servers():
    made = [Switchable(), Switchable()]
    yield made
    for server in made:
        server.stop()


CONFIG = """backend be
  option log-health-checks
  server s1 127.0.0.1:{p1} check inter 100ms rise 2 fall 2
  server s2 127.0.0.1:{p2} check inter 100ms rise 2 fall 2
"""


def make_shm(config) -> ShmTable:
    shm = ShmTable(1, 2, len(config.all_servers()), len(config.backends), len(config.proxies()))
    for index, (_backend, server) in enumerate(config.all_servers()):
        shm.srv_weight[index] = server.weight
    seed_health(shm, config)
    return shm


def runs(shm: ShmTable, index: int) -> int:
    return shm.srv_checks[index] & 0xFFFFFFFF


def wait_lines(proc: CheckerProcess, pattern: str, count: int = 1) -> list[str]:
    regex = re.compile(pattern)
    return wait_until(lambda: (m := [l for l in proc.lines() if regex.search(l)]) and len(m) >= count and m,
                      10.0, what=f"log line {pattern!r}")


def test_down_after_fall_failures_and_up_after_rise_successes(tmp_path, servers):
    config = parse(tmp_path, CONFIG.format(p1=servers[0].port, p2=servers[1].port))
    shm = make_shm(config)
    proc = CheckerProcess(config, shm, tmp_path / "checker.err")
    try:
        wait_until(lambda: shm.srv_health[1] == 3, 10.0, what="s2 fully up")
        servers[1].stop()
        wait_until(lambda: shm.srv_up[1] == 0, 10.0, what="s2 down")
        assert shm.srv_status[1] == st.L4CON and shm.srv_health[1] == 0
        assert shm.srv_checks[1] >> 32 == 2  # exactly `fall` failures counted from fully up
        down = wait_lines(proc, r"Server be/s2 is DOWN")
        assert re.fullmatch(r"\[WARNING\]  \(\d+\) : Server be/s2 is DOWN\. 1 active and 0 backup servers left\. "
                            r"0 sessions active, 0 requeued, 0 remaining in queue\.", down[0])
        servers[1].start()
        wait_until(lambda: shm.srv_up[1] == 1, 10.0, what="s2 up again")
        wait_lines(proc, r"Server be/s2 is UP\. 2 active and 0 backup servers online\.")
    finally:
        assert proc.stop() == proc.pid
    s2 = [line.split(" : ", 1)[1] for line in proc.lines() if "be/s2" in line]
    failed = [line for line in s2 if " failed, " in line]
    # refused; or reset, for a check whose connection was in s2's accept queue when it stopped
    assert failed and all(re.match(r'Health check for server be/s2 failed, reason: Layer4 connection problem, '
                                   r'info: "Connection (refused|reset by peer)", check duration: ', line)
                          for line in failed)  # fmt: skip
    statuses = [line.rsplit("status: ", 1)[1].rstrip(".") for line in s2 if line.startswith("Health check")]
    down_at = statuses.index("0/2 DOWN")
    assert statuses[down_at - 1] == "1/2 UP"  # fall 2: one failure tolerated, the second takes it down
    assert statuses[down_at + 1:down_at + 3] == ["1/2 DOWN", "2/2 UP"]  # rise 2: two successes bring it back
    assert [line.split(" is ")[1][:4] for line in s2 if line.startswith("Server")] == ["DOWN", "UP. "]


def test_restarted_checker_resumes_from_shm(tmp_path, servers):
    config = parse(tmp_path, CONFIG.format(p1=servers[0].port, p2=servers[1].port))
    shm = make_shm(config)
    servers[1].stop()
    first = CheckerProcess(config, shm, tmp_path / "first.err")
    try:
        wait_until(lambda: shm.srv_up[1] == 0 and shm.srv_health[0] == 3, 10.0, what="s2 down, s1 fully up")
    finally:
        first.stop(signal.SIGKILL)
    assert wait_lines(first, r"Server be/s2 is DOWN")
    seen = runs(shm, 0), runs(shm, 1)
    second = CheckerProcess(config, shm, tmp_path / "second.err")
    try:
        wait_until(lambda: runs(shm, 0) >= seen[0] + 3 and runs(shm, 1) >= seen[1] + 3, 10.0,
                   what="the restarted checker to run checks")
        assert (shm.srv_up[0], shm.srv_health[0], shm.srv_up[1], shm.srv_health[1]) == (1, 3, 0, 0)
    finally:
        second.stop()
    # A checker starting from the config would have believed s2 up and reported it DOWN again.
    assert not [line for line in second.lines() if "is DOWN" in line or "is UP" in line]


def test_maintenance_stops_checks_and_leaving_it_checks_at_once(tmp_path, servers):
    config = parse(tmp_path, CONFIG.format(p1=servers[0].port, p2=servers[1].port))
    shm = make_shm(config)
    proc = CheckerProcess(config, shm, tmp_path / "checker.err")
    try:
        wait_until(lambda: runs(shm, 0) >= 2, 10.0, what="checks on s1")
        shm.srv_admin[0] = layout.ADMIN_MAINT
        wait_until(lambda: runs(shm, 1) >= runs(shm, 0) + 5, 10.0, what="s2 checks to go on without s1")
        frozen = runs(shm, 0)
        wait_until(lambda: runs(shm, 1) >= runs(shm, 0) + 15, 10.0, what="more s2 checks")
        assert runs(shm, 0) == frozen
        shm.srv_admin[0] = layout.ADMIN_READY
        wait_until(lambda: runs(shm, 0) > frozen, 10.0, what="s1 checked again")
    finally:
        proc.stop()


def test_heartbeat_and_prompt_sigterm(tmp_path, servers):
    config = parse(tmp_path, CONFIG.format(p1=servers[0].port, p2=servers[1].port))
    shm = make_shm(config)
    proc = CheckerProcess(config, shm, tmp_path / "checker.err")
    try:
        pid, _gen, beat, state = wait_until(lambda: (s := shm.slot(SLOT)) and s[0] == proc.pid and s, 10.0)
        assert state == layout.SLOT_RUNNING
        wait_until(lambda: shm.slot(SLOT)[2] > beat, 10.0, what="a newer heartbeat")
    finally:
        proc.stop()
    assert shm.slot(SLOT)[3] == layout.SLOT_STOPPING
