"""Converters and the new fetches through a real lb: rule values, ACLs, set-var and log-format `%[...]`."""

from __future__ import annotations

import http.client

import pytest

from tests.scenarios.http.httpkit import wait_log
from tests.scenarios.http.origins import Origin
from tests.support import free_port

CONFIG = r"""
global
    nbproc 1
    log stdout format raw local0
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    capture request header Host len 32
    unique-id-format %{{+X}}o\ %ci_%rt
    unique-id-header X-Req-Id
    log-format "conv %[capture.req.hdr(0),field(1,:),upper] %[src,ipmask(24)] %[status,add(1000)] %{{+Q}}r"
    http-request set-var(txn.n) int(7)
    http-request set-var(txn.sig) str(),concat(<,txn.n,>),concat(+,req.none,)
    http-request set-header X-Field %[str(f1_f2_f3__f5),field(2,_,0)]
    http-request set-header X-Word %[str(f1_f2_f3__f5),word(-2,_,3)]
    http-request set-header X-Path %[hdr(x-path),regsub('/+','/','g')]
    http-request set-header X-Hex %[str(abc),hex]
    http-request set-header X-Crc %[str(abc),crc32]
    http-request set-header X-Sha1 %[str(abc),sha1,base64]
    http-request set-header X-Arith %[var(txn.n),mul(6),add(-2),div(4),mod(7)]
    http-request set-header X-Sig %[var(txn.sig)]
    http-request set-header X-Json %[hdr(x-raw),json]
    http-request set-header X-Bytes %[str(0123456789),bytes(2,3)]
    http-request set-header X-Uid %[unique-id,length]
    http-request set-header X-Odd %[var(txn.n),odd] if {{ var(txn.n),and(1),bool }}
    http-request deny deny_status 403 if {{ hdr(x-deny),lower,ltrim(' ') -m str yes }}
    default_backend be
backend be
    server app 127.0.0.1:{app}
"""


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    from tests.support import LbProcess

    origin = Origin("app")
    port = free_port()
    lb = LbProcess(tmp_path_factory.mktemp("conv"), CONFIG.format(port=port, app=origin.port)).start()
    yield lb, port, origin
    lb.stop()
    origin.close()


def test_rule_values_go_through_converters(running) -> None:
    lb, port, origin = running
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/c1", headers={"X-Path": "/////a///b/", "X-Raw": 'say "hi"/', "Host": "web.test:8080"})
    first = conn.getresponse()
    first.read()
    assert first.status == 200
    seen = origin.seen("/c1")[0]
    assert seen.header("x-field") == "f2_f3__f5"
    assert seen.header("x-word") == "f1_f2_f3"
    assert seen.header("x-path") == "/a/b/"
    assert seen.header("x-hex") == "616263"
    assert seen.header("x-crc") == "891568578"
    assert seen.header("x-sha1") == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
    assert seen.header("x-arith") == "3"  # ((7*6)-2)/4 = 10, 10 % 7 = 3
    assert seen.header("x-sig") == "<7>+"
    assert seen.header("x-json") == 'say \\"hi\\"\\/'
    assert seen.header("x-bytes") == "234"
    assert seen.header("x-uid") == str(len(seen.header("x-req-id")))
    assert seen.header("x-odd") == "1"
    conn.request("GET", "/denied", headers={"X-Deny": "  YES"})
    response = conn.getresponse()
    response.read()
    assert response.status == 403
    conn.close()
    line = wait_log(lb, "conv WEB.TEST 127.0.0.0 1200 ", '"GET /c1 HTTP/1.1"')
    assert line.startswith("conv WEB.TEST 127.0.0.0 1200 ")
