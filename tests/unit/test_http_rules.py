"""workers.http.heads: heads sent to the server and to the client, byte for byte (worker).

Client connections and backends are small fakes with the attributes the
functions read (`plan.mode`, `closing`); the exchange is the engine's real
Exchange.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lb.rules.message import Request
from tests.rules.test_message import ORIGIN_FORMS
from workers.http.exchange import Exchange
from workers.http.heads import fields_size, origin_target, request_head, response_head
from workers.http.plan import MODE_CLO, MODE_KAL, MODE_SCL


def session(mode: int = MODE_KAL, closing: bool = False) -> Any:
    return SimpleNamespace(plan=SimpleNamespace(mode=mode, needs_response=False), closing=closing)


def txn(backend_mode: int = MODE_KAL, **fields: Any) -> Exchange:
    t = Exchange(None, 0.0, 0)
    t.backend = SimpleNamespace(plan=SimpleNamespace(mode=backend_mode, needs_response=False))
    for name, value in fields.items():
        setattr(t, name, value)
    return t


RAW = [(b"Host", b"example.com"), (b"Connection", b"keep-alive"), (b"Keep-Alive", b"timeout=5"),
       (b"Proxy-Connection", b"x"), (b"X-Request-ID", b"Ab1"), (b"CONNECTION", b"close")]  # fmt: skip
FORWARDED = b"host: example.com\r\nkeep-alive: timeout=5\r\nproxy-connection: x\r\nx-request-id: Ab1\r\n"  # only Connection goes

# (frontend mode, backend mode, client version, upgrade, the connection header lb adds)
REQUEST_CONNECTION = [
    (MODE_KAL, MODE_KAL, "1.1", False, b""),
    (MODE_KAL, MODE_KAL, "1.0", False, b"connection: keep-alive\r\n"),
    (MODE_SCL, MODE_KAL, "1.1", False, b"connection: close\r\n"),
    (MODE_KAL, MODE_SCL, "1.1", False, b"connection: close\r\n"),
    (MODE_KAL, MODE_CLO, "1.0", False, b"connection: close\r\n"),
    (MODE_CLO, MODE_KAL, "1.1", True, b"connection: upgrade\r\n"),
    (MODE_KAL, MODE_KAL, "1.1", True, b"connection: upgrade\r\n"),
]


@pytest.mark.parametrize("fe, be, version, upgrade, connection", REQUEST_CONNECTION)
def test_request_head_raw_path(fe: int, be: int, version: str, upgrade: bool, connection: bytes) -> None:
    t = txn(be, method=b"GET", url=b"/a?b=1", version=version, upgrade=upgrade)
    t.raw_headers = list(RAW)
    head = request_head(session(fe), t)
    assert head == b"GET /a?b=1 HTTP/" + version.encode() + b"\r\n" + FORWARDED + connection + b"\r\n"


@pytest.mark.parametrize("fe, be, version, upgrade, connection", REQUEST_CONNECTION)
def test_request_head_rules_path_gives_the_same_bytes(fe: int, be: int, version: str, upgrade: bool,
                                                      connection: bytes) -> None:  # fmt: skip
    request = Request("GET", "/a?b=1", version, [])
    for name, value in RAW:  # added by rules: the head is serialized from the object
        request.add_header(name.decode(), value.decode())
    t = txn(be, version=version, upgrade=upgrade, request=request)
    head = request_head(session(fe), t)
    assert head == b"GET /a?b=1 HTTP/" + version.encode() + b"\r\n" + FORWARDED + connection + b"\r\n"


@pytest.mark.parametrize("uri,expected", ORIGIN_FORMS)
def test_origin_target_matches_the_rules_origin_form(uri: str, expected: str) -> None:
    """The raw path and the rules' object write an HTTP/2 target the same way."""
    assert origin_target(uri.encode()) == expected.encode()


def test_a_request_rules_only_read_goes_out_as_received() -> None:
    """Its raw headers are written, not the object (which here differs on purpose)."""
    request = Request("GET", "/a?b=1", "1.1", [("Host", "from-the-object")])
    t = txn(MODE_KAL, method=b"GET", url=b"/a?b=1", request=request)
    t.raw_headers = list(RAW)
    assert request_head(session(MODE_KAL), t) == b"GET /a?b=1 HTTP/1.1\r\n" + FORWARDED + b"\r\n"
    request.set_header("X-Edited", "1")
    assert request_head(session(MODE_KAL), t) == b"GET /a?b=1 HTTP/1.1\r\nhost: from-the-object\r\nx-edited: 1\r\n\r\n"


# -- response ---------------------------------------------------------------------------


def respond(headers: list[tuple[bytes, bytes]], server_version: str = "1.1", status: int = 200, reason: bytes = b"OK",
            sess: Any = None, **fields: Any) -> tuple[bytes, Exchange]:  # fmt: skip
    defaults = dict(keep_alive=True, complete=True, status=status, resp_headers=headers)
    defaults.update(fields)
    backend_mode = defaults.pop("backend_mode", MODE_KAL)
    t = txn(backend_mode, **defaults)
    head = response_head(sess or session(), t, server_version, reason)
    return head, t


def test_response_with_length_keeps_alive() -> None:
    head, t = respond([(b"Content-Type", b"text/plain"), (b"Content-Length", b"5"), (b"Keep-Alive", b"timeout=5"),
                       (b"Proxy-Connection", b"keep-alive")])  # fmt: skip
    # only Connection is hop-by-hop for HAProxy: Keep-Alive and Proxy-Connection go through
    assert head == (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n"
                    b"keep-alive: timeout=5\r\nproxy-connection: keep-alive\r\n\r\n")  # fmt: skip
    assert (t.close_after, t.server_close, t.resp_until_close, t.resp_chunked) == (False, False, False, False)


def test_response_chunked() -> None:
    head, t = respond([(b"Transfer-Encoding", b"chunked")])
    assert head == b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    assert t.resp_chunked and not t.resp_until_close and not t.close_after


def test_response_without_length_is_read_until_close_and_closes_the_client() -> None:
    head, t = respond([(b"Content-Type", b"text/html")])
    assert head == b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n"
    assert t.resp_until_close and t.close_after


def test_response_without_body_needs_no_length() -> None:
    head, t = respond([(b"ETag", b'"x"')], status=304, reason=b"Not Modified", resp_no_body=True)
    assert head == b'HTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\n'
    assert not t.resp_until_close and not t.close_after


@pytest.mark.parametrize("version, connection, server_close", [
    ("1.1", None, False),
    ("1.1", b"close", True),
    ("1.1", b"Close", True),
    ("1.1", b"keep-alive", False),
    ("1.0", None, True),
    ("1.0", b"keep-alive", False),
    ("1.0", b" Keep-Alive ", False),
    ("1.0", b"close", True),
])  # fmt: skip
def test_server_connection_header_is_consumed(version: str, connection: bytes | None, server_close: bool) -> None:
    headers = [(b"Content-Length", b"0")] + ([(b"Connection", connection)] if connection is not None else [])
    head, t = respond(headers, server_version=version)
    # the client side stays open; an HTTP/1.0 response must then say keep-alive (HAProxy's H1 output)
    expected = b"connection: keep-alive\r\n" if version == "1.0" else b""
    assert head.endswith(b" 200 OK\r\ncontent-length: 0\r\n" + expected + b"\r\n")
    assert t.server_close is server_close and not t.close_after


@pytest.mark.parametrize("why", [
    dict(keep_alive=False),  # the client asked to close
    dict(complete=False),  # the request body is still coming
    dict(sess=session(closing=True)),  # the session is closing (soft stop)
    dict(backend_mode=MODE_CLO),  # option httpclose in the backend
    dict(sess=session(MODE_CLO)),  # ... or in the frontend
])  # fmt: skip
def test_response_connection_close(why: dict[str, Any]) -> None:
    head, t = respond([(b"Content-Length", b"0")], **why)
    assert head == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    assert t.close_after


def test_server_close_mode_keeps_the_client_alive() -> None:
    head, t = respond([(b"Content-Length", b"0")], backend_mode=MODE_SCL)
    assert head == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n" and not t.close_after


def test_http10_client_kept_alive_is_told_so() -> None:
    head, t = respond([(b"Content-Length", b"2")], server_version="1.1", version="1.0")
    assert head == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n"
    assert not t.close_after


def test_switching_protocols_keeps_upgrade() -> None:
    head, t = respond([(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"), (b"Sec-WebSocket-Accept", b"s3pP")],
                      status=101, reason=b"Switching Protocols", upgrade=True, keep_alive=False)  # fmt: skip
    assert head == (b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nsec-websocket-accept: s3pP\r\n"
                    b"connection: upgrade\r\n\r\n")  # fmt: skip
    assert not t.close_after


# -- HTX sizes of header fields (logged %B / %U) ----------------------------------


@pytest.mark.parametrize("fields, size", [
    ([], 0),
    ([(b"Host", b"a")], 5),
    ([(b"Host", b"a"), (b"Connection", b"keep-alive")], 5),  # HAProxy's H1 layer consumes Connection
    ([(b"connection", b"close"), (b"X-Connection", b"1")], 13),  # only the header of that exact name
    ([(b"CONNECTION", b"Upgrade"), (b"Upgrade", b"websocket")], 16),
])  # fmt: skip
def test_fields_size_leaves_connection_out(fields: list[tuple[bytes, bytes]], size: int) -> None:
    assert fields_size(fields) == size
