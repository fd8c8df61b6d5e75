"""The article's Layer 7 configuration (etc/l7-article.cfg) does what the article says.

One lb runs etc/l7-article.cfg itself (ports moved to free ones, the
certificate path pointed at a self-signed certificate made with openssl)
in front of seven recording origins on the article's addresses rewritten
to loopback (127.0.0.31-33 app, .41-42 api, .51-52 static).  app-03 fails
its health check from the start, so it goes DOWN at its first check.

Proves: plain HTTP is redirected to https with HAProxy's exact 302; the
https bind terminates TLS (verified by http.client and curl against the
certificate); path routing (/api/, /static/, /assets/, default); the api
pool gets `X-Backend-Pool: api`; `X-Forwarded-For` is appended;
`cookie SRVID insert indirect nocache` inserts `SRVID=app0N; path=/` with
`cache-control: private`, sticks, hides the cookie from the application
and re-dispatches a cookie naming a DOWN server; `option http-server-close`
closes each server connection while the client keeps its own; the
httpchk requests are the ones the article writes.
"""

from __future__ import annotations

import http.client
import re
import ssl
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.scenarios.http.httpkit import exchange, make_certificate, wait_log
from tests.scenarios.http.origins import Origin
from tests.support import REPO, LbProcess, free_port, wait_until

POOLS = {"app": ("127.0.0.31", "127.0.0.32", "127.0.0.33"), "api": ("127.0.0.41", "127.0.0.42"),
         "static": ("127.0.0.51", "127.0.0.52")}  # fmt: skip
CLIENT_IP = "127.0.0.77"


class Article:
    def __init__(self, directory: Path) -> None:
        self.pem, self.cert = make_certificate(directory, ("solvethenetwork.com",), ("127.0.0.10",))
        self.origins: dict[str, Origin] = {}
        for pool, ips in POOLS.items():
            for number, ip in enumerate(ips, 1):
                name = f"{pool}-0{number}"
                self.origins[name] = Origin(name, host=ip, port=free_port(ip))
        self.origins["app-03"].health_status = 503
        self.http_port, self.https_port = free_port("127.0.0.10"), free_port("127.0.0.10")
        self.lb = LbProcess(directory, self.config())
        self.context = ssl.create_default_context(cafile=str(self.cert))

    def config(self) -> str:
        text = (REPO / "etc" / "l7-article.cfg").read_text()
        text = text.replace("etc/certs/solvethenetwork.com.pem", str(self.pem))
        text = text.replace("127.0.0.10:8080", f"127.0.0.10:{self.http_port}")
        text = text.replace("127.0.0.10:8443", f"127.0.0.10:{self.https_port}")
        for origin in self.origins.values():
            text = re.sub(rf"{re.escape(origin.host)}:\d+", f"{origin.host}:{origin.port}", text)
        return text

    def https(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.10", self.https_port, context=self.context, timeout=10,
                                           source_address=(CLIENT_IP, 0))  # fmt: skip

    def get(self, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        """GET over a new TLS connection; the response body is read."""
        conn = self.https()
        conn.request("GET", path, headers={"Host": "solvethenetwork.com", **(headers or {})})
        response = conn.getresponse()
        response.body = response.read()
        conn.close()
        return response

    def close(self) -> None:
        self.lb.stop()
        for origin in self.origins.values():
            origin.close()


@pytest.fixture(scope="module")
def article(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Article]:
    setup = Article(tmp_path_factory.mktemp("article"))
    try:
        setup.lb.start()
        wait_until(lambda: "Server app_backend/app-03 is DOWN" in setup.lb.stderr_text(), 15,
                   what="app-03 marked DOWN by its first health check")  # fmt: skip
        yield setup
    finally:
        setup.close()


def test_plain_http_gets_haproxys_redirect_to_https(article: Article) -> None:
    raw = exchange(article.http_port, b"GET /shop/cart?id=7 HTTP/1.1\r\nHost: solvethenetwork.com\r\n"
                                      b"Connection: close\r\n\r\n", host="127.0.0.10")  # fmt: skip
    assert raw == (b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\n"
                   b"location: https://solvethenetwork.com/shop/cart?id=7\r\n"
                   b"cache-control: no-cache\r\nconnection: close\r\n\r\n")  # fmt: skip
    curl = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                           "-H", "Host: solvethenetwork.com", f"http://127.0.0.10:{article.http_port}/api/x"],
                          capture_output=True, text=True, timeout=20)  # fmt: skip
    assert curl.stdout == "302 https://solvethenetwork.com/api/x"
    assert not any(o.seen("/shop") or o.seen("/api/x") for o in article.origins.values())
    wait_log(article.lb, "https_frontend https_frontend/<NOSRV>", " 302 ", "LR--", '"GET /shop/cart?id=7 HTTP/1.1"')


@pytest.mark.parametrize(("path", "pool"), [
    ("/api/users?id=3", "api"), ("/api/", "api"), ("/static/site.css", "static"), ("/assets/logo.png", "static"),
    ("/", "app"), ("/about", "app"), ("/apix/not-api", "app"), ("/api", "app"), ("/static", "app"),
])  # fmt: skip
def test_https_path_routing(article: Article, path: str, pool: str) -> None:
    response = article.get(path)
    assert response.status == 200
    server = response.getheader("X-Server")
    assert server.startswith(pool + "-"), f"{path} reached {server}"
    assert article.origins[server].seen(path)[-1].target == path
    assert response.body == f"{server} {path}\n".encode()


def test_tls_is_terminated_for_curl_too(article: Article) -> None:
    curl = subprocess.run(["curl", "-s", "-D", "-", "--cacert", str(article.cert), "--resolve",
                           f"solvethenetwork.com:{article.https_port}:127.0.0.10",
                           f"https://solvethenetwork.com:{article.https_port}/assets/app.js"],
                          capture_output=True, timeout=20)  # fmt: skip
    assert curl.returncode == 0, curl.stderr
    head, _, body = curl.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/2 200 ")  # `alpn h2,http/1.1`: curl and lb agree on HTTP/2
    assert re.search(rb"\r\nx-server: static-0[12]\r\n", head + b"\r\n")
    assert body.endswith(b" /assets/app.js\n")
    # the https listener logs the frontend name with HAProxy's '~' suffix, an h2 request with its authority
    wait_log(article.lb, "https_frontend~ static_backend/static-0",
             f'"GET https://solvethenetwork.com:{article.https_port}/assets/app.js HTTP/2.0"')


def test_api_pool_sees_x_backend_pool_and_an_appended_x_forwarded_for(article: Article) -> None:
    response = article.get("/api/orders", {"X-Forwarded-For": "203.0.113.9", "X-Backend-Pool": "spoofed"})
    seen = article.origins[response.getheader("X-Server")].seen("/api/orders")[-1]
    assert seen.all("X-Backend-Pool") == ["api"]  # set-header replaces what the client sent
    assert seen.all("X-Forwarded-For") == ["203.0.113.9", CLIENT_IP]  # appended, the client's kept first
    app = article.get("/home")
    app_seen = article.origins[app.getheader("X-Server")].seen("/home")[-1]
    assert app_seen.all("X-Backend-Pool") == []
    assert app_seen.all("X-Forwarded-For") == [CLIENT_IP]


def test_cookie_insert_indirect_nocache(article: Article) -> None:
    # fresh clients: round robin over the UP servers, each told where it landed
    firsts = [article.get("/cart") for _ in range(4)]
    servers = [r.getheader("X-Server") for r in firsts]
    assert sorted(servers[:2]) == ["app-01", "app-02"] and servers[2:] == servers[:2]
    for response, server in zip(firsts, servers):
        assert response.getheader("Set-Cookie") == f"SRVID=app0{server[-1]}; path=/"
        # nocache adds `cache-control: private` only to cacheable responses; HAProxy 2.6 does
        # not count this one (no cache headers from the origin) as cacheable, nor does lb
        assert response.getheader("Cache-Control") is None
    # with the cookie: the same server every time, nothing inserted again, the cookie hidden
    for cookie, server in (("SRVID=app02", "app-02"), ("lang=fr; SRVID=app01; theme=dark", "app-01")):
        for _ in range(3):
            response = article.get("/account", {"Cookie": cookie})
            assert response.getheader("X-Server") == server
            assert response.getheader("Set-Cookie") is None
    for name in ("app-01", "app-02"):
        for seen in article.origins[name].seen("/account"):
            assert "SRVID" not in (seen.header("Cookie") or "")
    kept = article.origins["app-01"].seen("/account")[-1].header("Cookie")
    assert "lang=fr" in kept and "theme=dark" in kept


def test_cookie_naming_a_down_server_is_redispatched_and_reinserted(article: Article) -> None:
    response = article.get("/checkout", {"Cookie": "SRVID=app03"})
    server = response.getheader("X-Server")
    assert server in ("app-01", "app-02")
    assert response.getheader("Set-Cookie") == f"SRVID=app0{server[-1]}; path=/"
    assert not article.origins["app-03"].seen()
    wait_log(article.lb, "app_backend/app-0", " --DI ", '"GET /checkout HTTP/1.1"')


def test_http_server_close_keeps_the_client_connection(article: Article) -> None:
    conn = article.https()
    local = []
    for index in range(3):
        conn.request("GET", f"/static/scl-{index}.css", headers={"Host": "solvethenetwork.com"})
        response = conn.getresponse()
        assert response.status == 200 and response.read().endswith(f"/static/scl-{index}.css\n".encode())
        assert response.getheader("Connection") is None  # the client side stays keep-alive
        local.append(conn.sock.getsockname())
    conn.close()
    assert len(set(local)) == 1, "the three requests went on one client connection"
    seen = [s for name in ("static-01", "static-02") for s in article.origins[name].seen("/static/scl-")]
    assert len(seen) == 3
    assert all(s.header("Connection") == "close" for s in seen)
    assert len({(s.peer, s.connection) for s in seen}) == 3, "one server connection per request"


def test_health_checks_are_the_articles_httpchk(article: Article) -> None:
    check = wait_until(lambda: article.origins["app-01"].health_checks, 10, what="a check of app-01")[0]
    assert (check.method, check.target, check.version) == ("GET", "/health", "HTTP/1.1")
    assert check.header("Host") == "sw-infrarunbook-01"
    api = wait_until(lambda: article.origins["api-01"].health_checks, 10, what="a check of api-01")[0]
    assert (api.method, api.target) == ("GET", "/api/health")
    down = next(line for line in article.lb.stderr_lines if "Server app_backend/app-03 is DOWN" in line)
    assert "reason: Layer7 wrong status, code: 503" in down
    for _ in range(4):
        assert article.get("/").getheader("X-Server") != "app-03"
    assert not article.origins["app-03"].seen()
