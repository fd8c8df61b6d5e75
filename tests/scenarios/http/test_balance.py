"""HTTP balancing: `balance uri`, `url_param`, `hdr(name)` keep keys on servers; roundrobin is per request.

One lb with two workers in front of three origins (s1, s2, s3).  Every
request goes on a new connection, so both workers take part.  The keyed
algorithms must send a key to the same server every time, and to the
very server HAProxy 2.6.12 picks with the same three servers (map-based
sdbm hash, recorded from HAProxy on these exact keys); requests without
the key fall back to round robin.  Roundrobin must rotate per request,
both across separate connections (whatever worker accepts them: the
position is shared) and on one keep-alive connection.
"""

from __future__ import annotations

import http.client
from typing import Iterator

import pytest

from tests.scenarios.http.origins import Origin
from tests.support import LbProcess, free_port

CONFIG = """
global
    nbproc 2
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    use_backend be_uri   if {{ path_beg /uri/ }}
    use_backend be_param if {{ path_beg /param }}
    use_backend be_hdr   if {{ path_beg /hdr }}
    default_backend be_rr
backend be_uri
    balance uri
{servers}
backend be_param
    balance url_param userid
{servers}
backend be_hdr
    balance hdr(X-Tenant)
{servers}
backend be_rr
    balance roundrobin
{servers}
"""

# server picked by HAProxy 2.6.12 for each key, three servers of weight 1
HAPROXY_URI = {"/uri/a": "s1", "/uri/b": "s2", "/uri/c": "s3", "/uri/d": "s1", "/uri/e": "s2", "/uri/f": "s3",
               "/uri/g": "s1", "/uri/h": "s2", "/uri/index.html": "s2", "/uri/img/logo.png": "s3",
               "/uri/a?x=1": "s1"}  # fmt: skip
HAPROXY_PARAM = {"alice": "s3", "bob": "s3", "carol": "s2", "dave": "s1", "eve": "s1", "42": "s1", "1000": "s2"}
HAPROXY_HDR = {"acme": "s2", "globex": "s1", "initech": "s3", "umbrella": "s2", "hooli": "s2"}


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    origins = [Origin(f"s{i}") for i in (1, 2, 3)]
    servers = "\n".join(f"    server {o.name} 127.0.0.1:{o.port}" for o in origins)
    lb_port = free_port()
    lb = LbProcess(tmp_path_factory.mktemp("balance"), CONFIG.format(port=lb_port, servers=servers))
    try:
        lb.start()
        assert len(lb.workers()) == 2
        yield lb_port
    finally:
        lb.stop()
        for origin in origins:
            origin.close()


def served_by(port: int, path: str, headers: dict[str, str] | None = None) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Server")
    finally:
        conn.close()


def test_balance_uri_maps_each_uri_to_haproxys_server(port: int) -> None:
    for _ in range(2):
        assert {uri: served_by(port, uri) for uri in HAPROXY_URI} == HAPROXY_URI


def test_balance_url_param_sticks_on_the_parameter(port: int) -> None:
    for _ in range(2):
        seen = {user: served_by(port, f"/param?lang=fr&userid={user}") for user in HAPROXY_PARAM}
        assert seen == HAPROXY_PARAM
    # no userid: round robin
    fallback = [served_by(port, "/param?other=1") for _ in range(6)]
    assert set(fallback[:3]) == {"s1", "s2", "s3"} and fallback[3:] == fallback[:3]


def test_balance_hdr_sticks_on_the_header(port: int) -> None:
    for _ in range(2):
        seen = {tenant: served_by(port, "/hdr", {"X-Tenant": tenant}) for tenant in HAPROXY_HDR}
        assert seen == HAPROXY_HDR
    fallback = [served_by(port, "/hdr") for _ in range(6)]
    assert set(fallback[:3]) == {"s1", "s2", "s3"} and fallback[3:] == fallback[:3]


def test_roundrobin_rotates_per_connection_across_workers(port: int) -> None:
    seen = [served_by(port, "/rr") for _ in range(12)]
    assert set(seen[:3]) == {"s1", "s2", "s3"}
    assert seen == seen[:3] * 4


def test_roundrobin_rotates_per_request_on_one_keep_alive_connection(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    seen = []
    for _ in range(6):
        conn.request("GET", "/rr-keep-alive")
        response = conn.getresponse()
        response.read()
        seen.append(response.getheader("X-Server"))
    conn.close()
    assert set(seen[:3]) == {"s1", "s2", "s3"} and seen[3:] == seen[:3]
