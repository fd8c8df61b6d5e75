"""http-request / http-response actions through the pipeline, from config snippets."""

from __future__ import annotations

from pathlib import Path

import pytest

from lb.rules.message import Response
from tests.rules.helpers import alerts, through, txn
from tests.rules.helpers import load as load_config

FRONT = "frontend fe\n    bind 127.0.0.1:8080\n"
BACK = "    default_backend be\nbackend be\n    server s1 127.0.0.1:9001\n"


def run(tmp_path: Path, rules: str, t=None, backend_rules: str = "", response=None, head: str | None = None):
    text = FRONT + rules + BACK + backend_rules
    config = load_config(tmp_path, text) if head is None else load_config(tmp_path, text, head)
    assert not alerts(config), alerts(config)
    return through(config, t or txn("/a?q=1", [("Host", "ex.com")]), response)


def forwarded(tmp_path: Path, rules: str, t=None, **kw) -> bytes:
    verdict, done = run(tmp_path, rules, t, **kw)
    assert verdict is None
    return done.request.head_bytes()


@pytest.mark.parametrize("rules,expected", [
    ("    http-request set-header X-A 1\n", b"GET /a?q=1 HTTP/1.1\r\nhost: ex.com\r\nx-a: 1\r\n\r\n"),
    ("    http-request add-header Host two\n", b"GET /a?q=1 HTTP/1.1\r\nhost: ex.com\r\nhost: two\r\n\r\n"),
    ("    http-request set-header host %[req.hdr(host)]:80\n", b"GET /a?q=1 HTTP/1.1\r\nhost: ex.com:80\r\n\r\n"),
    ("    http-request del-header HOST\n", b"GET /a?q=1 HTTP/1.1\r\n\r\n"),
    ("    http-request del-header ho -m beg\n", b"GET /a?q=1 HTTP/1.1\r\n\r\n"),
    ("    http-request del-header st -m end\n", b"GET /a?q=1 HTTP/1.1\r\n\r\n"),
    ("    http-request del-header os -m sub\n", b"GET /a?q=1 HTTP/1.1\r\n\r\n"),
    ("    http-request del-header ^h.*t$ -m reg\n", b"GET /a?q=1 HTTP/1.1\r\n\r\n"),
    ("    http-request del-header host -m str\n", b"GET /a?q=1 HTTP/1.1\r\n\r\n"),
    ("    http-request replace-header Host (.*)\\.com \\1.org\n", b"GET /a?q=1 HTTP/1.1\r\nhost: ex.org\r\n\r\n"),
    ("    http-request replace-header Host x ZZ\n", b"GET /a?q=1 HTTP/1.1\r\nhost: ZZ\r\n\r\n"),  # whole value
    ("    http-request set-path /b%[path]\n", b"GET /b/a?q=1 HTTP/1.1\r\nhost: ex.com\r\n\r\n"),
    ("    http-request set-pathq /b\n", b"GET /b HTTP/1.1\r\nhost: ex.com\r\n\r\n"),
    ("    http-request set-query x=%[query]\n", b"GET /a?x=q=1 HTTP/1.1\r\nhost: ex.com\r\n\r\n"),
    ("    http-request set-uri /u%[url]\n", b"GET /u/a?q=1 HTTP/1.1\r\nhost: ex.com\r\n\r\n"),
    ("    http-request set-method POST\n", b"POST /a?q=1 HTTP/1.1\r\nhost: ex.com\r\n\r\n"),
    # header edits are visible to the rules that follow
    ("    http-request set-header X-A 1\n    http-request set-header X-B 2 if { req.hdr(x-a) 1 }\n",
     b"GET /a?q=1 HTTP/1.1\r\nhost: ex.com\r\nx-a: 1\r\nx-b: 2\r\n\r\n"),
    # set-var / set-var-fmt / unset-var
    ("    http-request set-var(txn.p) path\n    http-request set-header X-P %[var(txn.p)]\n",
     b"GET /a?q=1 HTTP/1.1\r\nhost: ex.com\r\nx-p: /a\r\n\r\n"),
    ("    http-request set-var-fmt(req.f) \"<%[query]>\"\n    http-request set-header X-F %[var(req.f)]\n",
     b"GET /a?q=1 HTTP/1.1\r\nhost: ex.com\r\nx-f: <q=1>\r\n\r\n"),
    ("    http-request set-var(sess.s) str(x)\n    http-request unset-var(sess.s)\n"
     "    http-request set-header X-S %[var(sess.s)]\n", b"GET /a?q=1 HTTP/1.1\r\nhost: ex.com\r\nx-s: \r\n\r\n"),
])  # fmt: skip
def test_request_actions(tmp_path: Path, rules: str, expected: bytes) -> None:
    assert forwarded(tmp_path, rules) == expected


def test_replace_value_per_comma_value(tmp_path: Path) -> None:
    t = txn("/", [("X-V", "ab, ac,ad , xa"), ("X-Q", '"q,1", q2')])
    rules = "    http-request replace-value X-V ^a(.*) A\\1\n    http-request replace-value X-Q ^q(.*) Q\\1\n"
    assert forwarded(tmp_path, rules, t) == b'GET / HTTP/1.1\r\nx-v: Ab,Ac,Ad, xa\r\nx-q: "q,1",Q2\r\n\r\n'


def test_order_frontend_use_backend_backend_then_forwardfor(tmp_path: Path) -> None:
    rules = ("    option forwardfor\n    http-request set-header X-Fe 1\n    use_backend be2 if { req.hdr(x-fe) 1 }\n")
    back = ("backend be2\n    option forwardfor header X-Real\n    http-request set-header X-Be %[req.hdr(x-fe)]\n"
            "    server s2 127.0.0.1:9002\n")  # fmt: skip
    verdict, done = run(tmp_path, rules, txn("/", [("X-Forwarded-For", "1.2.3.4")], src="10.9.8.7"),
                        backend_rules=back)  # fmt: skip
    assert done.backend.name == "be2"
    assert done.request.head_bytes() == (b"GET / HTTP/1.1\r\nx-forwarded-for: 1.2.3.4\r\nx-fe: 1\r\nx-be: 1\r\n"
                                         b"x-real: 10.9.8.7\r\n\r\n")  # fmt: skip


def test_named_defaults_rules_run_first(tmp_path: Path) -> None:
    head = ("defaults base\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
            "    acl d path /a\n    http-request set-header X-Order defaults if d\n")  # fmt: skip
    text = ("frontend fe from base\n    bind 127.0.0.1:8080\n    http-request add-header X-Order frontend\n"
            "    http-request add-header X-Acl 1 if d\n"  # the defaults' ACLs are not visible here
            "    default_backend be\ndefaults plain\n    mode http\nbackend be from plain\n"
            "    server s1 127.0.0.1:9001\n")  # fmt: skip
    config = load_config(tmp_path, text, head)
    assert alerts(config) == [
        "error detected while parsing an 'http-request add-header' condition : no such ACL : 'd'."]
    config = load_config(tmp_path, text.replace("    http-request add-header X-Acl 1 if d\n", ""), head)
    assert not config.alerts
    _v, done = through(config, txn("/a"))
    assert done.request.get_all("x-order") == ["defaults", "frontend"]


def test_defaults_with_rules_serve_one_side_only(tmp_path: Path) -> None:
    head = ("defaults base\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
            "    http-request set-header X-Order defaults\n")  # fmt: skip
    text = ("frontend fe from base\n    bind 127.0.0.1:8080\n    default_backend be\n"
            "backend be from base\n    server s1 127.0.0.1:9001\n")  # fmt: skip
    config = load_config(tmp_path, text, head)
    assert alerts(config) == [
        "frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules "
        f"(defaults section at {tmp_path}/t.cfg:1)."]


@pytest.mark.parametrize("rules,expected_header", [
    ("    http-request allow\n    http-request set-header X-After 1\n", None),
    ("    http-request allow if { path /nope }\n    http-request set-header X-After 1\n", "1"),
])  # fmt: skip
def test_allow_stops_the_frontend_list_only(tmp_path: Path, rules: str, expected_header: str | None) -> None:
    back = "    http-request set-header X-Be 1\n"
    verdict, done = run(tmp_path, rules, backend_rules=back)
    assert verdict is None
    assert done.request.fheader("x-after") == expected_header and done.request.fheader("x-be") == "1"


@pytest.mark.parametrize("rules,status,reply,term", [
    ("    http-request deny\n", 403, b"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\n"
     b"content-type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative "
     b"rules.\n</body></html>\n", "PR"),
    ("    http-request deny deny_status 429\n", 429, None, "PR"),
    ("    http-request deny status 400 content-type text/plain string nope hdr X-A a\n", 400,
     b"HTTP/1.1 400 Bad Request\r\nx-a: a\r\ncontent-length: 4\r\ncontent-type: text/plain\r\n\r\nnope", "PR"),
    ("    http-request return\n", 200, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", "LR"),
    ("    http-request return status 404\n", 404, b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", "LR"),
    ("    http-request return status 302 hdr Location /x hdr X-Two \"a b\"\n", 302,
     b"HTTP/1.1 302 Moved Temporarily\r\nlocation: /x\r\nx-two: a b\r\ncontent-length: 0\r\n\r\n", "LR"),
    ("    http-request return status 200 content-type text/plain lf-string \"ip=%[src] p=%[path]\" "
     "hdr X-P %[query]\n", 200, b"HTTP/1.1 200 OK\r\nx-p: q=1\r\ncontent-length: 16\r\n"
     b"content-type: text/plain\r\n\r\nip=10.0.0.1 p=/a", "LR"),
    ("    http-request return status 418\n", 418, b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 0\r\n\r\n", "LR"),
    ("    http-request reject\n", -1, None, "PR"),
])  # fmt: skip
def test_final_request_actions(tmp_path: Path, rules: str, status: int, reply: bytes | None, term: str) -> None:
    rules += "    http-request set-header X-Never 1\n"
    verdict, done = run(tmp_path, rules)
    assert (verdict.status, verdict.term) == (status, term)
    if reply is not None:
        assert verdict.reply.render() == reply
    assert done.request.fheader("x-never") is None and done.backend is None


def test_return_file_and_errorfile_payloads(tmp_path: Path) -> None:
    (tmp_path / "body.txt").write_text("from file")
    (tmp_path / "e.http").write_bytes(b"HTTP/1.0 503 Busy\r\nConnection: close\r\nX-Y: z\r\n\r\nbusy\n")
    rules = (f"    http-request return content-type text/plain file {tmp_path}/body.txt if {{ path /f }}\n"
             f"    http-request return status 200 errorfile {tmp_path}/e.http\n")  # fmt: skip
    verdict, _t = run(tmp_path, rules, txn("/f"))
    assert verdict.reply.render() == (b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\ncontent-type: text/plain\r\n\r\n"
                                      b"from file")
    verdict, _t = run(tmp_path, rules, txn("/e"))
    assert verdict.reply.render() == b"HTTP/1.0 503 Busy\r\nx-y: z\r\n\r\nbusy\n" and verdict.reply.close


def test_deny_uses_errorfiles_backend_then_frontend(tmp_path: Path) -> None:
    (tmp_path / "fe403.http").write_bytes(b"HTTP/1.1 403 FE\r\nContent-Length: 2\r\n\r\nfe")
    (tmp_path / "be403.http").write_bytes(b"HTTP/1.1 403 BE\r\nContent-Length: 2\r\n\r\nbe")
    text = (f"frontend fe\n    bind 127.0.0.1:8080\n    errorfile 403 {tmp_path}/fe403.http\n"
            "    http-request deny if { path /fe }\n    default_backend be\n"
            f"backend be\n    errorfile 403 {tmp_path}/be403.http\n    http-request deny if {{ path /be }}\n"
            "    server s1 127.0.0.1:9001\n")  # fmt: skip
    config = load_config(tmp_path, text)
    assert through(config, txn("/fe"))[0].reply.render() == b"HTTP/1.1 403 FE\r\ncontent-length: 2\r\n\r\nfe"
    assert through(config, txn("/be"))[0].reply.render() == b"HTTP/1.1 403 BE\r\ncontent-length: 2\r\n\r\nbe"


def response_of(tmp_path: Path, rules: str, backend_rules: str = "", status: int = 200):
    resp = Response(status, None, "1.1", [("Content-Length", "2"), ("X-S", "a, b"), ("X-Drop", "1")])
    return run(tmp_path, rules, txn("/r"), backend_rules=backend_rules, response=resp)


def test_response_rules_backend_first_then_frontend(tmp_path: Path) -> None:
    fe = "    http-response add-header X-Order fe\n    http-response del-header x-drop\n"
    be = ("    http-response add-header X-Order be\n    http-response replace-value X-S ^a A\n"
          "    http-response set-header X-St %[status]\n")  # fmt: skip
    verdict, done = response_of(tmp_path, fe, be)
    assert verdict is None
    assert done.response.head_bytes() == (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-s: A, b\r\nx-order: be\r\n"
                                          b"x-st: 200\r\nx-order: fe\r\n\r\n")  # fmt: skip


@pytest.mark.parametrize("rule,status,term,head", [
    ("    http-response deny\n", 502, "PH", b"HTTP/1.1 502 Bad Gateway\r\n"),
    ("    http-response deny deny_status 503\n", 503, "PH", b"HTTP/1.1 503 Service Unavailable\r\n"),
    ("    http-response return status 200 content-type text/plain string hi\n", 200, "LH", b"HTTP/1.1 200 OK\r\n"),
    ("    http-response redirect location /moved\n", 302, "LH", b"HTTP/1.1 302 Found\r\n"),
])  # fmt: skip
def test_final_response_actions(tmp_path: Path, rule: str, status: int, term: str, head: bytes) -> None:
    verdict, _done = response_of(tmp_path, rule)
    assert (verdict.status, verdict.term) == (status, term)
    assert verdict.reply.render().startswith(head)


def test_set_status(tmp_path: Path) -> None:
    _v, done = response_of(tmp_path, "    http-response set-status 404\n")
    assert done.response.head_bytes().startswith(b"HTTP/1.1 404 Not Found\r\n")
    _v, done = response_of(tmp_path, '    http-response set-status 299 reason "Fine Too"\n')
    assert done.response.head_bytes().startswith(b"HTTP/1.1 299 Fine Too\r\n")


def test_capture_slots(tmp_path: Path) -> None:
    rules = ("    capture request header Host len 4\n    capture request header X-None len 10\n"
             "    capture response header X-S len 20\n    http-request capture req.hdr(x-c),upper len 3\n"
             "    http-request set-header Host changed\n")  # fmt: skip
    resp = Response(200, None, "1.1", [("X-S", "first"), ("X-S", "last, value")])
    _v, done = run(tmp_path, rules, txn("/", [("Host", "example.com"), ("X-C", "abcdef")]), response=resp)
    assert done.req_captures == ["exam", "", "ABC"]  # taken before the rules, cut to len
    assert done.res_captures == ["last, value"]
