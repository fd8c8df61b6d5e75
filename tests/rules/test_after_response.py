"""http-after-response: parsing with HAProxy's texts, and the rules on server responses and lb's own replies."""

from __future__ import annotations

from lb.rules import pipeline
from lb.rules.after_response import after_response_reply, has_after_response
from lb.rules.errors import builtin_reply
from lb.rules.message import Response
from tests.rules.helpers import alerts, load, messages, through, txn

CONFIG = """\
frontend fe
    bind :8080
    http-request deny if { path /deny }
    http-after-response allow if { status eq 403 }
    http-after-response set-header fe-status "%[status]"
    http-after-response set-header fe-crc "%[res.fhdr(x-be),crc32]"
    default_backend be
backend be
    http-after-response set-var(res.st) status
    http-after-response set-status 234 if { capture.req.uri /stats }
    http-after-response add-header x-be "seen %[var(res.st)]"
    http-after-response del-header content-type
    http-after-response replace-value x-list (a|b) \\1\\1
    server s1 127.0.0.1:9000
"""


def test_server_response_meets_backend_then_frontend_rules(tmp_path) -> None:
    config = load(tmp_path, CONFIG)
    assert alerts(config) == []
    response = Response(200, "OK", "1.1", [("Content-Type", "text/plain"), ("X-List", "a, c, b")])
    verdict, t = through(config, txn("/stats"), response)  # response_phase runs them last
    assert verdict is None
    assert t.response.status == 234
    assert t.response.fheader("x-be") == "seen 200"
    assert t.response.fheader("content-type") is None
    assert t.response.fheader("x-list") == "aa, c,bb"  # a replaced value loses its blanks (replace-value)
    assert t.response.fheader("fe-status") == "234"
    assert t.response.fheader("fe-crc") == str(__import__("zlib").crc32(b"seen 200"))
    assert has_after_response(t.frontend, t.backend)


def test_own_replies_meet_the_rules_and_allow_ends_a_list(tmp_path) -> None:
    config = load(tmp_path, CONFIG)
    t = txn("/deny", frontend=config.frontends["fe"])
    verdict = pipeline.request_phase(t)
    assert verdict.status == 403
    reply = verdict.reply
    assert after_response_reply(t, reply) is not None
    denied = after_response_reply(t, builtin_reply(403))
    assert b"fe-status" not in denied.head  # 'allow if status 403' ended the frontend's list
    t2 = txn("/x", frontend=config.frontends["fe"])
    t2.backend = config.backends["be"]
    page = after_response_reply(t2, builtin_reply(503))
    assert page.head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"x-be: seen 503\r\n" in page.head and b"fe-status: 503\r\n" in page.head
    assert b"content-type" not in page.head  # deleted by the backend's rule
    assert page.body == builtin_reply(503).body
    assert page.render(b"").endswith(b"\r\n\r\n" + page.body)


def test_no_rules_leave_replies_alone(tmp_path) -> None:
    config = load(tmp_path, "frontend fe\n    bind :8080\n    default_backend be\nbackend be\n"
                            "    server s1 127.0.0.1:9000\n")  # fmt: skip
    t = txn("/", frontend=config.frontends["fe"])
    reply = builtin_reply(503)
    assert after_response_reply(t, reply) is reply
    assert not has_after_response(config.frontends["fe"], config.backends["be"])


def test_parse_errors_are_haproxys(tmp_path) -> None:
    config = load(tmp_path, "frontend fe\n    bind :8080\n    http-after-response redirect location /\n"
                            "    http-after-response set-header\n    http-after-response set-status 200 foo\n"
                            "    http-after-response allow\n    http-after-response set-header a b\n"
                            "    http-after-response strict-mode on\n    default_backend be\n"
                            "backend be\n    mode tcp\n    http-after-response set-header a b\n"
                            "    server s1 127.0.0.1:9000\n")  # fmt: skip
    shown = messages(config)
    assert any("'http-after-response' expects 'add-header', 'allow', 'capture', 'del-header', 'replace-header', "
               "'replace-value', 'set-header', 'set-status', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', "
               "but got 'redirect'." in m for m in shown), shown  # fmt: skip
    assert any("error detected in frontend 'fe' while parsing 'http-after-response set-header' rule : expects "
               "exactly 2 arguments." in m for m in shown), shown  # fmt: skip
    assert any("'http-after-response set-status' expects either 'if' or 'unless' followed by a condition but "
               "found 'foo'." in m for m in shown), shown  # fmt: skip
    assert any("previous 'http-after-response' action is final and has no condition attached, further entries "
               "are NOOP." in m for m in shown), shown  # fmt: skip
    assert any("'http-after-response strict-mode' is not supported by lb." in m for m in shown), shown
    assert any("'http-after-response' rules ignored for backend 'be' as they require HTTP mode." in m
               for m in shown), shown  # fmt: skip
