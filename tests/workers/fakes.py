"""Fake sockets and loop for driving the HTTP engine without the network (tests only).

In the manner of uvicorn's protocol tests: `FakeSocket` records what the
engine sends and hands it what the test queues; `FakeLoop` records
registrations and timers, and fires the timers a test asks for.  The
engine's objects are the real ones (ClientConn, H1Connection, Exchange,
ServerConn, Connector, the worker's Runtime over a real generation's
shared memory): only the I/O is fake.
"""

from __future__ import annotations

import heapq
import itertools
import os
from pathlib import Path
from typing import Any, Callable

import lb.config
from lb.generation import Generation
from workers.base import Worker
from workers.client import ClientConn
from workers.http.h1 import H1Connection
from workers.http.serverconn import ServerConn
from workers.listener import Listener
from workers.loop import EventLoop, Timer


class FakeSocket:
    def __init__(self, local: tuple[str, int] = ("127.0.0.1", 8080)) -> None:
        self.local = local
        self.sent = bytearray()
        self.incoming: list[bytes] = []
        self.closed = False
        self.shut_write = False

    # what the engine calls
    def send(self, data: bytes | memoryview) -> int:
        if self.closed:
            raise OSError("closed")
        self.sent += bytes(data)
        return len(data)

    def recv(self, size: int, flags: int = 0) -> bytes:
        if not self.incoming:
            raise BlockingIOError
        data = self.incoming.pop(0)
        if len(data) > size:
            self.incoming.insert(0, data[size:])
            data = data[:size]
        return data

    def getsockname(self) -> tuple[str, int]:
        return self.local

    def setblocking(self, flag: bool) -> None:
        pass

    def setsockopt(self, *args: Any) -> None:
        pass

    def shutdown(self, how: int) -> None:
        self.shut_write = True

    def close(self) -> None:
        self.closed = True

    # what the test calls
    def feed(self, data: bytes) -> None:
        self.incoming.append(data)

    def take(self) -> bytes:
        data = bytes(self.sent)
        self.sent.clear()
        return data


class FakeLoop(EventLoop):
    """Records interest and timers; `advance()` moves the clock and runs the timers due."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.interest: dict[Any, tuple[int, Callable[[int], None]]] = {}
        self.timers: list[tuple[float, int, Timer]] = []
        self.sequence = itertools.count()
        self.report_error: Callable[[Any, BaseException], None] = lambda owner, exc: None

    def register(self, sock: Any, events: int, callback: Callable[[int], None]) -> None:
        self.interest[sock] = (events, callback)

    modify = register

    def unregister(self, sock: Any) -> None:
        self.interest.pop(sock, None)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(when, callback, args)
        heapq.heappush(self.timers, (when, next(self.sequence), timer))
        return timer

    def timer_at(self, when: float, callback: Callable[[], Any]) -> Timer:
        return self.call_at(when, callback)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now + delay, callback, *args)

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now, callback, *args)

    def advance(self, seconds: float) -> None:
        """Move the clock and run every timer now due."""
        self.now += seconds
        while self.timers and self.timers[0][0] <= self.now:
            _, _, timer = heapq.heappop(self.timers)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback(*timer.args)

    def events_of(self, sock: Any) -> int:
        return self.interest.get(sock, (0, None))[0]


class Engine:
    """One client connection of a real worker runtime, on fake sockets, with one
    server connection already open to the backend's first server."""

    def __init__(self, config_text: str, directory: Path) -> None:
        path = directory / "lb.cfg"
        path.write_text(config_text)
        config = lb.config.load(str(path))
        assert not config.alerts, config.alerts
        generation = Generation(1, config, os.getpid())
        generation.seed(None)
        self.shm = generation.shm
        self.loop = FakeLoop()
        frontend_conf = next(iter(config.frontends.values()))
        listener = Listener(frontend_conf.binds[0], frontend_conf.name, FakeSocket())  # type: ignore[arg-type]
        self.worker = Worker(config, 1, 0, 1, generation.shm, [listener], os.getpid())
        self.worker.loop = self.loop  # type: ignore[assignment]
        self.worker.setup()
        self.frontend = self.worker.runtime.frontends[frontend_conf.name]
        self.client = FakeSocket()
        accepted = ClientConn(self.worker, listener, self.client, ("127.0.0.1", 40000))  # type: ignore[arg-type]
        accepted.start()
        assert isinstance(accepted.protocol, H1Connection)
        self.h1: H1Connection = accepted.protocol
        self.server = FakeSocket(("127.0.0.1", 50000))
        backend = next(iter(self.worker.runtime.backends.values()))
        self.conn = ServerConn(self.loop, self.server, backend.servers[0])  # type: ignore[arg-type]
        self.h1.conn = self.conn  # as if a first request had connected: exchanges reuse it

    def client_sends(self, data: bytes) -> None:
        self.client.feed(data)
        self.h1.on_client_event(1)

    def server_sends(self, data: bytes) -> None:
        self.server.feed(data)
        self.conn.on_event(1)

    def server_closes(self) -> None:
        self.server.feed(b"")
        self.conn.on_event(1)
