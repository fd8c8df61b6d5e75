"""A failure anywhere in accepting or starting a session ends that one connection (issue 9).

An in-process worker on real loopback sockets (tests/workers/harness.py)
has one step of the engine patched to raise, one step at a time: building
the ClientConn, its handshakes, the protocol, routing and the Connector in
mode tcp, the exchange in mode http, a timer and a bare callback.  Each
time the failing connection is closed (or answered 500, when HTTP can
still answer), the error is reported once and counted as an internal
error of the frontend, nothing stays counted, and the listener is still
registered: the next connection is served normally.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from lb.engine import engine
from tests.scenarios.http.origins import Origin
from tests.support import TagServer
from tests.workers.harness import InProcessWorker, client_sees_close

# The failures are injected by patching the engine's classes, which the compiled
# engine seals: this file runs on the pure-Python engine (CI runs the engine's
# tests a second time with LB_PURE_PYTHON=1; both engines run the same source).
pytestmark = pytest.mark.skipif(engine() == "compiled", reason="patches classes: run with LB_PURE_PYTHON=1")

TCP = """
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:1
    acl local src 127.0.0.0/8
    use_backend be if local
backend be
    server s1 127.0.0.1:{port}
"""

HTTP = TCP.replace("mode tcp", "mode http")


class Boom(RuntimeError):
    """The injected failure."""


def boom(*args: Any, **kwargs: Any) -> None:
    raise Boom("injected")


@pytest.fixture
def tcp_worker(tmp_path: Path) -> Iterator[InProcessWorker]:
    server = TagServer("s1")
    worker = InProcessWorker(TCP.format(port=server.port), tmp_path)
    yield worker
    worker.close()
    server.close()


@pytest.fixture
def http_worker(tmp_path: Path) -> Iterator[InProcessWorker]:
    origin = Origin("o1")
    worker = InProcessWorker(HTTP.format(port=origin.port), tmp_path)
    yield worker
    worker.close()
    origin.close()


def tcp_served(worker: InProcessWorker) -> bool:
    """A new connection gets the TagServer's greeting through the worker."""
    with socket.create_connection(("127.0.0.1", worker.ports["fe"])) as sock:
        sock.setblocking(False)
        data = b""
        for _ in range(300):
            worker.run_for(0.01)
            try:
                data += sock.recv(100)
            except BlockingIOError:
                pass
            if data.endswith(b"\n"):
                return data == b"s1\n"
    return False


def http_response(worker: InProcessWorker) -> bytes:
    with socket.create_connection(("127.0.0.1", worker.ports["fe"])) as sock:
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        sock.setblocking(False)
        data = b""
        for _ in range(300):
            worker.run_for(0.01)
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:  # closed with the request unread
                break
            if not chunk:
                break
            data += chunk
        return data


def settled(worker: InProcessWorker) -> None:
    """Nothing of the failed connection is still counted, and the listener is there."""
    worker.run_until(lambda: worker.worker.actconn == 0)
    assert worker.listener_registered()
    assert worker.worker.clients == set()
    frontend = worker.worker.runtime.frontends["fe"]
    assert frontend.current == 0 and sum(worker.shm.feconn) == 0 and sum(worker.shm.actconn) == 0
    assert sum(worker.shm.conns) == 0


STEPS = [
    ("workers.client.ConnFacts", None),
    ("workers.client.ClientConn.after_proxy_header", None),
    ("workers.tcp.TcpSession.__init__", None),
    ("workers.runtime.FrontendRuntime.route", None),
    ("workers.connector.Connector.start", None),
    ("workers.connector.Connector.connect", None),
]


@pytest.mark.parametrize("target", [step for step, _ in STEPS])
def test_tcp_failure_at_each_step_closes_one_connection(tcp_worker: InProcessWorker, target: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(target, boom)
    with socket.create_connection(("127.0.0.1", tcp_worker.ports["fe"])) as sock:
        assert client_sees_close(sock, tcp_worker)
    settled(tcp_worker)
    assert [type(exc) for _owner, exc in tcp_worker.errors] == [Boom]  # reported once
    assert tcp_worker.counter("fe", "internal_errors") == 1
    monkeypatch.undo()
    assert tcp_served(tcp_worker)
    settled(tcp_worker)


@pytest.mark.parametrize("target", [
    "workers.http.h1.H1Connection.__init__",
    "workers.http.h1.H1Connection.start",
])  # fmt: skip
def test_http_failure_while_starting_closes_one_connection(http_worker: InProcessWorker, target: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(target, boom)
    assert http_response(http_worker) == b""
    settled(http_worker)
    assert http_worker.counter("fe", "internal_errors") == 1
    monkeypatch.undo()
    assert http_response(http_worker).startswith(b"HTTP/1.1 200 OK\r\n")
    settled(http_worker)


@pytest.mark.parametrize("target", [
    "workers.http.exchange.Exchange.start",
    "workers.http.policy.request_rules",
    "workers.connector.Connector.start",
])  # fmt: skip
def test_http_failure_in_a_request_answers_500(http_worker: InProcessWorker, target: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(target, boom)
    answer = http_response(http_worker)
    assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n") and b"connection: close\r\n" in answer
    settled(http_worker)
    assert http_worker.counter("fe", "internal_errors") == 1
    monkeypatch.undo()
    assert http_response(http_worker).startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_failing_timer_or_bare_callback_leaves_the_listener(http_worker: InProcessWorker) -> None:
    loop = http_worker.worker.loop
    loop.call_later(0.0, boom)
    a, b = socket.socketpair()
    loop.register(a, 1, boom)
    b.sendall(b"x")
    http_worker.run_for(0.05)
    assert [type(exc) for _owner, exc in http_worker.errors] == [Boom, Boom]
    assert http_worker.listener_registered() and a not in http_worker.registered()
    assert http_response(http_worker).startswith(b"HTTP/1.1 200 OK\r\n")
    a.close()
    b.close()


class NoDescriptorSocketModule:
    """The socket module as workers/connector.py sees it when the process is out of descriptors."""

    def __getattr__(self, name: str) -> Any:
        return getattr(socket, name)

    @staticmethod
    def socket(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EMFILE, "Too many open files")


def test_no_descriptor_for_a_server_socket_is_a_resource_error(tcp_worker: InProcessWorker,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr("workers.connector.socket", NoDescriptorSocketModule())
    with socket.create_connection(("127.0.0.1", tcp_worker.ports["fe"])) as sock:
        assert client_sees_close(sock, tcp_worker)
    settled(tcp_worker)
    assert tcp_worker.errors == []  # not a bug: HAProxy's resource error
    assert tcp_worker.counter("backend:be", "no_server") == 0


def test_no_descriptor_for_a_server_socket_answers_503_rc(http_worker: InProcessWorker,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr("workers.connector.socket", NoDescriptorSocketModule())
    records: list[Any] = []
    monkeypatch.setattr("workers.http.log.log_exchange", lambda conn, ex: records.append(ex.term))
    logger = SimpleNamespace(logs_at_accept=False, enabled=True)  # a logger: log_exchange() is called
    http_worker.worker.runtime.frontends["fe"].logger = logger  # type: ignore[assignment]
    assert http_response(http_worker).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert records == ["RC"]
    settled(http_worker)


def test_a_failing_heartbeat_keeps_beating(http_worker: InProcessWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workers.runtime.Runtime.publish_counters", boom)
    with pytest.raises(Boom):
        http_worker.worker.heartbeat()  # raises after re-arming: the loop would report it
    monkeypatch.undo()
    armed = [t for _when, _n, t in http_worker.worker.loop._timers if t.callback == http_worker.worker.heartbeat]
    assert armed and not armed[0].cancelled
