"""Reloads in the middle of HTTP/2 traffic fail no stream (issue 13).

A soft-stopping worker sends GOAWAY with the largest stream id and a PING,
then, once the PING comes back, GOAWAY with the last stream it saw: every
request a client sent before it heard of the stop is served, the client
opens its next streams on a new connection (the new generation), and the
old connection closes once its streams are done.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tests.scenarios.http.h2kit import H2Client
from tests.scenarios.http.origins import Origin
from tests.support import LbProcess, free_port, wait_until


def config(port: int, origin: int) -> str:
    return f"""
global
    nbproc 2
    hard-stop-after 30s
defaults
    mode http
    log stdout format raw local0
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port} proto h2
    default_backend be
backend be
    server o1 127.0.0.1:{origin}
"""


class H2Storm:
    """Clients that keep one h2 connection each and send batches of concurrent
    streams (GETs and uploads); a new connection after a GOAWAY."""

    def __init__(self, port: int, clients: int = 4) -> None:
        self.port = port
        self.ok = 0
        self.goaways = 0
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(clients)]
        for thread in self.threads:
            thread.start()

    def run(self, n: int) -> None:
        client: H2Client | None = None
        while not self.stop.is_set():
            try:
                if client is None or client.goaway is not None or client.closed:
                    if client is not None:
                        with self.lock:
                            self.goaways += client.goaway is not None
                        client.close()
                    client = H2Client(self.port)
                self.batch(client, n)
            except OSError as exc:
                with self.lock:
                    self.failures.append(f"client {n}: {exc!r}")
                client = None
        if client is not None:
            client.close()

    def batch(self, client: H2Client, n: int) -> None:
        gets = [client.request("GET", f"/storm/{n}/{i}") for i in range(4)]
        body = b"%d" % n * 3000
        post = client.request("POST", "/storm/echo", body=body)
        results = client.wait(*gets, post, timeout=15)
        for stream_id, result in zip((*gets, post), results, strict=True):
            expected = body if stream_id == post else f"o1 /storm/{n}/{gets.index(stream_id)}\n".encode()
            if not result.ended or result.status != 200 or bytes(result.body) != expected:
                with self.lock:
                    self.failures.append(f"client {n} stream {stream_id}: {result.status} reset={result.reset} "
                                         f"ended={result.ended} goaway={client.goaway}")  # fmt: skip
                return
        with self.lock:
            self.ok += len(results)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(20)


def test_reloads_under_h2_load_fail_no_stream(tmp_path: Path) -> None:
    origin = Origin("o1")
    port = free_port()
    lb = LbProcess(tmp_path, config(port, origin.port))
    lb.start()
    storm = H2Storm(port)
    try:
        wait_until(lambda: storm.ok >= 100, timeout=20, what="traffic before the reloads")
        for _ in range(3):
            before = storm.ok
            lb.reload()
            wait_until(lambda before=before: storm.ok >= before + 100, timeout=20, what="traffic after a reload")
    finally:
        storm.finish()
        lb.stop()
        origin.close()
    assert storm.failures == [], [line for line in lb.stdout_lines if " 200 " not in line]
    assert storm.goaways >= 3  # the old generations' connections were told to go, and went
