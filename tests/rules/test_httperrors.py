"""http-errors sections, errorfiles and http-error: order, inheritance, references resolved after parsing."""

from __future__ import annotations

from pathlib import Path

from lb.rules import pipeline
from lb.rules.errors import error_reply
from tests.rules.helpers import alerts, load, messages, txn


def page(directory: Path, name: str, code: int, tag: str) -> str:
    path = directory / name
    path.write_bytes(f"HTTP/1.1 {code} X\r\ncontent-length: 0\r\nx-err: {tag}\r\n\r\n".encode())
    return str(path)


def tag_of(reply) -> str:
    for line in reply.head.split(b"\r\n"):
        if line.startswith(b"x-err: "):
            return line[7:].decode()
    return "builtin"


def test_order_of_errorfile_errorfiles_and_http_error(tmp_path) -> None:
    e1_403, e1_404 = page(tmp_path, "1-403", 403, "e1"), page(tmp_path, "1-404", 404, "e1")
    own_403, own_500 = page(tmp_path, "403", 403, "own"), page(tmp_path, "500", 500, "own")
    config = load(tmp_path, f"""\
frontend fe
    bind :8080
    errorfile 403 {own_403}
    errorfiles late 403 404
    errorfile 404 {own_500.replace('500', '403')}
    errorfile 500 {own_500}
    http-error status 500 content-type text/plain string "five hundred"
    http-error status 502 content-type text/plain lf-string "bad gateway on %[path]" hdr x-err dyn
    http-error status 503
    default_backend be
backend be
    errorfiles late
    http-error status 404 default-errorfiles
    server s1 127.0.0.1:9000
http-errors late
    errorfile 403 {e1_403}
    errorfile 404 {e1_404}
""")  # the section comes after its users, as HAProxy allows
    assert alerts(config) == []
    fe, be = config.frontends["fe"], config.backends["be"]
    assert tag_of(error_reply(403, None, fe)) == "e1"  # errorfiles after errorfile 403: the section wins
    assert tag_of(error_reply(404, None, fe)) == "own"  # errorfile 404 after errorfiles: the file wins
    assert error_reply(500, None, fe).body == b"five hundred"
    assert error_reply(503, None, fe).head == b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n"
    t = txn("/p", frontend=fe)
    assert error_reply(502, None, fe, t).body == b"bad gateway on /p"
    assert tag_of(error_reply(502, None, fe, t)) == "dyn"
    assert tag_of(error_reply(502, None, fe)) == "builtin"  # a per-request reply needs the request
    assert tag_of(error_reply(403, be, fe)) == "e1"  # the backend's own import
    assert tag_of(error_reply(404, be, fe)) == "own"  # default-errorfiles: the frontend's page
    assert fe.errorfiles[403].endswith(b"x-err: e1\r\n\r\n")  # raw pages stay where the HTTP/1 layer reads them


def test_defaults_and_deny_payloads(tmp_path) -> None:
    e2 = page(tmp_path, "2-403", 403, "e2")
    config = load(tmp_path, f"""\
http-errors e2
    errorfile 403 {e2}
defaults web
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    errorfiles e2
frontend fe from web
    bind :8080
    http-request deny deny_status 403 errorfiles e2 if {{ path /a }}
    http-request deny deny_status 404 errorfiles e2 if {{ path /b }}
    default_backend be
backend be from web
    server s1 127.0.0.1:9000
""", head="")  # fmt: skip
    assert alerts(config) == []
    fe = config.frontends["fe"]
    assert tag_of(error_reply(403, None, fe)) == "e2"  # inherited from the defaults section
    verdict = pipeline.request_phase(txn("/a", frontend=fe))
    assert (verdict.status, tag_of(verdict.reply)) == (403, "e2")
    verdict = pipeline.request_phase(txn("/b", frontend=fe))
    assert (verdict.status, tag_of(verdict.reply)) == (404, "builtin")  # not in the section: the proxy's page


def test_errors_are_haproxys(tmp_path) -> None:
    config = load(tmp_path, f"""\
http-errors
http-errors dup
    errorfile 999 /x
    errorfile 404 {tmp_path}/missing
    bogus 1
http-errors dup
frontend fe
    bind :8080
    errorfiles nosuch
    errorfiles dup 404
    errorfiles dup 999
    http-error content-type text/plain string x
    http-error status 404 foo
    http-error status 418
    http-request deny errorfiles nosection
    default_backend be
backend be
    server s1 127.0.0.1:9000
""")  # fmt: skip
    shown = [m.replace(f"{tmp_path}/t.cfg", "t.cfg") for m in messages(config)]
    for expected in (
        "parsing [t.cfg:6] : missing name for http-errors section.",
        "parsing [t.cfg:8] : errorfile : status code '999' not handled.",
        f"parsing [t.cfg:9] : errorfile : error opening file '{tmp_path}/missing' : No such file or directory.",
        "parsing [t.cfg:10] : unknown keyword 'bogus' in 'http-errors' section",
        "parsing [t.cfg:11] : http-errors section 'dup' already exists (declared at t.cfg:7).",
        "parsing [t.cfg:16] : errorfiles : status code '999' not handled.",
        "parsing [t.cfg:17] : http-error : expects at least a <status> as arguments.",
        "parsing [t.cfg:18] : http-error : unknown keyword 'foo'.",
        "parsing [t.cfg:19] : http-error: status code '418' not handled.",
        "proxy 'fe': unknown http-errors section 'nosuch' (at t.cfg:14).",
        "config: proxy 'fe' : status '404' not declared in http-errors section 'dup' (at t.cfg:15).",
        "unknown http-errors section 'nosection' referenced by an http reply.",
    ):
        assert expected in shown, (expected, shown)
