"""Post-parse validation: routing resolution, HAProxy's timeout rule, listeners."""

from __future__ import annotations

from pathlib import Path

import pytest

import lb.config
from lb.config.model import Config, Location, Proxy, Server, Timeouts, UseBackend
from lb.config.routing import AREA, Routing, routing_of
from lb.config.validate import declared_order, has_listener, missing_timeouts, modes_compatible, resolve_routing


def load_text(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "t.cfg"
    path.write_text(text)
    return lb.config.load(str(path))


@pytest.mark.parametrize(
    "frontend, backend, ok",
    [("tcp", "tcp", True), ("http", "http", True), ("tcp", "http", True), ("http", "tcp", False)],
)
def test_modes_compatible(frontend: str, backend: str, ok: bool) -> None:
    assert modes_compatible(frontend, backend) is ok


def _proxy(section: str, servers: int = 0, mode: str = "tcp", **timeouts: int) -> Proxy:
    proxy = Proxy(name="p", section=section, mode=mode, timeouts=Timeouts(**timeouts))
    proxy.servers = [Server(name=f"s{n}") for n in range(servers)]
    return proxy


@pytest.mark.parametrize(
    "proxy, missing",
    [
        (_proxy("frontend"), True),
        (_proxy("frontend", client=1000), False),
        (_proxy("frontend", client=0), True),  # zero is "not set", as in HAProxy
        (_proxy("backend"), False),  # no servers: nothing to time out
        (_proxy("backend", 1), True),
        (_proxy("backend", 1, connect=1000), True),
        (_proxy("backend", 1, connect=1000, server=1000), False),
        (_proxy("backend", 1, connect=1000, tunnel=1000), False),  # tcp: tunnel replaces server
        (_proxy("backend", 1, "http", connect=1000, tunnel=1000), True),  # not in http
        (_proxy("listen", 1, connect=1000, server=1000), True),  # client missing
        (_proxy("listen", 1, client=1, connect=1000, server=1000), False),
        (_proxy("listen", 0, client=1), False),
    ],
)
def test_missing_timeouts_follows_haproxy(proxy: Proxy, missing: bool) -> None:
    assert missing_timeouts(proxy) is missing


def test_dynamic_use_backend_is_kept_for_the_worker() -> None:
    config = Config()
    frontend = Proxy(name="fe", section="frontend", mode="http", loc=Location("t.cfg", 1))
    backend = Proxy(name="be", section="backend", mode="http", loc=Location("t.cfg", 5))
    config.frontends["fe"], config.backends["be"] = frontend, backend
    frontend.use_backends = [UseBackend("be_%[req.hdr(host),lower]"), UseBackend("be")]
    routing = resolve_routing(config, frontend)
    assert [(r.backend, r.dynamic) for r in routing.rules] == [(None, True), (backend, False)]
    assert config.diagnostics == []


def test_routing_is_stored_on_each_enabled_frontend(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "defaults\n timeout client 1s\n timeout connect 1s\n timeout server 1s\n"
        "frontend a\n bind 127.0.0.1:8000\n default_backend b\n"
        "frontend off\n disabled\n default_backend nosuch\n"
        "backend b\n server s 127.0.0.1:9000\n",
    )
    assert config.diagnostics == []  # a disabled proxy is not checked, as in HAProxy
    assert isinstance(config.frontends["a"].areas[AREA], Routing)
    assert routing_of(config.frontends["a"]).default_backend is config.backends["b"]
    assert AREA not in config.frontends["off"].areas
    assert routing_of(config.frontends["off"]) == Routing()


def test_proxies_are_checked_in_declaration_order(tmp_path: Path) -> None:
    first = tmp_path / "a.cfg"
    second = tmp_path / "b.cfg"
    first.write_text("backend z\n server s 127.0.0.1:1\nfrontend y\n bind 127.0.0.1:8000\n")
    second.write_text("listen x\n bind 127.0.0.1:8001\n")
    config = lb.config.load([str(first), str(second)])
    assert [p.name for p in declared_order(config)] == ["z", "y", "x"]
    warned = [d.message.split("\n")[0] for d in config.warnings]
    assert warned == ["missing timeouts for backend 'z'.", "missing timeouts for frontend 'y'.",
                      "missing timeouts for proxy 'x'."]  # fmt: skip


@pytest.mark.parametrize(
    "text, listening",
    [
        ("frontend f\n bind 127.0.0.1:8000\n", True),
        ("listen l\n bind 127.0.0.1:8000\n", True),
        ("frontend f\n bind 127.0.0.1:8000\n disabled\n", False),
        ("backend b\n server s 127.0.0.1:1\n", False),
        ("frontend f\n", False),
        ("global\n maxconn 10\n", False),
    ],
)
def test_has_listener(tmp_path: Path, text: str, listening: bool) -> None:
    assert has_listener(load_text(tmp_path, text)) is listening
