"""Test helpers: real lb processes, real loopback backends and clients (tests only).

`LbProcess` runs `python -m lb start --foreground` on a generated config and
reads its JSON events from stderr; backends are small threaded servers in
the test process (lb runs in its own processes, so they are real peers).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent


_HANDED_OUT: set[tuple[str, int]] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, never one this process was given before: the
    kernel may offer a port again once its probe is closed, and two frontends
    of one test would then share an address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if (host, port) not in _HANDED_OUT:
            _HANDED_OUT.add((host, port))
            return port


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def proctitle(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


class LbProcess:
    """A real `lbctl start --foreground` on a config written to `directory`."""

    def __init__(self, directory: Path, config: str, name: str = "lb.cfg") -> None:
        self.directory = directory
        self.path = directory / name
        self.path.write_text(config)
        self.proc: subprocess.Popen[bytes] | None = None
        self.events: list[dict[str, Any]] = []
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._lock = threading.Lock()

    # -- running ---------------------------------------------------------------

    def start(self, timeout: float = 15.0, wait: bool = True, extra: list[str] | None = None,
              preexec: Callable[[], None] | None = None) -> "LbProcess":  # fmt: skip
        cmd = [sys.executable, "-m", "lb", "start", "--foreground", "-f", str(self.path), "--log-format", "json"]
        self.proc = subprocess.Popen(cmd + (extra or []), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                                     preexec_fn=preexec)  # fmt: skip
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr_lines, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout_lines, False), daemon=True).start()
        if wait:
            self.wait_event("generation active", timeout=timeout)
        return self

    def _read(self, stream: Any, lines: list[str], parse: bool) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            with self._lock:
                lines.append(line)
                if parse and line.startswith("{"):
                    try:
                        self.events.append(json.loads(line))
                    except ValueError:
                        pass

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def find_events(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("event") == name
                    and all(e.get(k) == v for k, v in fields.items())]  # fmt: skip

    def wait_event(self, name: str, timeout: float = 15.0, count: int = 1, **fields: Any) -> dict[str, Any]:
        def found() -> Any:
            if self.proc is not None and self.proc.poll() is not None and len(self.find_events(name, **fields)) < count:
                raise AssertionError(f"lb exited ({self.proc.returncode}) before '{name}':\n" + self.stderr_text())
            matches = self.find_events(name, **fields)
            return matches[count - 1] if len(matches) >= count else None

        return wait_until(found, timeout, what=f"event {name!r} {fields}")

    def stderr_text(self) -> str:
        with self._lock:
            return "\n".join(self.stderr_lines)

    def stdout_text(self) -> str:
        with self._lock:
            return "\n".join(self.stdout_lines)

    def generation(self) -> int:
        title = proctitle(self.pid).split()
        return int(title[title.index("gen") + 1]) if "gen" in title else 0

    def workers(self) -> list[int]:
        return [pid for pid in children_of(self.pid) if "worker" in proctitle(pid) and "stopping" not in proctitle(pid)]

    def checkers(self) -> list[int]:
        return [pid for pid in children_of(self.pid) if "checker" in proctitle(pid)]

    def reload(self, config: str | None = None, timeout: float = 20.0) -> int:
        """Rewrite the config (if given), SIGHUP, wait for the next generation to be active."""
        if config is not None:
            self.path.write_text(config)
        count = len(self.find_events("generation active")) + 1
        os.kill(self.pid, signal.SIGHUP)
        return self.wait_event("generation active", timeout=timeout, count=count)["generation"]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in children_of(self.pid):
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def lbctl(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lb", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)  # fmt: skip


# -- backends ------------------------------------------------------------------------


class _ThreadingTCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


class TagServer:
    """TCP server that sends its name and a newline, then echoes; counts live connections."""

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0, greet: bool = True) -> None:
        self.name = name
        self.greet = greet
        self.live = 0
        self.total = 0
        self.received: list[bytes] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._enter()
                try:
                    outer.serve(self.request)
                finally:
                    outer._leave()

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        _ThreadingTCPServer.address_family = family
        self.server = _ThreadingTCPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def _enter(self) -> None:
        with self._lock:
            self.live += 1
            self.total += 1

    def _leave(self) -> None:
        with self._lock:
            self.live -= 1

    def serve(self, conn: socket.socket) -> None:
        if self.greet:
            conn.sendall(self.name.encode() + b"\n")
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def tag_of(port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> str:
    """Connect through lb, read the backend's name line, close."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(64)
            if not chunk:
                raise ConnectionError(f"closed after {data!r}")
            data += chunk
        return data.decode().strip()
