"""The engine's hooks for rules and services, end to end: http-after-response on a
server's response and on lb's own replies, the PROXY v2 TLVs (fc_pp_authority,
fc_pp_unique_id), and a service's log line and intercepted count.

One lb (2 workers) and one origin serve every test of the module.
"""

from __future__ import annotations

import http.client
import socket
import struct
from collections.abc import Iterator

import pytest

from tests.runtime_api.lab import text
from tests.scenarios.http.httpkit import wait_log
from tests.scenarios.http.origins import Origin
from tests.support import LbProcess, free_port, wait_until

CONFIG = r"""
global
    nbproc 2
    log stdout format raw local0
    stats socket {dir}/admin.sock level admin
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    bind 127.0.0.1:{pp_port} accept-proxy
    http-request use-service prometheus-exporter if {{ path /metrics }}
    http-request deny deny_status 403 if {{ path /denied }}
    http-request auth realm Shop if {{ path /private }}
    http-request set-header x-authority %[fc_pp_authority] if {{ fc_pp_authority -m found }}
    http-request set-header x-pp-id %[fc_pp_unique_id] if {{ fc_pp_unique_id -m found }}
    http-after-response set-header x-after fe
    http-after-response set-status 418 if {{ status 403 }}
    default_backend be
backend be
    http-after-response add-header x-after-be be
    server app 127.0.0.1:{app}
"""

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LbProcess, int, int, Origin]]:
    directory = tmp_path_factory.mktemp("hooks")
    origin = Origin("app")
    port, pp_port = free_port(), free_port()
    lb = LbProcess(directory, CONFIG.format(dir=directory, port=port, pp_port=pp_port, app=origin.port))
    try:
        lb.start()
        yield lb, port, pp_port, origin
    finally:
        lb.stop()
        origin.close()


def get(port: int, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_after_response_rules_edit_a_servers_response_backend_first(lab) -> None:
    _lb, port, _pp, _origin = lab
    response = get(port, "/page")
    assert response.status == 200
    assert response.getheader("x-after") == "fe" and response.getheader("x-after-be") == "be"


def test_after_response_rules_edit_lbs_own_reply_and_its_logged_status(lab) -> None:
    lb, port, _pp, _origin = lab
    response = get(port, "/denied")
    assert response.status == 418  # set-status on the deny's 403, as HAProxy
    assert response.getheader("x-after") == "fe"
    assert response.getheader("x-after-be") is None  # denied before a backend: the frontend's rules only
    assert " 418 " in wait_log(lb, '"GET /denied HTTP/1.1"')


def test_http_request_auth_asks_for_credentials_with_its_realm(lab) -> None:
    _lb, port, _pp, _origin = lab
    response = get(port, "/private")
    assert response.status == 401
    assert response.getheader("www-authenticate") == 'Basic realm="Shop"'
    assert response.getheader("x-after") == "fe"


def tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!BH", kind, len(value)) + value


def proxy_v2(tlvs: bytes) -> bytes:
    addresses = socket.inet_aton("10.1.2.3") + socket.inet_aton("127.0.0.1") + struct.pack("!HH", 4000, 80)
    body = addresses + tlvs
    return SIGNATURE + bytes((0x21, 0x11)) + struct.pack("!H", len(body)) + body


def test_proxy_v2_tlvs_reach_the_rules(lab) -> None:
    _lb, _port, pp_port, origin = lab
    with socket.create_connection(("127.0.0.1", pp_port), timeout=10) as sock:
        sock.sendall(proxy_v2(tlv(0x02, b"shop.example") + tlv(0x05, b"req-77")))
        sock.sendall(b"GET /tlv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    seen = origin.seen("/tlv")[0]
    assert seen.header("x-authority") == "shop.example" and seen.header("x-pp-id") == "req-77"


def test_an_overlong_authority_tlv_closes_the_connection(lab) -> None:
    _lb, _port, pp_port, origin = lab
    with socket.create_connection(("127.0.0.1", pp_port), timeout=10) as sock:
        sock.sendall(proxy_v2(tlv(0x02, b"a" * 256)))  # HAProxy: at most 255 bytes
        sock.sendall(b"GET /refused HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            assert sock.recv(65536) == b""  # closed unanswered
        except ConnectionResetError:
            pass  # closed with the request unread: a reset, also unanswered
    assert origin.seen("/refused") == []


def test_a_service_is_logged_as_haproxy_logs_its_applets_and_counted_intercepted(lab) -> None:
    lb, port, _pp, _origin = lab
    socket_path = str(lb.directory / "admin.sock")
    before = intercepted(socket_path)
    response = get(port, "/metrics")
    assert response.status == 200
    line = wait_log(lb, '"GET /metrics HTTP/1.1"')
    assert " fe fe/<PROMEX> " in line and " LR-- " in line
    assert line.split(" fe fe/<PROMEX> ")[1].split(" ")[0].split("/")[1:4] == ["0", "0", "0"]
    wait_until(lambda: intercepted(socket_path) > before, what="the service counted as intercepted")


def intercepted(socket_path: str) -> int:
    rows = text(socket_path, "show stat").splitlines()
    names = rows[0][2:].split(",")
    frontend = next(dict(zip(names, row.split(","), strict=False)) for row in rows[1:] if row.startswith("fe,FRONTEND"))
    return int(frontend["intercepted"] or 0)
