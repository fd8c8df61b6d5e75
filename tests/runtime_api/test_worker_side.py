"""What the runtime API's commands do to the workers' traffic (real lb, 2 workers).

The master writes a command's effect into shared memory or asks the workers
over their control channels (workers/control.py); these tests check the
effect on real connections: `show sess` lists them, `shutdown session(s)`
ends them (logged with state K), `disable frontend` and `set maxconn
frontend` hold new connections back, and the counters of a `listen`, of
listeners with `option socket-stats` and of TCP frontends follow the bytes sent.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime_api.lab import text
from tests.scenarios.http.httpkit import request
from tests.scenarios.http.origins import Origin
from tests.support import LbProcess, TagServer, free_port, wait_until

CONFIG = """
global
    nbthread 2
    stats socket {dir}/admin.sock mode 600 level admin

defaults
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    log stdout format raw local0

listen tl
    mode tcp
    option tcplog
    option socket-stats
    bind 127.0.0.1:{tl}
    bind 127.0.0.1:{tl2}
    balance roundrobin
    server t1 127.0.0.1:{t1}
    server t2 127.0.0.1:{t2}

listen web
    mode http
    option httplog
    bind 127.0.0.1:{web}
    server w1 127.0.0.1:{origin}

listen counted
    mode http
    bind 127.0.0.1:{counted}
    server c1 127.0.0.1:{origin}
"""


class Lab:
    def __init__(self, directory: Path) -> None:
        self.t1, self.t2 = TagServer("t1"), TagServer("t2")
        self.origin = Origin("w1")
        self.ports = {"tl": free_port(), "tl2": free_port(), "web": free_port(), "counted": free_port()}
        self.sock = str(directory / "admin.sock")
        self.lb = LbProcess(directory, CONFIG.format(dir=directory, t1=self.t1.port, t2=self.t2.port,
                                                     origin=self.origin.port, **self.ports)).start()  # fmt: skip

    def ask(self, command: str) -> str:
        return text(self.sock, command)

    def stat(self, proxy: str, name: str) -> dict[str, str]:
        lines = self.ask("show stat").splitlines()
        header = lines[0][2:].split(",")
        for line in lines[1:]:
            cells = line.split(",")
            if cells[:2] == [proxy, name]:
                return dict(zip(header, cells, strict=False))
        raise AssertionError(f"no row {proxy}/{name}")

    def close(self) -> None:
        self.lb.stop()
        for server in (self.t1, self.t2):
            server.close()
        self.origin.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    running = Lab(tmp_path_factory.mktemp("worker_side"))
    try:
        yield running
    finally:
        running.close()


def tcp_stream(port: int) -> tuple[socket.socket, str]:
    """A TCP stream through lb, its server's greeting read (so it is connected)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    greeting = sock.recv(100).decode().strip()
    return sock, greeting


def closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def session_lines(lab: Lab) -> list[str]:
    return [line for line in lab.ask("show sess").splitlines() if line.startswith("0x")]


# -- streams --------------------------------------------------------------------------------------


def test_show_sess_lists_a_stream_and_shutdown_session_ends_it(lab: Lab) -> None:
    sock, server = tcp_stream(lab.ports["tl"])
    port = sock.getsockname()[1]
    try:
        mine = wait_until(lambda: [line for line in session_lines(lab) if f"src=127.0.0.1:{port} " in line],
                          what="the stream in show sess")[0]  # fmt: skip
        assert re.fullmatch(rf"0x[0-9a-f]+: proto=tcpv4 src=127\.0\.0\.1:{port} fe=tl be=tl srv={server} age=\d+s",
                            mine), mine  # fmt: skip
        assert lab.ask(f"shutdown session {mine.split(':')[0]}") == ""
        assert closed(sock)
        wait_until(lambda: re.search(rf"127\.0\.0\.1:{port} .* tl tl/{server} .* KD ", lab.lb.stdout_text()),
                   what="the tcplog line with state KD")  # fmt: skip
        assert lab.ask(f"shutdown session {mine.split(':')[0]}") == "No such session (use 'show sess').\n"
    finally:
        sock.close()


def test_shutdown_sessions_server_ends_only_that_servers_streams(lab: Lab) -> None:
    streams = [tcp_stream(lab.ports["tl"]) for _ in range(4)]  # roundrobin: both servers
    try:
        on_t1 = [sock for sock, server in streams if server == "t1"]
        on_t2 = [sock for sock, server in streams if server == "t2"]
        assert on_t1 and on_t2
        assert lab.ask("shutdown sessions server tl/t1") == ""
        assert all(closed(sock) for sock in on_t1)
        for sock in on_t2:  # still relayed
            sock.sendall(b"ping\n")
            assert sock.recv(100) == b"ping\n"
    finally:
        for sock, _server in streams:
            sock.close()


def test_an_http_exchange_in_flight_is_killed_and_logged(lab: Lab) -> None:
    sock = socket.create_connection(("127.0.0.1", lab.ports["web"]), timeout=5)
    try:
        sock.sendall(b"GET /slow/delay/5000 HTTP/1.1\r\nHost: x\r\n\r\n")
        port = sock.getsockname()[1]
        line = wait_until(lambda: [s for s in session_lines(lab) if f"src=127.0.0.1:{port} " in s and "srv=w1" in s],
                          what="the exchange on w1 in show sess")[0]  # fmt: skip
        assert " fe=web be=web srv=w1 " in line
        assert lab.ask("shutdown sessions server web/w1") == ""
        assert closed(sock)
        wait_until(lambda: re.search(rf"127\.0\.0\.1:{port} .* web web/w1 .* KH-- ", lab.lb.stdout_text()),
                   what="the httplog line with state KH")  # fmt: skip
    finally:
        sock.close()


# -- limits ------------------------------------------------------------------------------------------


def answered_within(port: int, seconds: float) -> bool:
    """Whether a new connection gets its response within `seconds`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.settimeout(seconds)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            return sock.recv(100).startswith(b"HTTP/1.1 200")
        except TimeoutError:
            return False


def test_a_disabled_frontend_accepts_nothing_until_enabled(lab: Lab) -> None:
    assert lab.ask("disable frontend web") == ""
    try:
        assert lab.stat("web", "FRONTEND")["status"] == "PAUSED"
        wait_until(lambda: not answered_within(lab.ports["web"], 0.5), what="the workers to pause")
        assert not answered_within(lab.ports["web"], 1.0)
    finally:
        assert lab.ask("enable frontend web") == ""
    wait_until(lambda: answered_within(lab.ports["web"], 1.0), what="served again")


def test_set_maxconn_frontend_holds_new_connections_back(lab: Lab) -> None:
    assert lab.ask("set maxconn frontend web 1") == ""
    held = [socket.create_connection(("127.0.0.1", lab.ports["web"]), timeout=5) for _ in range(2)]
    try:  # with two workers, one connection each may be accepted before the limit is seen
        wait_until(lambda: not answered_within(lab.ports["web"], 0.5), what="the limit applied")
    finally:
        for sock in held:
            sock.close()
        assert lab.ask("set maxconn frontend web 0") == ""
    wait_until(lambda: answered_within(lab.ports["web"], 1.0), what="served again")


# -- counters ----------------------------------------------------------------------------------------


def test_a_listen_counts_its_frontend_and_backend_sides_once(lab: Lab) -> None:
    """Each side of a listen has its own row: 3 requests are 3 on each, not 6 on one."""
    for _ in range(3):
        assert request(lab.ports["counted"]).status == 200
    wait_until(lambda: lab.stat("counted", "c1")["req_tot"] == "3", what="the server's count")
    frontend, backend = lab.stat("counted", "FRONTEND"), lab.stat("counted", "BACKEND")
    assert (frontend["stot"], frontend["req_tot"], backend["stot"], backend["req_tot"]) == ("3", "3", "3", "3")
    assert frontend["bout"] == backend["bout"] != "0"


def test_listener_rows_and_tcp_bytes_follow_the_traffic(lab: Lab) -> None:
    for port in (lab.ports["tl"], lab.ports["tl2"], lab.ports["tl2"]):
        sock, _server = tcp_stream(port)
        sock.sendall(b"0123456789\n")
        assert sock.recv(100) == b"0123456789\n"
        sock.close()
    rows = wait_until(lambda: [r for r in (lab.stat("tl", "sock-1"), lab.stat("tl", "sock-2"))
                               if int(r["bin"]) > 0 and int(r["stot"]) > 0] or None,
                      what="listener rows counting")  # fmt: skip
    assert rows
    wait_until(lambda: int(lab.stat("tl", "sock-2")["stot"]) >= 2, what="the second listener's sessions")
    frontend = wait_until(lambda: (lambda row: row if int(row["bin"]) >= 33 else None)(lab.stat("tl", "FRONTEND")),
                          what="the frontend's bytes")  # fmt: skip
    assert int(frontend["bout"]) >= 33  # TCP frontends count their bytes


def test_clear_counters_zeroes_the_maxima_the_workers_keep(lab: Lab) -> None:
    held = [tcp_stream(lab.ports["tl"])[0] for _ in range(3)]
    wait_until(lambda: int(lab.stat("tl", "FRONTEND")["smax"]) >= 3, what="a maximum of 3 sessions")
    for sock in held:
        sock.close()
    wait_until(lambda: lab.stat("tl", "FRONTEND")["scur"] == "0", what="the streams ended")
    assert lab.ask("clear counters") == ""
    wait_until(lambda: lab.stat("tl", "FRONTEND")["smax"] == "0", what="the maximum cleared by every worker")
    assert int(lab.stat("tl", "FRONTEND")["stot"]) > 0  # `clear counters` without `all` keeps the totals
