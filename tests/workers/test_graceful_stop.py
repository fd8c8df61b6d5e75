"""A graceful stop never accepts a connection it would then drop (issue 9's reload race).

The loop runs every event one `select` returned.  When a stop signal and a
listener's readiness arrive in the same iteration, the signal's callback
unregisters the listener and the worker, with no connection left, ends its
loop; the listener's stale event then used to accept a batch of new
connections, which the exiting process reset (one ECONNRESET now and then
in a storm of reloads).  Here the stale event is delivered by hand, right
after the stop began, as the loop delivers it.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterator

import pytest

from tests.workers.harness import InProcessWorker

HTTP = """
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:1
    default_backend be
backend be
    server s1 127.0.0.1:9
"""


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[InProcessWorker]:
    harness = InProcessWorker(HTTP, tmp_path)
    yield harness
    harness.close()


def test_a_stale_readiness_event_after_the_stop_began_accepts_nothing(worker: InProcessWorker) -> None:
    client = socket.create_connection(("127.0.0.1", worker.ports["fe"]), timeout=5)
    try:
        client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # on its way while the reload happens
        worker.worker.begin_graceful_stop()
        assert not worker.listener_registered() and not worker.worker.loop.running
        listener = worker.worker.listeners[0]
        listener.on_readable(1)  # the event `select` returned with the stop signal
        assert worker.worker.clients == set()
        queued, _ = listener.sock.accept()  # still in the queue, for the next generation's worker
        queued.close()
    finally:
        client.close()


def test_a_listener_that_is_active_accepts(worker: InProcessWorker) -> None:
    client = socket.create_connection(("127.0.0.1", worker.ports["fe"]), timeout=5)
    try:
        worker.worker.listeners[0].on_readable(1)
        assert len(worker.worker.clients) == 1
    finally:
        client.close()
