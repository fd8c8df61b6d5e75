"""Probes against real loopback servers: TCP connect, tcp-check, a real redis-server, HTTP, timeouts.

Each test parses a real config, builds the server's check target and runs
one probe to completion; it asserts on the status, code and info text that
the checker would store and log.
"""

import socket

import pytest

from lb.checker import status as st
from tests.checker.helpers import (
    HttpServer,
    Listener,
    RedisServer,
    StuckListener,
    parse,
    read_all,
    refused_port,
    run_probe,
    silent,
    target_of,
)


@pytest.fixture
def acceptor():
    listener = Listener(lambda conn: read_all(conn, 1.0))
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def redis():
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def web():
    server = HttpServer({"/ready": (200, b"status:ready"), "/starting": (200, b"status:starting"),
                         "/down": (503, b"")})
    yield server
    server.close()


def probe(tmp_path, body: str):
    return run_probe(target_of(parse(tmp_path, body)))


def test_plain_connect_ok(tmp_path, acceptor):
    outcome = probe(tmp_path, f"backend be\n  server s 127.0.0.1:{acceptor.port} check\n")
    assert (outcome.status, outcome.code, outcome.info) == (st.L4OK, 0, "")


def test_plain_connect_refused(tmp_path):
    outcome = probe(tmp_path, f"backend be\n  server s 127.0.0.1:{refused_port()} check\n")
    assert (outcome.status, outcome.info) == (st.L4CON, "Connection refused")


def test_check_port_and_addr_redirect_the_check(tmp_path, acceptor):
    outcome = probe(tmp_path, f"backend be\n  server s 127.0.0.1:{refused_port()} check port {acceptor.port}\n")
    assert outcome.status == st.L4OK
    outcome = probe(tmp_path, f"backend be\n  server s 127.0.0.9:{refused_port()} check "
                              f"addr 127.0.0.1:{acceptor.port}\n")
    assert outcome.status == st.L4OK


@pytest.mark.parametrize("rules,info", [
    ("", "Connection refused at initial connection step of tcp-check"),
    ("  tcp-check connect\n", "Connection refused at step 1 of tcp-check (connect)"),
    ("  tcp-check comment c0\n  tcp-check connect port {port} comment hi\n",
     "Connection refused at step 2 of tcp-check (connect port {port}) comment: 'hi'"),
])
def test_tcp_check_connection_errors_say_where(tmp_path, rules, info):
    port = refused_port()
    outcome = probe(tmp_path, f"backend be\n  option tcp-check\n{rules.format(port=port)}"
                              f"  server s 127.0.0.1:{port} check\n")
    assert (outcome.status, outcome.info) == (st.L4CON, info.format(port=port))


def test_layer4_timeout_is_bounded_by_inter(tmp_path):
    stuck = StuckListener()
    try:
        outcome = probe(tmp_path, f"backend be\n  server s 127.0.0.1:{stuck.port} check inter 300ms\n")
    finally:
        stuck.close()
    assert (outcome.status, outcome.info) == (st.L4TOUT, "")


def test_layer4_timeout_uses_timeout_connect_when_timeout_check_is_set(tmp_path):
    stuck = StuckListener()
    try:  # inter 60s would exceed run_probe's 10s limit: the connect must stop at 'timeout connect'
        outcome = probe(tmp_path, f"backend be\n  timeout connect 200ms\n  timeout check 5s\n"
                                  f"  server s 127.0.0.1:{stuck.port} check inter 60s\n")
    finally:
        stuck.close()
    assert outcome.status == st.L4TOUT


def test_layer7_timeout_on_a_silent_server(tmp_path):
    server = Listener(silent)
    try:
        outcome = probe(tmp_path, f"""backend be
  option tcp-check
  tcp-check send PING\\r\\n
  tcp-check expect string +PONG
  server s 127.0.0.1:{server.port} check inter 300ms
""")
    finally:
        server.close()
    assert (outcome.status, outcome.info) == (st.L7TOUT, " at step 2 of tcp-check (expect string '+PONG')")


def test_timeout_check_bounds_the_rest_of_the_check(tmp_path):
    server = Listener(silent)
    try:  # inter 60s would exceed run_probe's limit: 'timeout check' must end it
        outcome = probe(tmp_path, f"""backend be
  timeout check 300ms
  option httpchk
  server s 127.0.0.1:{server.port} check inter 60s
""")
    finally:
        server.close()
    assert (outcome.status, outcome.info) == (st.L7TOUT, "")


def test_redis_ping(tmp_path, redis):
    outcome = probe(tmp_path, f"""backend be
  option tcp-check
  tcp-check send PING\\r\\n
  tcp-check expect string +PONG
  server r 127.0.0.1:{redis.port} check
""")
    assert (outcome.status, outcome.code, outcome.info) == (st.L7OK, 0, "(tcp-check)")


def test_redis_several_steps_and_binary(tmp_path, redis):
    outcome = probe(tmp_path, f"""backend be
  option tcp-check
  tcp-check connect
  tcp-check send-binary 50494e470d0a
  tcp-check expect binary 2b504f4e47
  tcp-check send info\\ replication\\r\\n
  tcp-check expect rstring role:master
  tcp-check send QUIT\\r\\n
  tcp-check expect string +OK
  server r 127.0.0.1:{redis.port} check
""")
    assert (outcome.status, outcome.info) == (st.L7OK, "(tcp-check)")


def test_redis_wrong_answer_with_min_recv_fails_at_once(tmp_path, redis):
    outcome = probe(tmp_path, f"""backend be
  option tcp-check
  tcp-check send PING\\r\\n
  tcp-check expect min-recv 5 string +PANG
  server r 127.0.0.1:{redis.port} check
""")
    assert (outcome.status, outcome.info) == (st.L7RSP, "TCPCHK did not match content '+PANG' at step 2")


def test_redis_wrong_answer_without_min_recv_waits_until_timeout(tmp_path, redis):
    outcome = probe(tmp_path, f"""backend be
  option tcp-check
  tcp-check send PING\\r\\n
  tcp-check expect string +PANG
  server r 127.0.0.1:{redis.port} check inter 300ms
""")
    assert outcome.status == st.L7TOUT


def test_empty_response(tmp_path):
    server = Listener(lambda conn: conn.recv(100))  # reads the request, closes without a word
    try:
        outcome = probe(tmp_path, f"backend be\n  option httpchk\n  server s 127.0.0.1:{server.port} check\n")
    finally:
        server.close()
    assert (outcome.status, outcome.info) == (st.L7RSP, "TCPCHK got an empty response at step 1")


HTTP_CHAIN = """backend be
  option httpchk GET {uri} HTTP/1.1
  http-check send hdr Host lb.test
  http-check expect status 200
  http-check expect string status:ready
  server w 127.0.0.1:{port} check
"""


def test_http_expect_chain_passes(tmp_path, web):
    outcome = probe(tmp_path, HTTP_CHAIN.format(uri="/ready", port=web.port))
    assert (outcome.status, outcome.code, outcome.info) == (st.L7OK, 200, "")
    method, path, headers = web.requests[-1]
    assert (method, path, headers["host"], headers["connection"]) == ("GET", "/ready", "lb.test", "close")


def test_http_body_mismatch(tmp_path, web):
    outcome = probe(tmp_path, HTTP_CHAIN.format(uri="/starting", port=web.port))
    assert (outcome.status, outcome.code, outcome.info) == (st.L7RSP, 200, "HTTP content check did not match")


def test_http_wrong_status(tmp_path, web):
    outcome = probe(tmp_path, HTTP_CHAIN.format(uri="/down", port=web.port))
    assert (outcome.status, outcome.code, outcome.info) == (st.L7STS, 503, "Service Unavailable")


def test_httpchk_defaults_send_options_slash(tmp_path, web):
    outcome = probe(tmp_path, f"backend be\n  option httpchk\n  server w 127.0.0.1:{web.port} check\n")
    assert (outcome.status, outcome.code, outcome.info) == (st.L7STS, 404, "Not Found")
    assert web.requests[-1][:2] == ("OPTIONS", "/")


def test_http_check_against_a_non_http_server(tmp_path, redis):
    outcome = probe(tmp_path, f"backend be\n  option httpchk\n  server w 127.0.0.1:{redis.port} check\n")
    assert outcome.status == st.L7RSP


def test_socket_error_after_connect(tmp_path):
    def reset(conn: socket.socket) -> None:
        conn.recv(100)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    server = Listener(reset)
    try:
        outcome = probe(tmp_path, f"""backend be
  option tcp-check
  tcp-check send PING\\r\\n
  tcp-check expect string +PONG
  server s 127.0.0.1:{server.port} check
""")
    finally:
        server.close()
    assert (outcome.status, outcome.info) == (st.SOCKERR, "Connection reset by peer at step 2 of tcp-check "
                                                          "(expect string '+PONG')")
