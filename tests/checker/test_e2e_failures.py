"""The checker of a real lb meets real failures from outside, and goes on (lbctl start, loopback).

- The backend's `log unix@PATH` socket is removed: every state change the
  checker sends there is lost, the loss is reported once (`log send failed`,
  role checker), and the state changes go on being detected and printed.
- The checker runs out of file descriptors (its RLIMIT_NOFILE lowered from
  outside with prlimit(2)): every check attempt fails with a clear status
  (`Socket error`, "Too many open files"), so the servers go DOWN; once the
  limit is back they come UP again.  Throughout, the checker process is the
  same (no crash, no restart) and it holds no more descriptors than before.

No failure from outside is known to make an exception escape a callback
(tests/checker/test_failures.py injects those in process).
"""

from __future__ import annotations

import os
import resource
import socket
from pathlib import Path

import pytest

from tests.support import LbProcess, TagServer, free_port, tag_of, wait_until

CONFIG = """
global
    nbproc 1
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    log unix@{log} local0
    server A 127.0.0.1:{a} check inter 100ms rise 1 fall 1
    server B 127.0.0.1:{b} check inter 100ms rise 1 fall 1
"""


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_the_checker_survives_a_lost_log_socket_and_running_out_of_descriptors(tmp_path: Path) -> None:
    log_path = tmp_path / "log.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(log_path))
    receiver.settimeout(10)
    a, b, port = TagServer("A"), TagServer("B"), free_port()
    lb = LbProcess(tmp_path, CONFIG.format(port=port, log=log_path, a=a.port, b=b.port)).start()
    try:
        (checker,) = wait_until(lb.checkers, 10, what="the checker")
        baseline = fds(checker)

        # 1. the log socket disappears: state changes are still detected, the loss reported once
        receiver.close()
        log_path.unlink()
        a.close()
        lb.wait_event("server_state", server="A", state="DOWN")
        a = TagServer("A", port=a.port)
        lb.wait_event("server_state", server="A", state="UP")
        a.close()
        lb.wait_event("server_state", server="A", state="DOWN", count=2)
        (lost,) = lb.find_events("log send failed")
        assert lost["role"] == "checker" and lost["target"] == f"unix@{log_path}"
        assert {tag_of(port) for _ in range(4)} == {"B"}

        # 2. no descriptor left for a check socket
        limits = resource.prlimit(checker, resource.RLIMIT_NOFILE)
        try:
            resource.prlimit(checker, resource.RLIMIT_NOFILE, (3, limits[1]))  # fds 0-2 are taken: EMFILE
        except PermissionError:
            pytest.skip("prlimit(2) on another process is not permitted here")
        try:
            down = lb.wait_event("server_state", server="B", state="DOWN")
            assert 'reason: Socket error, info: "Too many open files"' in down["message"]
        finally:
            resource.prlimit(checker, resource.RLIMIT_NOFILE, limits)
        lb.wait_event("server_state", server="B", state="UP")
        assert {tag_of(port) for _ in range(4)} == {"B"}

        assert lb.checkers() == [checker] and not lb.find_events("checker restart")
        assert not lb.find_events("internal error")
        wait_until(lambda: fds(checker) <= baseline, 5, what="the checker back to its descriptors")
        assert "Traceback" not in lb.stderr_text()
    finally:
        lb.stop()
        a.close()
        b.close()
