"""A running lb whose log destinations fail: traffic goes on, the loss is reported once.

Two real lbs (tcp mode, one worker: each process reports its own losses
once, tcplog lines):
- `log unix@PATH`: the receiving unix datagram socket is closed and removed
  while lb runs, then bound again: every connection is served, the worker
  reports one `log send failed` event, and lines flow again once the socket
  is back (the sink reconnects within a second);
- `log stdout`: lb's stdout is a pipe whose reader closes it: every
  connection is served, one `log send failed` (Broken pipe) is reported,
  and lb stops cleanly.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from tests.support import REPO, LbProcess, TagServer, free_port, tag_of, wait_until

CONFIG = """
global
    nbproc 1
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    option tcplog
    log {target} format raw local0
    default_backend be
backend be
    server s1 127.0.0.1:{backend}
"""


def serve(lb_port: int, count: int) -> None:
    """`count` connections through lb, each answered by the backend."""
    for _ in range(count):
        assert tag_of(lb_port) == "s1"


def test_a_unix_log_socket_removed_while_lb_runs(tmp_path: Path) -> None:
    path = tmp_path / "log.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.settimeout(5)
    backend, port = TagServer("s1"), free_port()
    lb = LbProcess(tmp_path, CONFIG.format(port=port, backend=backend.port, target=f"unix@{path}")).start()
    try:
        serve(port, 1)
        assert receiver.recv(4096).startswith(b"127.0.0.1:")
        receiver.close()
        path.unlink()
        serve(port, 20)  # each line is lost: none of it reaches the clients
        report = lb.wait_event("log send failed")
        assert report["target"] == f"unix@{path}" and report["role"] == "worker"
        assert report["reason"] in ("Connection refused", "No such file or directory")
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.bind(str(path))
        receiver.setblocking(False)
        wait_until(lambda: _served_and_logged(port, receiver), 15, interval=0.2, what="lines after the socket is back")
        assert len(lb.find_events("log send failed")) == 1
        assert lb.proc is not None and lb.proc.poll() is None
    finally:
        assert lb.stop() == 0
        receiver.close()
        backend.close()
    assert "Traceback" not in lb.stderr_text()


def _served_and_logged(port: int, receiver: socket.socket) -> bool:
    serve(port, 1)
    try:
        return receiver.recv(4096).startswith(b"127.0.0.1:")
    except BlockingIOError:
        return False


class LbWithStdoutPipe(LbProcess):
    """lbctl start whose stdout is a pipe this test reads, then closes."""

    def start(self, timeout: float = 15.0, wait: bool = True, extra: list[str] | None = None,
              preexec: Callable[[], None] | None = None) -> "LbWithStdoutPipe":  # fmt: skip
        self.stdout_read, write_end = os.pipe()
        cmd = [sys.executable, "-m", "lb", "start", "--foreground", "-f", str(self.path), "--log-format", "json"]
        self.proc = subprocess.Popen(cmd, stdout=write_end, stderr=subprocess.PIPE, cwd=REPO)
        os.close(write_end)
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr_lines, True), daemon=True).start()
        self.wait_event("generation active", timeout=timeout)
        return self

    def read_stdout(self) -> bytes:
        ready, _, _ = select.select([self.stdout_read], [], [], 5)
        return os.read(self.stdout_read, 65536) if ready else b""


def test_a_closed_stdout_pipe(tmp_path: Path) -> None:
    backend, port = TagServer("s1"), free_port()
    lb: Any = LbWithStdoutPipe(tmp_path, CONFIG.format(port=port, backend=backend.port, target="stdout")).start()
    try:
        serve(port, 1)
        assert lb.read_stdout().startswith(b"127.0.0.1:")
        os.close(lb.stdout_read)
        serve(port, 20)
        report = lb.wait_event("log send failed")
        assert report["target"] == "fd@1" and report["reason"] == "Broken pipe" and report["role"] == "worker"
        serve(port, 5)
        assert lb.proc.poll() is None
    finally:
        assert lb.stop() == 0
        backend.close()
    assert len(lb.find_events("log send failed")) == 1
    assert "Traceback" not in lb.stderr_text()
