"""The engine-facing pipeline: backend selection, X-Forwarded-For, the article's Layer 7 configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from lb.rules import pipeline
from lb.rules.message import Response
from tests.rules.helpers import alerts, load, through, txn

ARTICLE = """\
defaults
    mode http
    option httplog
    option dontlognull
    option forwardfor
    option http-server-close
    timeout connect 5s
    timeout client  60s
    timeout server  60s
    timeout http-request 15s
    timeout http-keep-alive 5s

frontend https_frontend
    bind 127.0.0.1:8080
    http-request redirect scheme https unless { ssl_fc }

    acl is_api    path_beg /api/
    acl is_static path_beg /static/ /assets/

    use_backend api_backend    if is_api
    use_backend static_backend if is_static
    default_backend app_backend

backend app_backend
    balance roundrobin
    cookie SRVID insert indirect nocache
    server app-01 127.0.0.1:9001 check inter 5s rise 2 fall 3 cookie app01
    server app-02 127.0.0.1:9002 check inter 5s rise 2 fall 3 cookie app02
    server app-03 127.0.0.1:9003 check inter 5s rise 2 fall 3 cookie app03

backend api_backend
    balance leastconn
    http-request set-header X-Backend-Pool api
    server api-01 127.0.0.1:9011 check inter 5s rise 2 fall 3
    server api-02 127.0.0.1:9012 check inter 5s rise 2 fall 3

backend static_backend
    balance roundrobin
    server static-01 127.0.0.1:9021 check inter 10s rise 2 fall 3
"""


@pytest.fixture
def article(tmp_path: Path):
    config = load(tmp_path, ARTICLE, head="")
    assert not alerts(config), alerts(config)
    return config


def test_plain_http_is_redirected_to_https(article) -> None:
    verdict, t = through(article, txn("/shop?x=1", [("Host", "www.example.com")]))
    assert verdict.reply.render() == (b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\n"
                                      b"location: https://www.example.com/shop?x=1\r\ncache-control: no-cache\r\n\r\n")
    assert (verdict.term, verdict.status, t.backend) == ("LR", 302, None)


@pytest.mark.parametrize("path,backend", [
    ("/api/v1/users", "api_backend"), ("/static/app.js", "static_backend"), ("/assets/logo.png", "static_backend"),
    ("/", "app_backend"), ("/apix", "app_backend"), ("/api", "app_backend"),
])  # fmt: skip
def test_path_routing(article, path: str, backend: str) -> None:
    _v, t = through(article, txn(path, [("Host", "h")], src="192.0.2.7", ssl=True))
    assert t.backend.name == backend
    forwarded = t.request.head_bytes()
    assert forwarded.endswith(b"x-forwarded-for: 192.0.2.7\r\n\r\n")
    assert (b"x-backend-pool: api\r\n" in forwarded) is (backend == "api_backend")


def test_cookie_insert_indirect_nocache_flow(article) -> None:
    _v, first = through(article, txn("/", [("Host", "h")], ssl=True))
    assert first.server.name == "app-01" and pipeline.cookie_flags(first) == "NI"
    assert first.response.fheader("set-cookie") == "SRVID=app01; path=/"
    later = txn("/cart", [("Host", "h"), ("Cookie", "lang=fr; SRVID=app02")], ssl=True)
    _v, later = through(article, later)
    assert pipeline.persistent_server(later).name == "app-02" and later.server.name == "app-02"
    assert later.request.head_bytes() == (b"GET /cart HTTP/1.1\r\nhost: h\r\ncookie: lang=fr\r\n"
                                          b"x-forwarded-for: 10.0.0.1\r\n\r\n")  # the server never sees SRVID
    assert later.response.fheader("set-cookie") is None and pipeline.cookie_flags(later) == "VN"
    _v, down = through(article, txn("/", [("Cookie", "SRVID=app02")], ssl=True), is_up=lambda s: s.name != "app-02")
    assert pipeline.persistent_server(down) is None and pipeline.cookie_flags(down) == "DI"


def test_use_backend_order_dynamic_names_and_no_backend(tmp_path: Path) -> None:
    text = ("frontend fe\n    bind 127.0.0.1:8080\n    use_backend b1 if { path /1 }\n"
            "    use_backend b%[req.hdr(x-b)] if { req.hdr(x-b) -m found }\n    use_backend b2 if { path_beg / }\n"
            "frontend lonely\n    bind 127.0.0.1:8081\n"
            "backend b1\n    server s 127.0.0.1:9\nbackend b2\n    server s 127.0.0.1:9\n"
            "backend b3\n    server s 127.0.0.1:9\n")  # fmt: skip
    config = load(tmp_path, text)
    assert not alerts(config)
    fe, lonely = config.frontends["fe"], config.frontends["lonely"]
    for uri, headers, expected in (("/1", [("X-B", "3")], "b1"), ("/x", [("X-B", "3")], "b3"),
                                   ("/x", [("X-B", "9")], None), ("/x", [], "b2")):  # fmt: skip
        t = txn(uri, headers, frontend=fe)
        assert pipeline.request_phase(t) is None
        assert (t.backend.name if t.backend else None) == expected, (uri, headers)
    t = txn("/", frontend=lonely)
    assert pipeline.request_phase(t) is None and t.backend is None  # the engine answers 503


def test_listen_section_serves_itself(tmp_path: Path) -> None:
    config = load(tmp_path, "listen li\n    bind 127.0.0.1:8080\n    http-request set-header X-L 1\n"
                            "    http-response set-header X-R 1\n    server s 127.0.0.1:9\n")  # fmt: skip
    _v, t = through(config, txn("/"))
    assert t.backend is t.frontend and t.request.get_all("x-l") == ["1"] and t.response.get_all("x-r") == ["1"]


@pytest.mark.parametrize("fe_opt,be_opt,src,existing,expected", [
    ("option forwardfor", "", "10.0.0.1", [], [("X-Forwarded-For", "10.0.0.1")]),
    ("", "option forwardfor", "10.0.0.1", [("X-Forwarded-For", "1.2.3.4")],
     [("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "10.0.0.1")]),
    ("option forwardfor header X-Fe", "option forwardfor header X-Be", "10.0.0.1", [], [("X-Be", "10.0.0.1")]),
    ("option forwardfor header X-Fe", "", "10.0.0.1", [], [("X-Fe", "10.0.0.1")]),
    ("option forwardfor except 10.0.0.0/8", "", "10.9.9.9", [], []),
    ("", "option forwardfor except 127.0.0.1", "::ffff:127.0.0.1", [], []),  # lb also matches v4-mapped clients
    ("option forwardfor if-none", "", "10.0.0.1", [("X-Forwarded-For", "1.2.3.4")], [("X-Forwarded-For", "1.2.3.4")]),
    ("option forwardfor if-none", "option forwardfor", "10.0.0.1", [("X-Forwarded-For", "1.2.3.4")],
     [("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "10.0.0.1")]),  # one side without if-none wins
    ("option forwardfor", "", "2001:db8::1", [], [("X-Forwarded-For", "2001:db8::1")]),
])  # fmt: skip
def test_forwardfor(tmp_path: Path, fe_opt: str, be_opt: str, src: str, existing: list, expected: list) -> None:
    config = load(tmp_path, f"frontend fe\n    bind 127.0.0.1:8080\n    {fe_opt}\n    default_backend be\n"
                            f"backend be\n    {be_opt}\n    server s 127.0.0.1:9\n")  # fmt: skip
    assert not alerts(config)
    _v, t = through(config, txn("/", list(existing), src=src))
    assert [h for h in t.request.headers if h[0].lower() in ("x-forwarded-for", "x-fe", "x-be")] == expected


@pytest.mark.parametrize("line,message", [
    ("option forwardfor foo", "'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'."),
    ("option forwardfor except", "'option forwardfor except' expects <address>[/mask] as argument."),
    ("option forwardfor except nonsense", "'option forwardfor except' expects <address>[/mask] as argument."),
    ("option forwardfor header", "'option forwardfor header' expects <header_name> as argument."),
    ("no option forwardfor", "negation/default is not supported for option 'forwardfor'."),
    ("capture request header Host", "'capture request' expects 'header' <header_name> 'len' <len>."),
    ("capture response header X foo 3", "'capture response' expects 'header' <header_name> 'len' <len>."),
    ("capture foo", "'capture' expects 'cookie' or 'request header' or 'response header'."),
])  # fmt: skip
def test_option_and_capture_errors(tmp_path: Path, line: str, message: str) -> None:
    config = load(tmp_path, f"frontend fe\n    bind 127.0.0.1:8080\n    {line}\n")
    assert alerts(config)[0] == message


def test_response_phase_without_cookie_and_http10_response(tmp_path: Path) -> None:
    config = load(tmp_path, "frontend fe\n    bind 127.0.0.1:8080\n    default_backend be\nbackend be\n"
                            "    server s 127.0.0.1:9\n")  # fmt: skip
    _v, t = through(config, txn("/"), Response(200, "OK", "1.0", [("Set-Cookie", "SRVID=x")]))
    assert pipeline.cookie_flags(t) == "--"
    assert t.response.head_bytes() == b"HTTP/1.0 200 OK\r\nset-cookie: SRVID=x\r\n\r\n"


def test_which_proxies_need_request_objects(tmp_path: Path, article) -> None:
    fe, backends = article.frontends["https_frontend"], article.backends
    assert pipeline.frontend_needs_request(fe)
    assert pipeline.backend_needs_request(backends["app_backend"])  # cookie, and forwardfor from defaults
    config = load(tmp_path, "frontend fe\n    bind 127.0.0.1:8080\n    use_backend be\n    default_backend be\n"
                            "backend be\n    server s 127.0.0.1:9\n")  # fmt: skip
    assert not pipeline.frontend_needs_request(config.frontends["fe"])
    assert not pipeline.backend_needs_request(config.backends["be"])
