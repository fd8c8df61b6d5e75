"""Keyed algorithms: source, uri, url_param, hdr (worker code, in-process shm).

HAProxy's default `hash-type map-based` with sdbm: server = map[hash % total
weight].  With equal weights the map is the server list in order, so the
expected server is computed here from sdbm independently of lb's map.
"""

from __future__ import annotations

import ipaddress

import pytest

from lb.balance.hashing import sdbm
from tests.unit.helpers import (
    balancer, haproxy_map, http_key, make_servers, make_table, names, picks, sdbm_reference, tcp_key,
)  # fmt: skip

SDBM_KNOWN = [
    (b"", 0),
    (b"a", 97),
    (b"ab", 6363201),  # 97 * 65599 + 98
    (b"abc", 807794786),
    (b"/index.html", 858007926),
    (b"hello world", 430867652),
]


@pytest.mark.parametrize("data, expected", SDBM_KNOWN)
def test_sdbm_known_values(data: bytes, expected: int) -> None:
    assert sdbm(data) == expected


@pytest.mark.parametrize("data", [bytes(range(256)), b"\xff" * 64, b"/a/b/c?d=e&f=g" * 10])
def test_sdbm_is_the_32_bit_multiplicative_form(data: bytes) -> None:
    assert sdbm(data) == sdbm_reference(data) < 2**32


def _three():  # type: ignore[no-untyped-def]
    servers = make_servers([1, 1, 1])
    return servers, make_table(servers)


# -- uri ----------------------------------------------------------------------------

URI_KEYS = [
    # (balance params, request uri, the bytes HAProxy hashes)
    ([], "/index.html", b"/index.html"),
    ([], "/a/b?x=1", b"/a/b"),
    (["whole"], "/a/b?x=1", b"/a/b?x=1"),
    (["depth", "2"], "/a/b/c/d?x=1", b"/a/b"),
    (["depth", "1"], "/a/b/c", b"/a"),
    (["len", "4"], "/abcdef", b"/abc"),
    (["len", "3", "depth", "2"], "/a/b/c", b"/a/"),
    (["len", "20", "whole"], "/x?abcdefghijklmnopqrstuvwxyz", b"/x?abcdefghijklmnopq"),
    (["path-only"], "http://example.com/p/q?r=1", b"/p/q"),
    ([], "http://example.com/p/q?r=1", b"http://example.com/p/q"),
]


@pytest.mark.parametrize("params, uri, hashed", URI_KEYS)
def test_uri_hashes_the_documented_part(params: list[str], uri: str, hashed: bytes) -> None:
    servers, shm = _three()
    b = balancer("uri", servers, shm, params=params)
    expected = servers[sdbm(hashed) % 3].name
    assert picks(b, 4, http_key(uri)) == [expected] * 4


def test_uri_spreads_different_keys_and_keeps_each() -> None:
    servers, shm = _three()
    b = balancer("uri", servers, shm)
    uris = [f"/object/{i}" for i in range(30)]
    first = names([b.pick(http_key(u)) for u in uris])
    again = names([b.pick(http_key(u)) for u in reversed(uris)])
    assert first == list(reversed(again))
    assert len(set(first)) == 3


def test_uri_map_follows_the_usable_set() -> None:
    servers, shm = _three()
    b = balancer("uri", servers, shm)
    key = http_key("/index.html")  # sdbm 858007926: % 3 == 0 -> s1; % 2 == 0 -> s2 of (s2, s3)
    assert picks(b, 1, key) == ["s1"]
    shm.srv_up[0] = 0
    shm.versions[0] += 1
    assert picks(b, 1, key) == ["s2"]


def test_uri_without_http_request_falls_back_to_round_robin() -> None:
    servers, shm = _three()
    b = balancer("uri", servers, shm)
    assert picks(b, 4, tcp_key("10.0.0.1")) == ["s1", "s2", "s3", "s1"]


# -- url_param ------------------------------------------------------------------------

PARAM_CASES = [
    ("/p?user=alice", b"alice"),
    ("/p?a=1&user=bob&c=3", b"bob"),
    ("/p?username=x&user=carol", b"carol"),  # a longer name is not the parameter
    ("/p?user=", b""),  # present but empty: hashed (HAProxy hashes the empty value)
]


@pytest.mark.parametrize("uri, value", PARAM_CASES)
def test_url_param_hashes_the_value(uri: str, value: bytes) -> None:
    servers, shm = _three()
    b = balancer("url_param", servers, shm, params=["user"])
    expected = servers[sdbm(value) % 3].name
    assert picks(b, 3, http_key(uri)) == [expected] * 3


@pytest.mark.parametrize("uri", ["/p", "/p?", "/p?other=1", "/p?user", "/p?users=1&xuser=2"])
def test_url_param_missing_falls_back_to_round_robin(uri: str) -> None:
    servers, shm = _three()
    b = balancer("url_param", servers, shm, params=["user"])
    assert picks(b, 4, http_key(uri)) == ["s1", "s2", "s3", "s1"]


# -- hdr ------------------------------------------------------------------------------


def test_hdr_hashes_the_header_value_name_case_insensitive() -> None:
    servers, shm = _three()
    b = balancer("hdr", servers, shm, params=["X-User"])
    expected = servers[sdbm(b"alice") % 3].name
    assert picks(b, 3, http_key("/", [("x-user", "alice")])) == [expected] * 3


@pytest.mark.parametrize("headers", [[], [("x-other", "a")], [("x-user", "")]])
def test_hdr_missing_or_empty_falls_back_to_round_robin(headers: list[tuple[str, str]]) -> None:
    servers, shm = _three()
    b = balancer("hdr", servers, shm, params=["x-user"])
    assert picks(b, 4, http_key("/", headers)) == ["s1", "s2", "s3", "s1"]


@pytest.mark.parametrize("headers", [
    [("x-user", "alice, carol")],
    [("x-user", "alice"), ("x-user", "carol")],
])  # fmt: skip
def test_hdr_hashes_the_first_value(headers: list[tuple[str, str]]) -> None:
    servers, shm = _three()
    b = balancer("hdr", servers, shm, params=["x-user"])
    assert sdbm(b"alice") % 3 != sdbm(b"carol") % 3  # the two readings lead to different servers
    assert picks(b, 1, http_key("/", headers)) == [servers[sdbm(b"alice") % 3].name]


# -- source ---------------------------------------------------------------------------


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "::1", "2001:db8::5"])
def test_source_is_stable_per_client(ip: str) -> None:
    servers, shm = _three()
    b = balancer("source", servers, shm)
    other = [tcp_key(f"10.9.0.{i}") for i in range(5)]
    mine = [b.pick(tcp_key(ip)).name]
    for key in other:  # other clients' picks move the shared position, not the hash
        b.pick(key)
        mine.append(b.pick(tcp_key(ip)).name)
    assert len(set(mine)) == 1


def test_source_spreads_clients() -> None:
    servers, shm = _three()
    b = balancer("source", servers, shm)
    assert len({b.pick(tcp_key(f"192.0.2.{i}")).name for i in range(40)}) == 3


def test_source_maps_clients_as_haproxy() -> None:
    servers, shm = _three()
    b = balancer("source", servers, shm)
    clients = ["127.0.0.1", "127.0.0.2", "10.0.0.7", "192.168.1.20", "2001:db8::1", "::1"]
    expected = []
    for ip in clients:
        packed = ipaddress.ip_address(ip).packed
        h = 0
        for i in range(0, len(packed), 4):
            h ^= int.from_bytes(packed[i : i + 4], "big")
        expected.append(servers[h % 3].name)
    assert names([b.pick(tcp_key(ip)) for ip in clients]) == expected


# -- HAProxy's map with unequal weights -------------------------------------------------


@pytest.mark.parametrize("weights", [[2, 3], [2, 2], [4, 2, 2]])
def test_weighted_map_is_haproxys(weights: list[int]) -> None:
    servers = make_servers(weights)
    b = balancer("uri", servers, make_table(servers))
    table = haproxy_map(servers)
    uris = [f"/k{i}" for i in range(40)]
    assert names([b.pick(http_key(u)) for u in uris]) == names([table[sdbm(u.encode()) % len(table)] for u in uris])


def test_haproxy_map_model() -> None:
    """The reference model used above, checked by hand against src/lb_map.c."""
    assert names(haproxy_map(make_servers([1, 1, 1]))) == ["s1", "s2", "s3"]
    assert names(haproxy_map(make_servers([2, 3]))) == ["s1", "s2", "s1", "s2", "s2"]
    assert names(haproxy_map(make_servers([2, 2]))) == ["s1", "s2"]
    assert names(haproxy_map(make_servers([3, 1]))) == ["s1", "s1", "s1", "s2"]


def test_fallback_round_robin_is_weighted() -> None:
    servers = make_servers([3, 1])
    b = balancer("url_param", servers, make_table(servers), params=["user"])
    assert picks(b, 4, http_key("/no-param")) == ["s1", "s1", "s1", "s2"]
