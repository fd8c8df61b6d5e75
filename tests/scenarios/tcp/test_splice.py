"""Kernel splicing of mode tcp streams (option splice-*, nosplice) through a real lb.

Spliced bytes never enter the worker, so what these tests check is what
splicing must keep: every byte delivered in order both ways at once,
half-closes propagated, the log line's %U/%B and the stats' bin/bout equal
to what was sent (the stick tables' too, after tcp-request content rules read
the first bytes), timeouts.  That the worker really splices is seen in its
descriptors: each spliced direction holds a pipe (/proc/<worker>/fd).
CI runs this file in pure Python too (LB_PURE_PYTHON=1, .ci/run).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest

from tests.runtime_api.lab import cli
from tests.scenarios.tcp.test_relay import digest_until_eof, pattern, send_pattern
from tests.support import LbProcess, free_port, wait_until

SIZE = 8 << 20  # each way, per stream
CONFIG = """
global
    nbproc 1
    log stdout format raw local0
    stats socket {dir}/admin.sock level admin
defaults
    mode tcp
    log global
    log-format "%ft %b %U %B %ts"
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe_both
    bind 127.0.0.1:{p_both}
    option splice-request
    option splice-response
    default_backend be_bulk
frontend fe_auto
    bind 127.0.0.1:{p_auto}
    option splice-auto
    default_backend be_bulk
frontend fe_via_backend
    bind 127.0.0.1:{p_via_backend}
    default_backend be_bulk_spliced
frontend fe_copy
    bind 127.0.0.1:{p_copy}
    default_backend be_bulk
frontend fe_inspect
    bind 127.0.0.1:{p_inspect}
    option splice-request
    option splice-response
    tcp-request inspect-delay 2s
    stick-table type ip size 1k expire 1m store bytes_in_cnt,bytes_out_cnt
    tcp-request content track-sc0 src
    tcp-request content accept if {{ req.len ge 100 }}
    default_backend be_bulk
frontend fe_idle
    bind 127.0.0.1:{p_idle}
    option splice-request
    option splice-response
    timeout client 300ms
    default_backend be_echo
backend be_bulk
    server s1 127.0.0.1:{bulk}
backend be_bulk_spliced
    option splice-request
    option splice-response
    server s1 127.0.0.1:{bulk}
backend be_echo
    server s1 127.0.0.1:{echo}
"""
FRONTENDS = ("both", "auto", "via_backend", "copy", "inspect", "idle")


class BulkServer:
    """Per connection: sends SIZE pattern bytes then half-closes, while hashing what it
    receives until the client's FIN (both directions at once)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.uploads: list[tuple[str, int]] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        sender = threading.Thread(target=send_pattern, args=(conn, SIZE, True))
        sender.start()
        upload = digest_until_eof(conn)
        sender.join()
        conn.close()
        self.uploads.append(upload)


class EchoServer:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            threading.Thread(target=self.echo, args=(conn,), daemon=True).start()

    @staticmethod
    def echo(conn: socket.socket) -> None:
        with conn:
            while chunk := conn.recv(65536):
                conn.sendall(chunk)


class Setup:
    def __init__(self, directory: Path) -> None:
        self.bulk, self.echo = BulkServer(), EchoServer()
        self.ports = {name: free_port() for name in FRONTENDS}
        self.socket = str(directory / "admin.sock")
        text = CONFIG.format(dir=directory, bulk=self.bulk.port, echo=self.echo.port,
                             **{f"p_{name}": port for name, port in self.ports.items()})  # fmt: skip
        self.lb = LbProcess(directory, text).start()

    def log_lines(self, frontend: str) -> list[list[str]]:
        return [line.split() for line in self.lb.stdout_text().splitlines() if line.startswith(frontend + " ")]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    made = Setup(tmp_path_factory.mktemp("splice"))
    yield made
    made.lb.stop()


def transfer(port: int) -> tuple[str, int]:
    """SIZE bytes up with a half-close, while reading the server's SIZE bytes down."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=60)
    result: list[tuple[str, int]] = []
    reader = threading.Thread(target=lambda: result.append(digest_until_eof(conn)))
    reader.start()
    send_pattern(conn, SIZE, shutdown=True)
    reader.join(120)
    conn.close()
    assert result, "the download did not finish"
    return result[0]


@pytest.mark.parametrize("frontend", ["both", "auto", "via_backend", "copy", "inspect"])
def test_bulk_both_ways_byte_exact_and_counted(setup: Setup, frontend: str) -> None:
    expected = (hashlib.sha256(pattern(SIZE)).hexdigest(), SIZE)
    uploads = len(setup.bulk.uploads)
    assert transfer(setup.ports[frontend]) == expected
    wait_until(lambda: len(setup.bulk.uploads) > uploads, timeout=30, what="upload complete")
    assert setup.bulk.uploads[-1] == expected
    line = wait_until(lambda: setup.log_lines(f"fe_{frontend}"), what="log line")[-1]
    assert line == [f"fe_{frontend}", line[1], str(SIZE), str(SIZE), "--"]


def test_stats_count_spliced_bytes(setup: Setup) -> None:
    """bin/bout of a frontend whose only stream was spliced (the test above ran it)."""
    def counters() -> tuple[str, str] | None:
        for row in cli(setup.socket, "show stat").decode().splitlines():
            fields = row.split(",")
            if fields[:2] == ["fe_via_backend", "FRONTEND"] and fields[8] != "0":
                return fields[8], fields[9]
        return None

    assert wait_until(counters, what="published counters") == (str(SIZE), str(SIZE))


def test_stick_table_counts_spliced_bytes_after_the_inspected_ones(setup: Setup) -> None:
    """fe_inspect: tcp-request content rules read the first bytes (copied to the server
    first), then both directions are spliced; the tracked counters see every byte."""
    table = wait_until(lambda: "bytes_in_cnt=" in (text := cli(setup.socket, "show table fe_inspect").decode())
                       and text, what="tracked entry")  # fmt: skip
    assert f"bytes_in_cnt={SIZE} bytes_out_cnt={SIZE}" in table, table


def test_a_spliced_idle_stream_times_out_with_its_bytes_counted(setup: Setup) -> None:
    conn = socket.create_connection(("127.0.0.1", setup.ports["idle"]), timeout=10)
    sent = b"ping" * 5000
    conn.sendall(sent)
    assert receive(conn, len(sent)) == sent
    assert conn.recv(16) == b""  # timeout client 300ms: lb closed it
    conn.close()
    line = wait_until(lambda: setup.log_lines("fe_idle"), what="log line")[-1]
    assert line == ["fe_idle", "be_echo", str(len(sent)), str(len(sent)), "cD"]


def receive(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(65536)
        assert chunk, "closed early"
        data += chunk
    return data


def pipes_of(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("pipe:"))


def start_lb(lb_factory, global_extra: str, options: str) -> tuple[int, int, int]:
    """A one-worker lb relaying to an echo server: (port, worker pid, pipes before traffic)."""
    echo = EchoServer()
    port = free_port()
    lb = lb_factory(f"""
global
    nbproc 1
{global_extra}
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
{options}
    default_backend be
backend be
    server s1 127.0.0.1:{echo.port}
""")
    (worker,) = wait_until(lb.workers, what="worker")
    return port, worker, pipes_of(worker)


SPLICE_BOTH = "    option splice-request\n    option splice-response"


@pytest.mark.parametrize(("global_extra", "per_stream"), [("", 4), ("    nosplice", 0)])
def test_each_spliced_direction_holds_a_pipe_unless_nosplice(lb_factory, global_extra: str, per_stream: int) -> None:
    port, worker, before = start_lb(lb_factory, global_extra, SPLICE_BOTH)
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    for conn in conns:
        conn.sendall(b"hello")
        assert receive(conn, 5) == b"hello"  # both directions carried bytes: both were spliced
    assert pipes_of(worker) == before + 2 * per_stream
    for conn in conns:
        conn.close()


def test_splice_auto_splices_a_fast_stream_only(lb_factory) -> None:
    """A few small messages stay copied; a bulk upload (reads filling tune.bufsize) is spliced."""
    port, worker, before = start_lb(lb_factory, "", "    option splice-auto")
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    for _ in range(5):
        conn.sendall(b"hello")
        assert receive(conn, 5) == b"hello"
    assert pipes_of(worker) == before
    size = 16 << 20
    echoed: list[tuple[str, int]] = []
    reader = threading.Thread(target=lambda: echoed.append(digest_until_eof(conn)))
    reader.start()
    send_pattern(conn, size, shutdown=False)
    wait_until(lambda: pipes_of(worker) > before, what="a pipe for the fast direction")
    conn.shutdown(socket.SHUT_WR)
    reader.join(60)
    conn.close()
    assert echoed == [(hashlib.sha256(pattern(size)).hexdigest(), size)]
