"""lb and HAProxy side by side: the same config, the same exchanges, the same log lines.

Both run on loopback with `log stdout format raw`; each exchange is played
against both and the two lines are compared with lb.logs.compare (ports,
dates and timers by shape, everything else byte for byte).  Needs the
`haproxy` binary (Debian's 2.6); without it the compiler is still checked
against recorded HAProxy lines (test_logs_compiler).
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lb.logs.compare import assert_same_line
from tests.support import LbProcess, TagServer, free_port, wait_until

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")

CONFIG = """
global
    nbthread 1
defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    log stdout format raw local0
frontend ft_tcp
    mode tcp
    bind 127.0.0.1:{ft_tcp}
    option tcplog
    default_backend bk_tcp
frontend ft_tcp_null
    mode tcp
    bind 127.0.0.1:{ft_tcp_null}
    option tcplog
    option dontlognull
    default_backend bk_tcp
frontend ft_nosrv
    mode tcp
    bind 127.0.0.1:{ft_nosrv}
    option tcplog
    default_backend bk_nosrv
frontend ft_http
    mode http
    bind 127.0.0.1:{ft_http}
    option httplog
    capture request header Host len 32
    default_backend bk_http
frontend ft_http_nosrv
    mode http
    bind 127.0.0.1:{ft_http_nosrv}
    option httplog
    default_backend bk_http_nosrv
backend bk_tcp
    mode tcp
    server s1 127.0.0.1:{echo}
backend bk_nosrv
    mode tcp
    server s1 127.0.0.1:{echo} disabled
backend bk_http
    mode http
    server web1 127.0.0.1:{web}
backend bk_http_nosrv
    mode http
    server web1 127.0.0.1:{web} disabled
"""
FRONTENDS = ("ft_tcp", "ft_tcp_null", "ft_nosrv", "ft_http", "ft_http_nosrv")


class Web(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class HAProxy:
    def __init__(self, directory: Path, config: str) -> None:
        (directory / "haproxy.cfg").write_text(config)
        self.lines: list[str] = []
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(directory / "haproxy.cfg")],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def ports() -> dict[str, int]:
    return {name: free_port() for name in FRONTENDS}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Callable[[str, Callable[[int], None]], tuple[list[str], list[str]]], dict]]:
    echo = TagServer("echo", greet=False)
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Web)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    ours_ports, theirs_ports = ports(), ports()
    backends = {"echo": echo.port, "web": web.server_address[1]}
    (tmp_path / "lb").mkdir()
    lb = LbProcess(tmp_path / "lb", CONFIG.format(**ours_ports, **backends)).start()
    haproxy = HAProxy(tmp_path, CONFIG.format(**theirs_ports, **backends))
    wait_until(lambda: all(_listening(p) for p in theirs_ports.values()), 10, what="haproxy listening")

    def play(frontend: str, action: Callable[[int], None]) -> tuple[list[str], list[str]]:
        before = len(lb.stdout_lines), len(haproxy.lines)
        action(ours_ports[frontend])
        action(theirs_ports[frontend])
        return lb.stdout_lines[before[0]:], haproxy.lines[before[1]:]

    yield play, {"lb": lb, "haproxy": haproxy}
    lb.stop()
    haproxy.stop()
    echo.close()
    web.shutdown()


def _listening(port: int) -> bool:
    """A listening socket on `port`, seen in /proc/net/tcp (a probe connection would be logged)."""
    with open("/proc/net/tcp") as fh:
        return any(f":{port:04X} " in line and line.split()[3] == "0A" for line in fh)


def exchange(payload: bytes) -> Callable[[int], None]:
    def run(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            if payload:
                sock.sendall(payload)
            try:
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(65536):
                    pass
            except OSError:  # ECONNRESET, ENOTCONN: HAProxy resets a client whose data it never read (NOSRV)
                pass

    return run


HTTP_GET = b"GET /index.html?x=1 HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n"
CASES = [
    pytest.param("ft_tcp", exchange(b"hello\n"), set(), id="ft_tcp"),
    pytest.param("ft_nosrv", exchange(b"hello\n"), set(), id="ft_nosrv"),
    pytest.param("ft_http", exchange(HTTP_GET), set(), id="ft_http"),
    pytest.param("ft_http_nosrv", exchange(HTTP_GET), set(), id="ft_http_nosrv"),
]


@pytest.mark.parametrize(("frontend", "action", "loose"), CASES)
def test_same_line_as_haproxy(pair: tuple, frontend: str, action: Callable[[int], None], loose: set) -> None:
    play, procs = pair
    lb, haproxy = procs["lb"], procs["haproxy"]
    before = len(lb.stdout_lines), len(haproxy.lines)
    play(frontend, action)
    wait_until(lambda: len(lb.stdout_lines) > before[0] and len(haproxy.lines) > before[1], 10, what="both lines")
    ours, theirs = lb.stdout_lines[before[0]:], haproxy.lines[before[1]:]
    assert len(ours) == len(theirs) == 1, (ours, theirs)
    assert_same_line(ours[0], theirs[0], loose=loose)


def test_dontlognull_silences_both(pair: tuple) -> None:
    play, procs = pair
    lb, haproxy = procs["lb"], procs["haproxy"]
    before = len(lb.stdout_lines), len(haproxy.lines)
    play("ft_tcp_null", exchange(b""))
    play("ft_tcp_null", exchange(b"x"))  # this one is logged by both: it proves the first was not
    wait_until(lambda: len(lb.stdout_lines) > before[0] and len(haproxy.lines) > before[1], 10, what="both lines")
    ours, theirs = lb.stdout_lines[before[0]:], haproxy.lines[before[1]:]
    assert len(ours) == len(theirs) == 1, (ours, theirs)
    assert_same_line(ours[0], theirs[0])
