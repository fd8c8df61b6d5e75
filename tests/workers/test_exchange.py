"""The HTTP engine without sockets: H1Connection, Exchange, ServerConn on fakes (worker).

Each test writes bytes as the client or the server would and checks the
bytes each side gets, the connection's phase, what is still counted, and
the exchange's facts (tests/workers/fakes.py has the fake I/O).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lb.shm import layout
from tests.workers.fakes import Engine
from workers.http.deadlines import Phase

CONFIG = """
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 10s
    timeout http-request 5s
    timeout http-keep-alive 2s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
"""
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(CONFIG, tmp_path)


def test_a_request_goes_out_rebuilt_and_the_response_comes_back(engine: Engine) -> None:
    engine.client_sends(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n")
    assert engine.server.take() == b"GET /a?b=1 HTTP/1.1\r\nhost: x\r\nuser-agent: t\r\n\r\n"
    assert engine.h1.deadline.phase == Phase.SERVER
    assert engine.shm.server_conns(0) == 1  # in flight
    engine.server_sends(OK)
    assert engine.client.take() == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    assert engine.h1.deadline.phase == Phase.KEEPALIVE
    assert engine.shm.server_conns(0) == 0
    assert engine.h1.conn is engine.conn  # kept for the next request


def test_pipelined_requests_are_answered_in_order(engine: Engine) -> None:
    engine.client_sends(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert engine.server.take() == b"GET /1 HTTP/1.1\r\nhost: x\r\n\r\n"  # the second waits
    assert len(engine.h1.exchanges) == 2
    assert not engine.loop.events_of(engine.client) & 1  # not read while two are pending
    engine.server_sends(OK)
    assert engine.server.take() == b"GET /2 HTTP/1.1\r\nhost: x\r\n\r\n"
    engine.server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
    assert engine.client.take() == (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
                                    b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo")  # fmt: skip


def test_a_chunked_body_is_chunked_again_upper_case(engine: Engine) -> None:
    engine.client_sends(b"POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"a\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n")  # fmt: skip
    assert engine.server.take() == (b"POST /u HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                                    b"A\r\n0123456789\r\n0\r\nx-t: 1\r\n\r\n")  # fmt: skip


def test_interim_responses_are_relayed_before_the_final_one(engine: Engine) -> None:
    engine.client_sends(b"POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    engine.server_sends(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert engine.client.take() == b"HTTP/1.1 100 Continue\r\n\r\n"
    engine.client_sends(b"hi")
    assert engine.server.take().endswith(b"\r\n\r\nhi")
    engine.server_sends(OK)
    assert engine.client.take().startswith(b"HTTP/1.1 200 OK\r\n")


def test_no_usable_server_is_a_503_counted_once(engine: Engine) -> None:
    engine.shm.srv_up[0] = 0
    engine.shm.versions[layout.HEALTH_VERSION] += 1
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert engine.client.take().startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert engine.shm.counter(engine.shm.backend_obj(0), "no_server") == 1  # the backend's own row
    assert engine.server.take() == b""


def test_a_bad_request_gets_the_raw_400_and_the_connection_closes(engine: Engine) -> None:
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    assert engine.client.take().startswith(b"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\n")
    assert engine.client.closed and engine.h1.closed
    assert engine.shm.counter(0, "req_errors") == 1


def test_timeout_http_request_answers_408(engine: Engine) -> None:
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head never ends
    engine.loop.advance(4.9)
    assert engine.client.take() == b""
    engine.loop.advance(0.2)
    assert engine.client.take().startswith(b"HTTP/1.1 408 Request Time-out\r\n")
    assert engine.client.closed


def test_timeout_server_answers_504_and_frees_the_server(engine: Engine) -> None:
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.loop.advance(10.1)
    assert engine.client.take().startswith(b"HTTP/1.1 504 Gateway Time-out\r\n")
    assert engine.shm.server_conns(0) == 0 and engine.server.closed


def test_keep_alive_timeout_closes_quietly(engine: Engine) -> None:
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.server_sends(OK)
    engine.client.take()
    engine.loop.advance(2.1)
    assert engine.client.closed and engine.client.take() == b""


def test_soft_stop_keeps_a_connection_that_has_not_sent_its_first_request(engine: Engine) -> None:
    engine.h1.on_soft_stop()
    assert not engine.client.closed
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.server_sends(OK)
    assert engine.client.take() == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    assert engine.client.closed


def test_soft_stop_closes_an_idle_keep_alive_connection(engine: Engine) -> None:
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.server_sends(OK)
    engine.h1.on_soft_stop()
    assert engine.client.closed


def test_server_closing_mid_body_aborts_the_client_connection(engine: Engine) -> None:
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    engine.server_closes()
    assert engine.client.take() == b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"
    assert engine.client.closed
    assert engine.shm.counter(engine.shm.backend_obj(0), "srv_aborts") == 1


def test_counters_are_published_for_frontend_backend_and_server(engine: Engine) -> None:
    for _ in range(3):
        engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        engine.server_sends(OK)
    engine.client_sends(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.server_sends(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    assert engine.shm.counter(0, "requests") == 0  # tallied: published once a second
    engine.worker.runtime.publish_counters()
    fe, be, s1 = 0, engine.shm.backend_obj(0), engine.shm.server_obj(0)  # rows (lb.shm.layout "Objects")
    for obj in (fe, be, s1):
        assert engine.shm.counter(obj, "requests") == 4
        assert (engine.shm.counter(obj, "hrsp_2xx"), engine.shm.counter(obj, "hrsp_4xx")) == (3, 1)
        not_found = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
        assert engine.shm.counter(obj, "bytes_out") == 3 * len(OK) + len(not_found)
    assert engine.shm.counter(s1, "sessions") == engine.shm.counter(be, "sessions") == 4
    assert engine.shm.counter(s1, "lbtot") == 4 and engine.shm.counter(s1, "last_session") > 0
    engine.worker.runtime.publish_counters()  # nothing new: nothing counted twice
    assert engine.shm.counter(fe, "requests") == 4


def test_among_many_connections_an_idle_one_drops_its_parser_and_parses_again(engine: Engine) -> None:
    engine.client_sends(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.server.take()
    engine.server_sends(OK)
    assert engine.h1.parser is not None  # few connections: kept (no cost per request)
    engine.worker.actconn = 100_000  # over workers/http/h1.py's MANY_CONNECTIONS
    engine.client_sends(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.server.take()
    engine.server_sends(OK)
    assert engine.h1.parser is None  # idle among many: the memory goes
    engine.client_sends(b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")  # the next request makes a new one
    assert engine.server.take() == b"GET /3 HTTP/1.1\r\nhost: x\r\n\r\n"
    engine.server_sends(OK)
    assert engine.client.take().count(b"HTTP/1.1 200 OK") == 3


def test_a_request_pipelined_behind_one_answered_in_the_same_packet_keeps_the_parser(engine: Engine) -> None:
    """A response completed while the parser runs must not drop it under a pipelined request."""
    engine.worker.actconn = 10_000
    engine.client_sends(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
    engine.server.take()
    engine.server_sends(OK)
    engine.client_sends(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHo")
    engine.client_sends(b"st: x\r\n\r\n")
    assert engine.server.take() == b"GET /2 HTTP/1.1\r\nhost: x\r\n\r\n"
    engine.server_sends(OK)
    assert engine.server.take() == b"GET /3 HTTP/1.1\r\nhost: x\r\n\r\n"
