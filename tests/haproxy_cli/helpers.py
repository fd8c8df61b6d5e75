"""A real `lb-haproxy` process for the tests (tests only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.support import REPO, children_of, wait_until

COMMAND = [sys.executable, "-m", "lb.haproxy_cli"]


def run_cli(*args: str, timeout: float = 60.0, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`lb-haproxy args...` to completion."""
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or REPO, env=env)  # fmt: skip


def haproxy_env() -> dict[str, str]:
    """The environment, with this tree first on the import path (cwd need not be the repo)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class HaproxyProcess:
    """`lb-haproxy <args>` running in the background; its JSON events are read from stderr."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, pass_fds: tuple[int, ...] = ()) -> None:
        self.proc = subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                                     env=env or haproxy_env(), pass_fds=pass_fds)  # fmt: skip
        self.lines: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            with self.lock:
                self.lines.append(line)
                if line.startswith("{"):
                    try:
                        self.events.append(json.loads(line))
                    except ValueError:
                        pass

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)

    def count(self, event: str) -> int:
        with self.lock:
            return sum(1 for e in self.events if e.get("event") == event)

    def wait_active(self, count: int = 1, timeout: float = 20.0) -> None:
        def active() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"lb-haproxy exited ({self.proc.returncode}):\n{self.text()}")
            return self.count("generation active") >= count

        wait_until(active, timeout, what="generation active")

    def wait(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                for pid in children_of(self.pid):
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait(5)


def tcp_config(port: int, server_port: int, extra_global: str = "", bind: str | None = None) -> str:
    return f"""
global
    nbproc 2
    hard-stop-after 20s
{extra_global}
defaults
    mode tcp
    timeout connect 2s
    timeout client 20s
    timeout server 20s
frontend fe
    bind {bind or f"127.0.0.1:{port}"}
    default_backend be
backend be
    server s1 127.0.0.1:{server_port}
"""
