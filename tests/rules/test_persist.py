"""Cookie persistence: keyword, request side (flags, stripping), response side (Set-Cookie bytes, nocache)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lb.rules.cookie import parse_cookie_args
from lb.rules.message import Request, Response
from lb.rules.persist import b64tos30, request_cookie, s30tob64
from lb.rules.persist_response import is_cacheable, response_cookie
from tests.rules.helpers import load, messages

APP1, APP2, NOCOOKIE = (SimpleNamespace(name="app1", cookie="app01"), SimpleNamespace(name="app2", cookie="app02"),
                        SimpleNamespace(name="backup", cookie=None))  # fmt: skip
SERVERS = [APP1, APP2, NOCOOKIE]
NOW = 1_795_676_936


def cfg(text: str):
    return parse_cookie_args(text.split(), lambda message: None)


def on_request(config_text: str, cookie_headers: list[str], down=(), persist=False, now=NOW):
    req = Request("GET", "/", "1.1", [("Cookie", v) for v in cookie_headers])
    state = request_cookie(cfg(config_text), req, SERVERS, lambda s: s.name not in down, persist, now)
    return state, req.get_all("cookie")


@pytest.mark.parametrize("headers,after,flag,server", [
    ([], [], "N", None),
    (["SRVID=app01"], [], "V", "app1"),
    (["a=1; SRVID=app02; b=2"], ["a=1; b=2"], "V", "app2"),
    (["a=1;SRVID=app02;b=2"], ["a=1; b=2"], "V", "app2"),
    (["x=1; SRVID=app01"], ["x=1"], "V", "app1"),
    (["SRVID=zzz; c=3"], ["c=3"], "I", None),
    (["SRVID="], [], "I", None),
    (["a = 1 ; SRVID = app01 ; b=2"], ["a=1; b=2"], "V", "app1"),  # blanks around '=' go (checked with 2.6)
    (["SRVID=app01; $Path=/; b=2"], ["b=2"], "V", "app1"),
    (["SRVID=app01, b=2"], ["b=2"], "V", "app1"),
    (["x;SRVID=app01;y"], ["x; y"], "V", "app1"),
    (["b=1", "SRVID=app01"], ["b=1"], "V", "app1"),
    (["SRVID=bad; SRVID=app02"], [], "V", "app2"),
    (["SRVID=app01; SRVID=app02"], [], "V", "app1"),  # the first valid one wins
    (["c"], ["c"], "N", None),
])  # fmt: skip
def test_insert_indirect_request(headers: list[str], after: list[str], flag: str, server: str | None) -> None:
    state, cookies = on_request("SRVID insert indirect nocache", headers)
    assert (cookies, state.client_flag, state.server and state.server.name) == (after, flag, server)
    assert state.direct is (server is not None)


def test_without_indirect_the_server_sees_the_cookie() -> None:
    state, cookies = on_request("SRVID insert", ["a=1; SRVID=app02"])
    assert cookies == ["a=1; SRVID=app02"] and state.client_flag == "V"


@pytest.mark.parametrize("down,persist,flag,server", [
    (("app2",), False, "D", None),  # redispatched through the balancer; a new cookie will be inserted
    (("app2",), True, "D", "app2"),  # option persist: sent to the DOWN server anyway
    ((), False, "V", "app2"),
])  # fmt: skip
def test_cookie_naming_a_down_server(down: tuple, persist: bool, flag: str, server: str | None) -> None:
    state, _ = on_request("SRVID insert indirect", ["SRVID=app02"], down=down, persist=persist)
    assert (state.client_flag, state.server and state.server.name) == (flag, server)


def test_servers_sharing_a_cookie_value_first_usable_wins() -> None:
    shared = [SimpleNamespace(name="a", cookie="x"), SimpleNamespace(name="b", cookie="x")]
    req = Request("GET", "/", "1.1", [("Cookie", "S=x")])
    state = request_cookie(cfg("S insert"), req, shared, lambda s: s.name != "a")
    assert (state.client_flag, state.server.name) == ("V", "b")


@pytest.mark.parametrize("headers,after,flag", [
    (["x=1; JSESSIONID=app01~abc; y=2"], ["x=1; JSESSIONID=abc; y=2"], "V"),
    (["JSESSIONID=zz~abc"], ["JSESSIONID=abc"], "I"),  # the prefix goes even when invalid (as 2.6)
    (["JSESSIONID=abc"], ["JSESSIONID=abc"], "I"),
])  # fmt: skip
def test_prefix_request(headers: list[str], after: list[str], flag: str) -> None:
    state, cookies = on_request("JSESSIONID prefix", headers)
    assert (cookies, state.client_flag) == (after, flag)


@pytest.mark.parametrize("value,offset,flag,direct", [
    ("app01|{last}", -10, "V", True),
    ("app01|{last}", -2000, "E", False),  # idle longer than maxidle 30m
    ("app01|{last}", 100_000, "E", False),  # more than a day in the future
    ("app01", 0, "V", True),  # no date: accepted, refreshed later
])  # fmt: skip
def test_maxidle(value: str, offset: int, flag: str, direct: bool) -> None:
    text = value.format(last=s30tob64((NOW + offset) >> 2))
    state, _ = on_request("SRVID insert indirect maxidle 30m", [f"SRVID={text}"])
    assert (state.client_flag, state.direct) == (flag, direct)


def test_maxlife_too_old() -> None:
    first = s30tob64((NOW - 9 * 3600) >> 2)
    state, _ = on_request("SRVID insert maxidle 30m maxlife 8h", [f"SRVID=app01|{s30tob64(NOW >> 2)}|{first}"])
    assert state.client_flag == "O" and state.server is None


def test_base64_dates() -> None:
    assert s30tob64(448919234) == "awfbC"  # the [lab 2.6] cookie `SRV=w1|awfbC|awfbC`
    assert b64tos30("awfbC") == 448919234 and b64tos30("aw") == -1 and b64tos30("a$fbC") == -1


# -- responses ----------------------------------------------------------------------


def respond(config_text: str, request_cookies: list[str], response_headers: list[tuple[str, str]],
            server=APP1, method: str = "GET", status: int = 200, now: int = NOW):  # fmt: skip
    config = cfg(config_text)
    req = Request(method, "/", "1.1", [("Cookie", v) for v in request_cookies])
    state = request_cookie(config, req, SERVERS, lambda s: True, False, now)
    resp = Response(status, None, "1.1", [("Content-Length", "0"), *response_headers])
    response_cookie(config, state, resp, server, method, now)
    return resp.head_bytes().decode().split("\r\n")[2:-2], state.flags


@pytest.mark.parametrize("config_text,cookies,headers,server,expected,flags", [
    ("SRVID insert indirect nocache", [], [], APP1, ["set-cookie: SRVID=app01; path=/"], "NI"),
    ("SRVID insert indirect nocache", ["SRVID=app01"], [], APP1, [], "VN"),
    ("SRVID insert indirect nocache", ["SRVID=zzz"], [], APP2, ["set-cookie: SRVID=app02; path=/"], "II"),
    ("SRVID insert indirect nocache", [], [("Expires", "x")], APP1,
     ["expires: x", "set-cookie: SRVID=app01; path=/", "cache-control: private"], "NI"),
    ("SRVID insert indirect", [], [("Set-Cookie", "SRVID=mine; path=/"), ("Set-Cookie", "other=1")], APP1,
     ["set-cookie: other=1", "set-cookie: SRVID=app01; path=/"], "NI"),
    ("SRVID insert indirect", ["SRVID=app01"], [("Set-Cookie", " SRVID = mine ; path=/")], APP1, [], "VD"),
    ("SRV insert indirect nocache httponly secure domain .example.com domain .ex.org attr SameSite=Lax", [], [],
     APP1, ["set-cookie: SRV=app01; path=/; domain=.example.com; domain=.ex.org; HttpOnly; Secure; SameSite=Lax"],
     "NI"),
    ("SRV insert indirect httponly", [], [], NOCOOKIE,
     ["set-cookie: SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/; HttpOnly"], "NI"),
    ("SRVID insert indirect preserve", [], [("Set-Cookie", "SRVID=; Expires=x")], APP1,
     ["set-cookie: SRVID=; Expires=x"], "NP"),
    ("SRVID insert indirect preserve", [], [], APP1, ["set-cookie: SRVID=app01; path=/"], "NI"),
    ("SRVID insert postonly", [], [], APP1, [], "NN"),
    ("JSESSIONID prefix", [], [("Set-Cookie", "JSESSIONID=abc; path=/"), ("Set-Cookie", "other=1")], APP1,
     ["set-cookie: JSESSIONID=app01~abc; path=/", "set-cookie: other=1"], "NR"),
    ("JSESSIONID prefix", [], [], APP1, [], "NN"),
    ("JSESSIONID rewrite", ["JSESSIONID=app01"], [("Set-Cookie", "JSESSIONID=abc; path=/; HttpOnly")], APP1,
     ["set-cookie: JSESSIONID=app01; path=/; HttpOnly"], "VR"),
    ("JSESSIONID rewrite indirect", ["JSESSIONID=app01"], [("Set-Cookie", "JSESSIONID=abc")], APP1, [], "VD"),
    ("SRVID", [], [("Set-Cookie", "SRVID=app01")], APP1, ["set-cookie: SRVID=app01"], "NP"),  # passive mode
])  # fmt: skip
def test_response_cookies(config_text, cookies, headers, server, expected, flags) -> None:
    assert respond(config_text, cookies, headers, server) == (expected, flags)


def test_postonly_inserts_on_post() -> None:
    assert respond("SRVID insert postonly", [], [], APP1, "POST") == (["set-cookie: SRVID=app01; path=/"], "NI")


def test_dates_inserted_and_refreshed() -> None:
    stamp = s30tob64((NOW + 3) >> 2)
    assert respond("S insert maxidle 30m maxlife 8h", [], [])[0] == [f"set-cookie: S=app01|{stamp}|{stamp}; path=/"]
    old = s30tob64((NOW - 100) >> 2)
    lines, flags = respond("S insert indirect maxidle 30m", [f"S=app01|{old}"], [])
    assert lines == [f"set-cookie: S=app01|{stamp}; path=/"] and flags == "VU"
    fresh = s30tob64((NOW + 3) >> 2)
    assert respond("S insert indirect maxidle 30m", [f"S=app01|{fresh}"], []) == ([], "VN")


def test_informational_responses_are_left_alone() -> None:
    assert respond("SRVID insert", [], [], status=100) == ([], "NN")
    assert respond("SRVID insert", [], [], status=101)[1] == "NI"  # 101 still gets the cookie


def test_redispatch_turns_a_valid_cookie_into_d() -> None:
    config = cfg("SRVID insert indirect")
    req = Request("GET", "/", "1.1", [("Cookie", "SRVID=app01")])
    state = request_cookie(config, req, SERVERS, lambda s: True)
    state.redispatched()
    resp = Response(200, None, "1.1", [])
    response_cookie(config, state, resp, APP2, "GET", NOW)
    assert state.flags == "DI" and resp.fheader("set-cookie") == "SRVID=app02; path=/"


@pytest.mark.parametrize("method,status,headers,cacheable", [
    ("GET", 200, [], False), ("GET", 200, [("Expires", "x")], True), ("GET", 200, [("Last-Modified", "x")], True),
    ("GET", 200, [("ETag", '"e"')], True), ("GET", 200, [("Cache-Control", "max-age=60")], True),
    ("GET", 200, [("Cache-Control", "public")], False), ("GET", 200, [("Cache-Control", "private")], False),
    ("GET", 200, [("Cache-Control", "max-age=5, private")], False),
    ("GET", 200, [("Cache-Control", 'no-cache="set-cookie"'), ("Expires", "x")], True),
    ("GET", 200, [("Cache-Control", "max-age=0"), ("Expires", "x")], False),
    ("GET", 200, [("Pragma", "no-cache"), ("Expires", "x")], False),
    ("GET", 200, [("Cache-Control", "S-MaxAge=5")], True),
    ("GET", 302, [("Expires", "x")], False), ("GET", 302, [("Cache-Control", "public, max-age=5")], True),
    ("GET", 404, [("Expires", "x")], True), ("GET", 201, [("Expires", "x")], False),
    ("GET", 204, [("Expires", "x")], True), ("GET", 500, [("Expires", "x")], False),
    ("HEAD", 200, [("Expires", "x")], True), ("OPTIONS", 200, [("Expires", "x")], True),
    ("POST", 200, [("Expires", "x")], False), ("PUT", 200, [("Expires", "x")], False),
    ("POST", 200, [("Cache-Control", "public, max-age=5")], True),
])  # fmt: skip
def test_cacheability_as_recorded_from_2_6(method: str, status: int, headers: list, cacheable: bool) -> None:
    assert is_cacheable(method, Response(status, None, "1.1", list(headers))) is cacheable


# -- the keyword ------------------------------------------------------------------------


@pytest.mark.parametrize("line,expected", [
    ("cookie", "parsing [{f}:7] : 'cookie' expects <cookie_name> as argument."),
    ("cookie SRV insert rewrite", "parsing [{f}:7] : cookie 'rewrite', 'insert' and 'prefix' modes are incompatible."),
    ("cookie SRV preserve", "parsing [{f}:7] : cookie 'preserve' requires at least 'insert' or 'indirect'."),
    ("cookie SRV insert foo", "parsing [{f}:7] : 'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', "
     "'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options."),
    ("cookie SRV insert domain", "parsing [{f}:7]: 'domain' expects <domain> as argument."),
    ("cookie SRV insert maxidle", "parsing [{f}:7]: 'maxidle' expects <idletime> in seconds as argument."),
    ("cookie SRV insert maxidle abc", "parsing [{f}:7]: unexpected character 'a' in argument to <maxidle>."),
    ('cookie SRV insert attr "a;b"', "parsing [{f}:7]: character '%x3B' is not permitted in attribute value."),
    ("cookie SRV insert attr", "parsing [{f}:7]: 'attr' expects <value> as argument."),
    ("cookie SRV insert domain nodot", "parsing [{f}:7]: domain 'nodot' contains no embedded dot, this "
     "configuration may not work properly (see RFC6265#5.2.3)."),
])  # fmt: skip
def test_keyword_messages(tmp_path: Path, line: str, expected: str) -> None:
    config = load(tmp_path, f"backend be\n    {line}\n    server s1 127.0.0.1:9001\n")
    assert expected.format(f=tmp_path / "t.cfg") in messages(config)


def test_keyword_values() -> None:
    c = cfg("S insert indirect nocache postonly httponly secure domain .a maxidle 30m maxlife 8h attr X=1")
    assert (c.mode, c.indirect, c.nocache, c.postonly) == ("insert", True, True, True)
    assert (c.maxidle, c.maxlife) == (1800, 28800)
    assert c.attributes == "; domain=.a; HttpOnly; Secure; X=1"
    assert cfg("S").mode is None and cfg("S maxidle 10").maxidle == 10


def test_cookie_on_a_tcp_backend_warns(tmp_path: Path) -> None:
    config = load(tmp_path, "backend be\n    mode tcp\n    cookie SRV insert\n    server s1 127.0.0.1:9001\n")
    assert "cookie will be ignored for backend 'be' (needs 'mode http')." in messages(config, "WARNING")


def test_fast_path_gives_the_same_bytes_and_flags_as_the_port() -> None:
    """The `a=1; b=2` shortcut in request_cookie must agree with the close port of HAProxy's loop."""
    import random

    from lb.rules.persist import _SIMPLE, CookieTxn, _Decider, _Scan, _simple_header

    rng = random.Random(26)
    names, values = ["SRVID", "a", "SRVIDX", "b"], ["app01", "app02", "zzz", "", "app01|AAAAB", "app01~abc", "v=1"]
    for _ in range(2000):
        count = rng.randint(1, 5)
        parts = [f"{rng.choice(names)}={rng.choice(values)}" for _ in range(count)]
        value = parts[0] + "".join(rng.choice([";", "; ", ";  "]) + part for part in parts[1:])
        assert _SIMPLE.match(value), value
        for options in ("insert indirect", "insert", "prefix", "rewrite indirect"):
            config, results = cfg(f"SRVID {options} maxidle 1h"), []
            for run in (lambda d: _Scan(value, config, d).run(), lambda d: _simple_header(value, config, d)):
                state = CookieTxn()
                out = run(_Decider(config, state, SERVERS, lambda s: s.name != "app2", False, NOW))
                results.append((out, state.flags, state.server, state.direct, state.last_date))
            assert results[0] == results[1], (value, options)
