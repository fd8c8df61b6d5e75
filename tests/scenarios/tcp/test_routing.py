"""mode tcp routes with the same use_backend rules as mode http (issue 9's listener crash).

A tcp frontend with `acl local src 127.0.0.0/8` + `use_backend be1 if local`
used to pass `lbctl check` and then kill its own listener on the first
connection (the tcp path handed its session to fetches that expect an
HTTP transaction).  Here every layer-4 fetch a tcp rule may use is routed
on (src, dst, dst_port, src_port, so_id, a variable), dynamic
`use_backend %[...]` names resolve, and after all of it the same worker
still accepts: each test makes many connections on a single worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.support import LbProcess, TagServer, free_port, tag_of, wait_until

CONFIG = """
global
    nbproc 1
    log stdout format raw local0
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe_src
    bind 127.0.0.1:{p_src}
    acl local src 127.0.0.0/8
    use_backend be1 if local
    default_backend be2
frontend fe_not_src
    bind 127.0.0.1:{p_not_src}
    acl faraway src 10.0.0.0/8
    use_backend be1 if faraway
    default_backend be2
frontend fe_dst
    bind 127.0.0.1:{p_dst_a} id 7
    bind 127.0.0.1:{p_dst_b}
    use_backend be1 if {{ dst_port {p_dst_a} }}
    use_backend be2 if {{ so_id 1 }}
    default_backend be3
frontend fe_dynamic
    bind 127.0.0.1:{p_dynamic} id 1
    use_backend be%[so_id]
    default_backend be3
frontend fe_dynamic_str
    bind 127.0.0.1:{p_dynamic_str}
    use_backend %[str(be2)]
    default_backend be3
frontend fe_src_port
    bind 127.0.0.1:{p_src_port}
    use_backend be1 if {{ src_port gt 0 }} {{ dst 127.0.0.1 }}
    default_backend be2
backend be1
    server s1 127.0.0.1:{be1}
backend be2
    server s2 127.0.0.1:{be2}
backend be3
    server s3 127.0.0.1:{be3}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LbProcess, dict[str, int]]]:
    servers = {name: TagServer(name) for name in ("be1", "be2", "be3")}
    ports = {name: free_port() for name in ("p_src", "p_not_src", "p_dst_a", "p_dst_b", "p_dynamic", "p_dynamic_str",
                                            "p_src_port")}  # fmt: skip
    work = tmp_path_factory.mktemp("tcp-routing")
    lb = LbProcess(work, CONFIG.format(**ports, **{name: s.port for name, s in servers.items()}))
    lb.start()
    yield lb, ports
    lb.stop()
    for server in servers.values():
        server.close()


def test_acl_on_src_routes_and_the_listener_keeps_accepting(setup: tuple[LbProcess, dict[str, int]]) -> None:
    lb, ports = setup
    assert [tag_of(ports["p_src"]) for _ in range(20)] == ["be1"] * 20
    assert not lb.find_events("internal error")


def test_a_condition_that_does_not_match_falls_back_to_default(setup: tuple[LbProcess, dict[str, int]]) -> None:
    _lb, ports = setup
    assert {tag_of(ports["p_not_src"]) for _ in range(5)} == {"be2"}


def test_dst_port_and_so_id(setup: tuple[LbProcess, dict[str, int]]) -> None:
    _lb, ports = setup
    assert tag_of(ports["p_dst_a"]) == "be1"
    assert tag_of(ports["p_dst_b"]) == "be2"  # the first free id: the first bind set 7, the second gets 1


def test_dynamic_backend_names(setup: tuple[LbProcess, dict[str, int]]) -> None:
    _lb, ports = setup
    assert tag_of(ports["p_dynamic"]) == "be1"  # be%[so_id] with `bind ... id 1`
    assert tag_of(ports["p_dynamic_str"]) == "be2"


def test_anded_layer4_conditions(setup: tuple[LbProcess, dict[str, int]]) -> None:
    lb, ports = setup
    assert tag_of(ports["p_src_port"]) == "be1"
    line = wait_until(lambda: next((x for x in list(lb.stdout_lines) if " fe_src_port " in x), None))
    assert " be1/s1 " in line


SHARED_ADDRESS = """
global
    nbproc 2
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe_a
    bind 127.0.0.1:{port}
    default_backend be1
frontend fe_b
    bind 127.0.0.1:{port}
    default_backend be2
backend be1
    server s1 127.0.0.1:{be1}
backend be2
    server s2 127.0.0.1:{be2}
"""


def test_two_frontends_binding_one_address_both_serve(tmp_path: Path) -> None:
    """HAProxy accepts it (SO_REUSEPORT, the kernel splits the connections); lb
    used to hand the one socket to a worker twice and fail to boot."""
    servers = {name: TagServer(name) for name in ("be1", "be2")}
    lb = LbProcess(tmp_path, SHARED_ADDRESS.format(port=free_port(), **{n: s.port for n, s in servers.items()}))
    try:
        lb.start()
        port = int(lb.path.read_text().split("bind 127.0.0.1:")[1].split()[0])
        seen = {tag_of(port) for _ in range(200)}
        assert seen == {"be1", "be2"}
        assert any("address already bound by frontend 'fe_a'" in line for line in lb.stderr_lines)
    finally:
        lb.stop()
        for server in servers.values():
            server.close()
