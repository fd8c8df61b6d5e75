"""mode tcp balancing through real lb processes: every algorithm, backup servers, limits.

Each test starts `lbctl start --foreground` with 2 workers in front of
threaded TCP servers that greet with their name, and checks which server
each new client connection reached.
"""

from __future__ import annotations

import collections
import socket
import threading

import pytest

from tests.support import free_port, tag_of, wait_until


def config(port: int, servers: str, balance: str = "roundrobin", nbproc: int = 2, extra: str = "") -> str:
    return f"""
global
    nbproc {nbproc}
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    balance {balance}
{extra}
{servers}
"""


def test_weighted_roundrobin_order_is_shared_by_workers(lb_factory, tag_servers):
    s1, s2, s3 = tag_servers("s1", "s2", "s3")
    port = free_port()
    lines = f"""
    server s1 127.0.0.1:{s1.port} weight 3
    server s2 127.0.0.1:{s2.port} weight 1
    server s3 127.0.0.1:{s3.port} weight 2"""
    lb_factory(config(port, lines))
    seen = [tag_of(port) for _ in range(18)]
    # smooth weighted round robin: one cycle of 6 repeats three times, whichever worker accepted
    cycle = seen[:6]
    assert collections.Counter(cycle) == {"s1": 3, "s3": 2, "s2": 1}
    assert seen == cycle * 3
    assert cycle == ["s1", "s3", "s1", "s2", "s3", "s1"]


def test_static_rr_and_first(lb_factory, tag_servers):
    s1, s2 = tag_servers("s1", "s2")
    port = free_port()
    lines = f"""
    server s1 127.0.0.1:{s1.port} maxconn 2
    server s2 127.0.0.1:{s2.port} maxconn 2"""
    lb_factory(config(port, lines, balance="first"))
    held, names = [], []
    for _ in range(3):  # one at a time: each pick sees the previous connections
        held.append(socket.create_connection(("127.0.0.1", port)))
        names.append(held[-1].recv(16).strip().decode())
    # `first` fills the lowest id up to its maxconn before using the next server
    assert names == ["s1", "s1", "s2"]
    for conn in held:
        conn.close()


def test_source_hash_is_stable_per_client(lb_factory, tag_servers):
    servers = tag_servers("s1", "s2", "s3")
    port = free_port()
    lines = "\n".join(f"    server {s.name} 127.0.0.1:{s.port}" for s in servers)
    lb_factory(config(port, lines, balance="source"))
    assert len({tag_of(port) for _ in range(10)}) == 1


def test_leastconn_spreads_long_connections_and_refills(lb_factory, tag_servers):
    servers = tag_servers("s1", "s2", "s3")
    port = free_port()
    lines = "\n".join(f"    server {s.name} 127.0.0.1:{s.port}" for s in servers)
    lb_factory(config(port, lines, balance="leastconn"))
    held: dict[str, list[socket.socket]] = collections.defaultdict(list)
    for _ in range(9):
        conn = socket.create_connection(("127.0.0.1", port))
        held[conn.recv(16).strip().decode()].append(conn)
    assert {name: len(conns) for name, conns in held.items()} == {"s1": 3, "s2": 3, "s3": 3}
    # close s2's connections: the next new ones must all go to s2
    for conn in held.pop("s2"):
        conn.close()
    wait_until(lambda: servers[1].live == 0, what="s2 connections closed")
    refill = []
    for _ in range(3):
        conn = socket.create_connection(("127.0.0.1", port))
        refill.append(conn)
        held.setdefault("new", []).append(conn)
    assert [conn.recv(16).strip().decode() for conn in refill] == ["s2", "s2", "s2"]
    for conns in held.values():
        for conn in conns:
            conn.close()


def test_backup_only_when_actives_are_unusable(lb_factory, tag_servers):
    a1, a2, b1, b2 = tag_servers("a1", "a2", "b1", "b2")
    port = free_port()
    with_active = f"""
    server a1 127.0.0.1:{a1.port}
    server a2 127.0.0.1:{a2.port} disabled
    server b1 127.0.0.1:{b1.port} backup
    server b2 127.0.0.1:{b2.port} backup"""
    lb = lb_factory(config(port, with_active))
    assert {tag_of(port) for _ in range(6)} == {"a1"}
    all_disabled = with_active.replace(f"{a1.port}\n", f"{a1.port} disabled\n")
    lb.reload(config(port, all_disabled))
    # only the first backup takes over...
    assert {tag_of(port) for _ in range(6)} == {"b1"}
    # ...unless option allbackups
    lb.reload(config(port, all_disabled, extra="    option allbackups"))
    assert {tag_of(port) for _ in range(6)} == {"b1", "b2"}


def test_server_maxconn_queues_until_a_slot_frees(lb_factory, tag_servers):
    (s1,) = tag_servers("s1")
    port = free_port()
    lb_factory(config(port, f"    server s1 127.0.0.1:{s1.port} maxconn 1", extra="    timeout queue 10s"))
    first = socket.create_connection(("127.0.0.1", port))
    assert first.recv(16) == b"s1\n"
    second = socket.create_connection(("127.0.0.1", port), timeout=10)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(second.recv(16)))
    reader.start()
    reader.join(0.5)
    assert not got, "the second connection must wait in the queue while s1 is full"
    first.close()
    reader.join(10)
    assert got == [b"s1\n"]
    second.close()


def test_queue_timeout_closes_the_client(lb_factory, tag_servers):
    (s1,) = tag_servers("s1")
    port = free_port()
    lb_factory(config(port, f"    server s1 127.0.0.1:{s1.port} maxconn 1", extra="    timeout queue 300ms"))
    first = socket.create_connection(("127.0.0.1", port))
    assert first.recv(16) == b"s1\n"
    second = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert second.recv(16) == b""  # closed by lb when the queue timeout expired
    first.close()
    second.close()


def test_no_usable_server_closes_at_once(lb_factory, tag_servers):
    (s1,) = tag_servers("s1")
    port = free_port()
    lb_factory(config(port, f"    server s1 127.0.0.1:{s1.port} disabled"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        assert conn.recv(16) == b""
    assert s1.total == 0


@pytest.mark.parametrize("where", ["global", "frontend"])
def test_maxconn_pauses_accepting_and_resumes_below_the_limit(lb_factory, tag_servers, where):
    (s1,) = tag_servers("s1")
    port = free_port()
    text = config(port, f"    server s1 127.0.0.1:{s1.port}", nbproc=1)
    if where == "global":
        text = text.replace("    nbproc 1", "    nbproc 1\n    maxconn 2")
    else:
        text = text.replace("    default_backend be", "    default_backend be\n    maxconn 2")
    lb_factory(text)
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    assert [conn.recv(16) for conn in held] == [b"s1\n", b"s1\n"]
    waiting = socket.create_connection(("127.0.0.1", port), timeout=10)  # the kernel queues it
    waiting.settimeout(0.5)
    with pytest.raises(socket.timeout):
        waiting.recv(16)  # not accepted while at the limit
    held.pop().close()
    waiting.settimeout(10)
    assert waiting.recv(16) == b"s1\n"  # accepting resumed below the limit
    for conn in (*held, waiting):
        conn.close()
