"""Loopback servers and small runners for the checker tests (tests only)."""

from __future__ import annotations

import http.server
import re
import selectors
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

from lb.checker.probe import Outcome, Probe
from lb.checker.target import CheckTarget, build_targets
from lb.checker.timers import TimerHeap, now_ms
from lb.config.model import Config
from lb.config.parser import parse_files
from tests.support import free_port, wait_until

DEFAULTS = """
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
"""


def parse(tmp_path: Path, text: str, defaults: bool = True, allow_alerts: bool = False) -> Config:
    path = tmp_path / "checks.cfg"
    path.write_text((DEFAULTS if defaults else "") + text)
    config = parse_files([str(path)])
    if not allow_alerts:
        assert not config.alerts, [d.message for d in config.alerts]
    return config


def alerts(tmp_path: Path, text: str) -> list[str]:
    """Alert messages about directives (the file summaries `Error(s) found ...` left out)."""
    return [d.message for d in parse(tmp_path, text, allow_alerts=True).alerts if d.loc is not None]


def target_of(config: Config, name: str = "") -> CheckTarget:
    targets = build_targets(config)
    return next(t for t in targets if not name or t.name == name)


def run_probe(target: CheckTarget, limit: float = 10.0) -> Outcome:
    """Run one probe to completion on a private loop."""
    selector, timers = selectors.DefaultSelector(), TimerHeap()
    finished: list[Probe] = []
    probe = Probe(target, selector, timers, finished.append)
    probe.start()
    deadline = time.monotonic() + limit
    while not finished:
        assert time.monotonic() < deadline, "probe did not finish"
        delay = timers.next_delay(now_ms(), 100.0)
        for key, mask in selector.select(delay / 1000.0):
            key.data(mask)
        timers.run_due(now_ms())
    selector.close()
    assert probe.outcome is not None
    return probe.outcome


class Listener:
    """A loopback TCP server running `serve(conn)` for each connection, in threads."""

    def __init__(self, serve: Callable[[socket.socket], None], backlog: int = 64, accept: bool = True) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.serve = serve
        self.received: list[bytes] = []
        self.peers: list[tuple] = []  # client addresses, in accept order
        self.connections = 0
        self.closed = False
        if accept:
            threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.peers.append(peer)
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.serve(conn)
            except OSError:
                pass

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def read_all(conn: socket.socket, limit: float = 2.0) -> bytes:
    conn.settimeout(limit)
    data = b""
    try:
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, OSError):
        pass
    return data


def recorder(listener_holder: list, reply: bytes = b"", wait: float = 0.3) -> Callable[[socket.socket], None]:
    """A serve() that records what the client sends (for `wait` s or until close), then replies."""

    def serve(conn: socket.socket) -> None:
        data = read_all(conn, wait)
        listener_holder[0].received.append(data)
        if reply:
            conn.sendall(reply)

    return serve


def silent(conn: socket.socket) -> None:
    """Accept and never answer (until the client goes away)."""
    read_all(conn, 30.0)


def refused_port() -> int:
    return free_port()


class StuckListener:
    """A port whose accept queue is full: new connects never complete (Layer4 timeout)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)
        time.sleep(0.1)

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.sock.close()


class HttpServer:
    """http.server in a thread; `routes` maps a path to (status, body); records request heads."""

    def __init__(self, routes: dict[str, tuple[int, bytes]]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, body = outer.routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_OPTIONS = do_HEAD = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RedisServer:
    """A real redis-server on a random loopback port, no persistence."""

    BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            [self.BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, 10.0, what="redis-server to answer PING")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# -- end to end (lbctl start) ---------------------------------------------------------

CHECKS = "check inter 100ms fastinter 100ms downinter 100ms rise 2 fall 2"


def lb_config(port: int, servers: str, extra: str = "", balance: str = "roundrobin") -> str:
    return f"""
global
    nbproc 2
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    balance {balance}
{extra}
{servers}
"""


def down_line(lb, server: str, count: int = 1) -> str:
    """Wait for the `count`-th DOWN line of be/<server> on lb's stderr; return the first."""
    pattern = re.compile(rf"^\[WARNING\]  \(\d+\) : (Backup )?Server be/{server} is DOWN")
    lines = wait_until(lambda: (m := [l for l in lb.stderr_lines if pattern.search(l)]) and len(m) >= count and m,
                       15.0, what=f"be/{server} DOWN")
    return lines[0]


def up_line(lb, server: str) -> str:
    pattern = re.compile(rf"^\[WARNING\]  \(\d+\) : (Backup )?Server be/{server} is UP")
    return wait_until(lambda: next((l for l in lb.stderr_lines if pattern.search(l)), None), 15.0,
                      what=f"be/{server} UP")
