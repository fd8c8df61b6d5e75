"""Built-in error replies (HAProxy 2.6's bytes), errorfiles, and the connection header the engine adds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lb.rules.errors import BUILTIN, ERROR_CODES, builtin_reply, error_reply, error_response
from lb.rules.reply import RawResponseError, build_reply, connection_header, parse_raw_response
from tests.rules.helpers import load

RECORDED = json.loads((Path(__file__).parent / "parity" / "errors-2.6.json").read_text())["replies"]


@pytest.mark.parametrize("code", sorted(int(c) for c in RECORDED))
def test_builtin_bytes_are_haproxy_2_6(code: int) -> None:
    reply = BUILTIN[code]
    # 2.6 sends 400 and 408 with `connection: close` even to a keep-alive client
    sent = reply.render(b"connection: close\r\n" if reply.close else b"")
    assert sent.decode("latin-1") == RECORDED[str(code)]


def test_every_code_has_a_message_and_unknown_codes_fall_back_to_500() -> None:
    assert set(BUILTIN) == set(ERROR_CODES)
    assert BUILTIN[414].render().startswith(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 110\r\n")
    assert BUILTIN[431].render().startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 106\r\n")
    assert builtin_reply(418) is BUILTIN[500]


def test_render_with_connection_header_and_head_request() -> None:
    reply = BUILTIN[503]
    assert reply.render(b"connection: keep-alive\r\n").split(b"\r\n\r\n")[0].endswith(b"connection: keep-alive")
    assert reply.render(with_body=False).endswith(b"content-type: text/html\r\n\r\n")
    assert reply.length == len(reply.render())


@pytest.mark.parametrize("reply_http10,closing,client_http10,expected", [
    (False, True, False, b"connection: close\r\n"), (False, False, False, b""),
    (False, False, True, b"connection: keep-alive\r\n"), (True, True, False, b""),
])  # fmt: skip
def test_connection_header(reply_http10: bool, closing: bool, client_http10: bool, expected: bytes) -> None:
    assert connection_header(reply_http10, closing, client_http10) == expected


def test_errorfile_is_reemitted_with_lowercase_names_without_connection() -> None:
    raw = (b"HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\n"
           b"Content-Type: text/html\r\nX-Custom-Thing: Yes\r\n\r\n<html>custom 503</html>\n")  # fmt: skip
    reply = parse_raw_response(raw)
    # recorded from 2.6: `errorfile 503` with this file, keep-alive HTTP/1.1 client
    assert reply.render() == (b"HTTP/1.0 503 Service Unavailable\r\ncache-control: no-cache\r\n"
                              b"content-type: text/html\r\nx-custom-thing: Yes\r\n\r\n<html>custom 503</html>\n")
    assert reply.close and reply.http10 and reply.status == 503


def test_errorfile_with_length_keeps_the_connection_and_empty_file_sends_nothing() -> None:
    reply = parse_raw_response(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
    assert reply.render() == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" and not reply.close
    empty = parse_raw_response(b"")
    assert empty.render(b"connection: close\r\n") == b"" and empty.close


@pytest.mark.parametrize("raw", [b"HTP/1.1 200 OK\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n",
                                 b"HTTP/1.1 200 OK\r\nBad\r\n\r\n"])
def test_unparsable_errorfiles(raw: bytes) -> None:
    with pytest.raises(RawResponseError):
        parse_raw_response(raw)


def test_build_reply_order() -> None:
    reply = build_reply(201, [("X-A", "1")], b"body", "text/plain")
    assert reply.render() == (b"HTTP/1.1 201 Created\r\nx-a: 1\r\ncontent-length: 4\r\n"
                              b"content-type: text/plain\r\n\r\nbody")
    empty = build_reply(204, content_type="text/plain")
    assert empty.render() == b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


def test_error_reply_prefers_backend_then_frontend_errorfile(tmp_path: Path) -> None:
    (tmp_path / "fe.http").write_bytes(b"HTTP/1.1 503 FE\r\nContent-Length: 0\r\n\r\n")
    (tmp_path / "be.http").write_bytes(b"HTTP/1.1 503 BE\r\nContent-Length: 0\r\n\r\n")
    config = load(tmp_path, f"frontend fe\n    bind 127.0.0.1:8080\n    errorfile 503 {tmp_path}/fe.http\n"
                            f"    default_backend be\nbackend be\n    errorfile 503 {tmp_path}/be.http\n"
                            "backend plain\n")  # fmt: skip
    fe, be, plain = config.frontends["fe"], config.backends["be"], config.backends["plain"]
    assert error_reply(503, be, fe).head.startswith(b"HTTP/1.1 503 BE")
    assert error_reply(503, plain, fe).head.startswith(b"HTTP/1.1 503 FE")
    assert error_reply(503, plain, None) is BUILTIN[503]
    assert error_reply(504, be, fe) is BUILTIN[504]
    assert error_response(be, 503) == b"HTTP/1.1 503 BE\r\ncontent-length: 0\r\n\r\n"
    assert error_response(plain, 400).endswith(b"connection: close\r\n\r\n" + BUILTIN[400].body)


def test_unparsable_errorfile_is_a_config_alert(tmp_path: Path) -> None:
    (tmp_path / "bad.http").write_bytes(b"not http\r\n\r\n")
    config = load(tmp_path, f"backend be\n    errorfile 503 {tmp_path}/bad.http\n")
    assert [d.message for d in config.alerts][0] == (
        "backend 'be': unable to parse the errorfile for status 503: invalid status line 'not http'.")
