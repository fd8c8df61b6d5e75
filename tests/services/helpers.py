"""Services run in-process over a real generation's shared memory (tests only).

`Lab(tmp_path, body)` parses a configuration and seeds its generation as
the master does (tests.stats.helpers), with a RuntimeState over a small
master stand-in, so that `ask_master` runs command lines through the real
runtime API at level admin (lb.runtime_api.channels.run_worker_line, the
master's side of the control channel).  `Lab.serve()` calls a service's
respond() as the engine would and returns the one reply it gave.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any, Callable

from lb.runtime_api import commands
from lb.runtime_api.channels import run_worker_line
from lb.runtime_api.state import RuntimeState
from lb.services.base import ServiceContext, ServiceReply, ServiceRequest
from lb.stats.objects import global_maxconn
from tests.stats.helpers import generation


class Master:
    """What RuntimeState reads of lb.master.Master."""

    pid = 4242
    stopping = False

    def __init__(self, gen: Any) -> None:
        self.generations = [gen]
        self.started = time.time() - 3725

    def active_generation(self) -> Any:
        return self.generations[-1]

    def listener_count(self) -> int:
        return 3

    def ulimit_n(self) -> int:
        return 4096


class Lab:
    def __init__(self, tmp_path: Path, body: str) -> None:
        commands.load_commands()
        self.gen = generation(tmp_path, body)
        self.config, self.shm = self.gen.config, self.gen.shm
        self.state = RuntimeState(Master(self.gen))
        self.asked: list[str] = []
        self.master_answers = True  # False: ask_master answers None (no control channel)

    def ask_master(self, line: str, callback: Callable[[str | None], None]) -> None:
        self.asked.append(line)
        callback(run_worker_line(self.state, line) if self.master_answers else None)

    def context(self) -> ServiceContext:
        return ServiceContext(self.config, self.shm, time.time(), global_maxconn(self.config), 4243, 0,
                              self.ask_master)  # fmt: skip

    def cli(self, line: str) -> str:
        answer = run_worker_line(self.state, line)
        assert answer is not None
        return answer

    def serve(self, service: Any, uri: str, method: str = "GET", body: bytes = b"", proxy: str = "",
              headers: list[tuple[str, str]] | None = None, **extra: Any) -> ServiceReply:  # fmt: skip
        request = ServiceRequest(method, uri, "1.1", headers or [], body, "127.0.0.1", proxy, **extra)
        replies: list[ServiceReply] = []
        service.respond(request, self.context(), replies.append)
        assert len(replies) == 1, replies
        return replies[0]

    def page(self, proxy: str) -> Any:
        found = self.config.frontends.get(proxy) or self.config.backends[proxy]
        assert found.stats is not None and found.stats.service is not None
        return found.stats.service


def basic(user: str, password: str) -> list[tuple[str, str]]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return [("Authorization", f"Basic {token}")]


def header(reply: ServiceReply, name: str) -> str | None:
    for key, value in reply.headers:
        if key.lower() == name:
            return value
    return None
