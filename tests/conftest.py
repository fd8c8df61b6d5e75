"""Shared fixtures: every test gets its own directory; lb processes are always stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.support import LbProcess, TagServer


@pytest.fixture
def lb_factory(tmp_path: Path) -> Iterator[Callable[..., LbProcess]]:
    started: list[LbProcess] = []

    def make(config: str, start: bool = True, name: str = "lb.cfg", **kwargs) -> LbProcess:
        lb = LbProcess(tmp_path, config, name)
        started.append(lb)
        if start:
            lb.start(**kwargs)
        return lb

    yield make
    for lb in started:
        lb.stop()


@pytest.fixture
def tag_servers() -> Iterator[Callable[..., list[TagServer]]]:
    servers: list[TagServer] = []

    def make(*names: str, **kwargs) -> list[TagServer]:
        made = [TagServer(name, **kwargs) for name in names]
        servers.extend(made)
        return made

    yield make
    for server in servers:
        server.close()
