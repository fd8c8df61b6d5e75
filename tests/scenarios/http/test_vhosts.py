"""Host-based virtual hosting: `acl ... hdr(host) -i ...` + `use_backend`, as the article's FAQ writes it.

One lb, one frontend, four origins.  Proves that the Host header picks
the backend case-insensitively with `-i`, that `hdr(host)` compares the
whole value (a port in Host does not match a bare name, as in HAProxy)
while `hdr_dom` matches on dot and colon boundaries, that flags are
only read before the first pattern (a later `-i` is a pattern itself,
as in HAProxy 2.6), that use_backend rules are tried in order, that each
request of a keep-alive connection is routed on its own Host, and that
a request without Host (HTTP/1.0) goes to the default backend.
Clients: curl and raw sockets.
"""

from __future__ import annotations

import subprocess
from typing import Iterator

import pytest

from tests.scenarios.http.httpkit import ResponseReader, connect, read_response
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
frontend www
    bind 127.0.0.1:{port}
    acl is_api   hdr(host) -i api.solvethenetwork.com
    acl is_www   hdr(host) -i solvethenetwork.com www.solvethenetwork.com
    acl is_docs  hdr_dom(host) -i docs.example.org
    acl is_exact hdr(host) Exact.Example.com -i other.example.com
    use_backend api_backend  if is_api
    use_backend www_backend  if is_www
    use_backend docs_backend if is_docs
    use_backend www_backend  if is_exact
    default_backend default_backend
backend api_backend
    server api 127.0.0.1:{api}
backend www_backend
    server www 127.0.0.1:{www}
backend docs_backend
    server docs 127.0.0.1:{docs}
backend default_backend
    server fallback 127.0.0.1:{fallback}
"""


@pytest.fixture(scope="module")
def vhosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict[str, Origin]]]:
    origins = {name: Origin(name) for name in ("api", "www", "docs", "fallback")}
    port = free_port()
    ports = {name: origin.port for name, origin in origins.items()}
    lb = LbProcess(tmp_path_factory.mktemp("vhosts"), CONFIG.format(port=port, **ports))
    try:
        lb.start()
        yield port, origins
    finally:
        lb.stop()
        for origin in origins.values():
            origin.close()


def served_by(port: int, host: str | None, version: str = "1.1") -> str:
    headers = f"Host: {host}\r\n" if host is not None else ""
    with connect(port) as sock:
        sock.sendall(f"GET /page HTTP/{version}\r\n{headers}Connection: close\r\n\r\n".encode())
        response = read_response(sock)
    assert response.status == 200
    return response.header("X-Server")


@pytest.mark.parametrize(("host", "origin"), [
    ("api.solvethenetwork.com", "api"),
    ("API.SolveTheNetwork.COM", "api"),           # -i: case-insensitive
    ("solvethenetwork.com", "www"),
    ("WWW.solvethenetwork.com", "www"),
    ("api.solvethenetwork.com:8080", "fallback"),  # hdr(host) is the whole value, port included
    ("xapi.solvethenetwork.com", "fallback"),
    ("docs.example.org", "docs"),
    ("eu.DOCS.example.org:8443", "docs"),          # hdr_dom: dot- and colon-delimited words
    ("notdocs.example.org", "fallback"),
    ("Exact.Example.com", "www"),                  # before -i: exact case only
    ("exact.example.com", "fallback"),
    ("other.example.com", "www"),                  # flags come before the patterns: after one,
    ("OTHER.example.COM", "fallback"),             # `-i` is a pattern itself (HAProxy 2.6 does so)
    ("-i", "www"),
    ("unknown.test", "fallback"),
])  # fmt: skip
def test_host_header_picks_the_backend(vhosts: tuple[int, dict[str, Origin]], host: str, origin: str) -> None:
    port, origins = vhosts
    assert served_by(port, host) == origin
    assert origins[origin].seen("/page")[-1].header("Host") == host


def test_no_host_header_goes_to_the_default_backend(vhosts: tuple[int, dict[str, Origin]]) -> None:
    port, _ = vhosts
    assert served_by(port, None, version="1.0") == "fallback"


def test_curl_with_host_headers(vhosts: tuple[int, dict[str, Origin]]) -> None:
    port, origins = vhosts
    for host, origin in (("api.solvethenetwork.com", "api"), ("www.solvethenetwork.com", "www")):
        curl = subprocess.run(["curl", "-s", "-H", f"Host: {host}", f"http://127.0.0.1:{port}/curl"],
                              capture_output=True, timeout=20)  # fmt: skip
        assert curl.stdout == f"{origin} /curl\n".encode()
    # curl builds Host from the URL when not told otherwise: a resolved name keeps its port
    curl = subprocess.run(["curl", "-s", "--resolve", f"api.solvethenetwork.com:{port}:127.0.0.1",
                           f"http://api.solvethenetwork.com:{port}/curl"], capture_output=True, timeout=20)  # fmt: skip
    assert curl.stdout == b"fallback /curl\n"


def test_routing_uses_each_requests_host_on_a_keep_alive_connection(vhosts: tuple[int, dict[str, Origin]]) -> None:
    port, _ = vhosts
    with connect(port) as sock:
        reader = ResponseReader(sock)
        for host, origin in (("api.solvethenetwork.com", "api"), ("docs.example.org", "docs"),
                             ("solvethenetwork.com", "www"), ("api.solvethenetwork.com", "api")):  # fmt: skip
            sock.sendall(f"GET /ka HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert reader.next().header("X-Server") == origin
