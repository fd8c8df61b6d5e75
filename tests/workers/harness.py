"""A worker run in the test process, on real loopback sockets (tests only).

`InProcessWorker(config_text, tmp_path)` builds a generation's shared
memory and a real Worker whose listeners are bound on 127.0.0.1, without
forking: its loop is driven by `run_for()`, so a test can patch any part
of the engine to fail, talk to the worker with ordinary sockets, and read
its counters, its open connections and its registered listeners.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import lb.config
from lb.generation import Generation
from workers.base import Worker
from workers.listener import Listener
from workers.loop import EventLoop


class InProcessWorker:
    def __init__(self, config_text: str, directory: Path) -> None:
        path = directory / "lb.cfg"
        path.write_text(config_text)
        self.config = lb.config.load(str(path))
        assert not self.config.alerts, self.config.alerts
        generation = Generation(1, self.config, os.getpid())
        generation.seed(None)
        self.shm = generation.shm
        self.errors: list[tuple[Any, BaseException]] = []
        listeners = []
        self.ports: dict[str, int] = {}
        for name, frontend in self.config.frontends.items():
            for bind in frontend.binds:
                sock = socket.create_server(("127.0.0.1", 0), backlog=64)
                self.ports.setdefault(name, sock.getsockname()[1])
                listeners.append(Listener(bind, name, sock))
        self.worker = Worker(self.config, 1, 0, 1, self.shm, listeners, os.getpid())
        self.worker.loop = EventLoop()
        self.worker.setup()
        reporter = self.worker.report_error

        def report(owner: Any, exc: BaseException) -> None:
            self.errors.append((owner, exc))
            reporter(owner, exc)

        self.worker.report_error = report  # type: ignore[method-assign]
        self.worker.loop.report_error = report

    def run_for(self, seconds: float) -> None:
        loop = self.worker.loop
        loop.call_later(seconds, loop.stop)
        loop.run(idle_cap=0.01)

    def run_until(self, predicate: Any, timeout: float = 5.0) -> None:
        deadline = self.worker.loop.now + timeout
        while not predicate():
            assert self.worker.loop.now < deadline, "timed out"
            self.run_for(0.01)

    def registered(self) -> set[Any]:
        return {key.fileobj for key in self.worker.loop.selector.get_map().values()}

    def listener_registered(self, frontend: str = "fe") -> bool:
        socks = {listener.sock for listener in self.worker.listeners if listener.frontend_name == frontend}
        return bool(socks & self.registered())

    def counter(self, proxy: str, name: str) -> int:
        """A frontend's counter (a backend's with `backend:NAME`)."""
        if proxy.startswith("backend:"):
            return self.shm.counter(self.shm.backend_obj(list(self.config.backends).index(proxy[8:])), name)
        index = [p.name for p in self.config.proxies()].index(proxy)
        return self.shm.counter(index, name)

    def close(self) -> None:
        for client in list(self.worker.clients):
            client.close()
        for listener in self.worker.listeners:
            listener.sock.close()
        self.worker.loop.close()


def client_sees_close(sock: socket.socket, worker: InProcessWorker) -> bool:
    """Drive the worker until the client socket reads EOF (or a reset)."""
    sock.setblocking(False)
    for _ in range(200):
        worker.run_for(0.01)
        try:
            if sock.recv(65536) == b"":
                return True
        except BlockingIOError:
            continue
        except ConnectionResetError:
            return True
    return False

