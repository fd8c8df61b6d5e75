"""Running out of file descriptors pauses a listener instead of spinning (issue 9).

When accept() fails with EMFILE the connection stays in the kernel's
queue and the listener stays readable: a worker that went straight back
to its loop burned a core.  lb pauses the listener for 100 ms and logs
HAProxy's message once per episode; at start it raises its descriptor
limit to what maxconn needs and warns when the hard limit is lower.  (A
server socket that cannot be had is tests/workers/test_failures.py's.)
"""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

from tests.scenarios.http.httpkit import request
from tests.scenarios.http.origins import Origin
from tests.support import LbProcess, free_port, wait_until

LIMIT = 48


def low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def served(port: int) -> bool:
    try:
        return request(port).status == 200
    except OSError:  # a connection the worker took while still short of descriptors
        return False


def test_emfile_pauses_the_listener_and_serving_resumes(tmp_path: Path) -> None:
    origin = Origin("o1")
    port = free_port()
    lb = LbProcess(tmp_path, f"""
global
    nbproc 1
    maxconn 1000
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{origin.port}
""")
    clients: list[socket.socket] = []
    try:
        lb.start(preexec=low_fd_limit)
        warning = lb.wait_event("fd limit")
        assert warning["message"] == f"[lb.main()] Cannot raise FD limit to {1000 * 2 + 64}, limit is {LIMIT}."
        for _ in range(LIMIT):  # idle HTTP connections: one descriptor each in the worker
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        paused = lb.wait_event("listener paused")
        assert paused["message"] == f"Proxy fe reached process FD limit (maxsock={LIMIT}). Please check 'ulimit-n' " \
                                    "and restart."  # fmt: skip
        time.sleep(1.0)  # ten retries, still out of descriptors
        assert len(lb.find_events("listener paused")) == 1  # once per episode, not once per retry
        for sock in clients:
            sock.close()
        clients.clear()
        wait_until(lambda: served(port), what="served again once descriptors are free")
    finally:
        for sock in clients:
            sock.close()
        lb.stop()
        origin.close()

