"""ListenerSet: per-slot SO_REUSEPORT sockets owned by the master (master; loopback only, no traffic)."""

from __future__ import annotations

import errno
import socket
from typing import Iterator

import pytest

from lb.config.model import Bind, Config, Proxy
from lb.listeners import ListenerSet, open_listening_socket
from tests.support import free_port


def bind(port: int, host: str = "127.0.0.1") -> Bind:
    return Bind(host, port, socket.AF_INET6 if ":" in host else socket.AF_INET)


def config(*frontends: tuple[str, list[Bind]], disabled: tuple[str, ...] = ()) -> Config:
    cfg = Config()
    for name, binds in frontends:
        cfg.frontends[name] = Proxy(name, "frontend", binds=binds, disabled=name in disabled)
    return cfg


@pytest.fixture
def listeners() -> Iterator[ListenerSet]:
    ls = ListenerSet()
    yield ls
    ls.close()


def can_bind_exclusively(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on the port any more (a bind without SO_REUSEPORT succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            return False
    return True


def test_prepare_opens_one_reuseport_socket_per_worker(listeners: ListenerSet) -> None:
    port = free_port()
    cfg = config(("fe", [bind(port)]))
    assert listeners.prepare(cfg, 3) == []
    socks = listeners.sockets[(bind(port).key, 0)]
    assert len(socks) == 3 and len({s.fileno() for s in socks}) == 3
    for sock in socks:
        assert sock.getsockname() == ("127.0.0.1", port)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        assert sock.get_inheritable()


def test_prepare_again_opens_only_what_is_missing(listeners: ListenerSet) -> None:
    port = free_port()
    cfg = config(("fe", [bind(port)]))
    assert listeners.prepare(cfg, 2) == []
    before = list(listeners.sockets[(bind(port).key, 0)])
    assert listeners.prepare(cfg, 2) == [] and listeners.sockets[(bind(port).key, 0)] == before
    assert listeners.prepare(cfg, 1) == [] and listeners.sockets[(bind(port).key, 0)] == before  # shrink: kept open
    assert listeners.prepare(cfg, 4) == []
    assert listeners.sockets[(bind(port).key, 0)][:2] == before and len(listeners.sockets[(bind(port).key, 0)]) == 4


def test_disabled_frontend_binds_nothing(listeners: ListenerSet) -> None:
    port = free_port()
    assert listeners.prepare(config(("fe", [bind(port)]), disabled=("fe",)), 2) == []
    assert listeners.sockets == {}


@pytest.mark.parametrize("nworkers, nsockets, expected", [
    (2, 2, {0: [0], 1: [1]}),
    (3, 3, {0: [0], 1: [1], 2: [2]}),
    (2, 4, {0: [0, 2], 1: [1, 3]}),  # nbproc shrank from 4 to 2: sockets shared out, none closed
    (3, 4, {0: [0, 3], 1: [1], 2: [2]}),
])  # fmt: skip
def test_for_slot_gives_socket_j_to_worker_j_mod_n(listeners: ListenerSet, nworkers: int, nsockets: int,
                                                  expected: dict[int, list[int]]) -> None:  # fmt: skip
    port_a, port_b = free_port(), free_port()
    cfg = config(("fe", [bind(port_a)]), ("fe2", [bind(port_b)]))
    assert listeners.prepare(cfg, nsockets) == []
    socks_a = listeners.sockets[(bind(port_a).key, 0)]
    socks_b = listeners.sockets[(bind(port_b).key, 0)]
    for slot in range(nworkers):
        mine = listeners.for_slot(cfg, slot, nworkers)
        want = [("fe", socks_a[j]) for j in expected[slot]] + [("fe2", socks_b[j]) for j in expected[slot]]
        assert [(fe, sock) for _bind, fe, sock in mine] == want


def test_failing_bind_closes_what_it_opened_and_reports(listeners: ListenerSet) -> None:
    good, held_port = free_port(), free_port()
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no SO_REUSEPORT: nobody may share it
    holder.bind(("127.0.0.1", held_port))
    holder.listen(1)
    try:
        cfg = config(("fe", [bind(good)]), ("busy", [bind(held_port)]))
        errors = listeners.prepare(cfg, 2)
        expected = f"Starting frontend busy: cannot bind socket (Address already in use) [127.0.0.1:{held_port}]"
        assert errors == [expected]
        assert listeners.sockets == {}
        assert can_bind_exclusively(good)  # the two sockets opened on `good` were closed
    finally:
        holder.close()


def test_failing_bind_keeps_sockets_opened_before(listeners: ListenerSet) -> None:
    kept, held_port = free_port(), free_port()
    assert listeners.prepare(config(("fe", [bind(kept)])), 2) == []
    before = list(listeners.sockets[(bind(kept).key, 0)])
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", held_port))
    holder.listen(1)
    try:
        new = config(("fe", [bind(kept)]), ("busy", [bind(held_port)]))
        assert len(listeners.prepare(new, 3)) == 1  # one more socket for `kept` was opened, then closed
        assert listeners.sockets == {(bind(kept).key, 0): before}
        assert all(s.fileno() >= 0 for s in before)
    finally:
        holder.close()


def test_release_unused_closes_only_unused_addresses(listeners: ListenerSet) -> None:
    old_port, both_port, new_port = free_port(), free_port(), free_port()
    old = config(("fe", [bind(old_port), bind(both_port)]))
    new = config(("fe", [bind(both_port), bind(new_port)]))
    assert listeners.prepare(old, 2) == [] and listeners.prepare(new, 2) == []
    old_socks = list(listeners.sockets[(bind(old_port).key, 0)])
    assert listeners.release_unused([old, new]) == []  # the old generation still runs
    assert listeners.release_unused([new]) == [(bind(old_port).key, 0)]
    assert set(listeners.sockets) == {(bind(both_port).key, 0), (bind(new_port).key, 0)}
    assert all(s.fileno() == -1 for s in old_socks)
    assert can_bind_exclusively(old_port) and not can_bind_exclusively(both_port)


def test_open_listening_socket_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    port = free_port("::1")
    try:
        sock = open_listening_socket(bind(port, "::1"))
    except OSError as exc:  # pragma: no cover - IPv6 disabled on this host
        pytest.skip(f"::1 unavailable: {exc}")
    with sock:
        assert sock.family == socket.AF_INET6 and sock.getsockname()[:2] == ("::1", port)


def test_close_closes_everything(listeners: ListenerSet) -> None:
    port = free_port()
    assert listeners.prepare(config(("fe", [bind(port)])), 2) == []
    socks = listeners.all_sockets()
    listeners.close()
    assert listeners.sockets == {} and all(s.fileno() == -1 for s in socks)


def test_two_frontends_on_one_address_have_sockets_of_their_own(listeners: ListenerSet) -> None:
    """HAProxy accepts one address bound by two frontends (the kernel splits the
    connections); a socket shared by both would be registered twice in a worker."""
    port = free_port()
    cfg = config(("a", [bind(port)]), ("b", [bind(port)]))
    assert listeners.prepare(cfg, 2) == []
    for slot in (0, 1):
        mine = listeners.for_slot(cfg, slot, 2)
        assert [fe for _bind, fe, _sock in mine] == ["a", "b"]
        assert len({sock.fileno() for _bind, _fe, sock in mine}) == 2
    assert len(listeners.all_sockets()) == 4
    assert listeners.prepare(cfg, 2) == [] and len(listeners.all_sockets()) == 4  # a reload opens nothing
    one = config(("a", [bind(port)]))
    listeners.release_unused([one])
    assert len(listeners.all_sockets()) == 2 and not can_bind_exclusively(port)
