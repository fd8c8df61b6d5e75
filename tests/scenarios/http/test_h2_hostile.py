"""Hostile HTTP/2 clients (issue 13): what HAProxy 2.6's H2 mux refuses, lb refuses the same way.

Every expectation was checked against HAProxy 2.6 with the same frames
(RawH2 in tests/scenarios/http/h2kit.py): a malformed request is a stream
error (RST_STREAM PROTOCOL_ERROR) and the streams around it are served; a
header block larger than a buffer, or with NUL/CR/LF in a value, is a
connection error (GOAWAY COMPRESSION_ERROR); streams over
tune.h2.max-concurrent-streams are refused (REFUSED_STREAM) and the
others served.  Beyond HAProxy 2.6 (which lets them reach its servers),
rapid resets cost lb no server connection, and a client that keeps
resetting started streams is sent away (GOAWAY ENHANCE_YOUR_CALM).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
from hyperframe.frame import ContinuationFrame, DataFrame, RstStreamFrame

from tests.scenarios.http.h2kit import RawH2
from tests.scenarios.http.origins import Origin
from tests.support import LbProcess, free_port

PROTOCOL_ERROR, REFUSED_STREAM, COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 1, 7, 9, 11
BASE = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/x"), (b":authority", b"lb.test")]


class Lab:
    def __init__(self, directory: Path) -> None:
        self.origin = Origin("o1")
        self.port = free_port()
        self.lb = LbProcess(directory, f"""
global
    nbproc 2
    tune.h2.max-concurrent-streams 20
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{self.port} proto h2
    default_backend be
backend be
    server o1 127.0.0.1:{self.origin.port}
""")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("h2hostile"))
    lab.lb.start()
    yield lab
    lab.lb.stop()
    lab.origin.close()


def between_good_ones(lab: Lab, fields: list[tuple[bytes, bytes]]) -> RawH2:
    """Streams 1 and 5 are fine; stream 3 carries `fields`."""
    client = RawH2(lab.port)
    client.headers(1, BASE)
    client.headers(3, fields)
    client.headers(5, BASE)
    client.read(5.0, streams=(1, 3, 5))
    client.close()
    return client


@pytest.mark.parametrize("fields", [
    BASE + [(b":foo", b"bar")],  # unknown pseudo-header
    BASE + [(b"X-Upper", b"1")],  # upper case in a name
    BASE + [(b"connection", b"keep-alive")],  # connection-specific field
    BASE + [(b"transfer-encoding", b"chunked")],
    BASE + [(b"te", b"gzip")],  # te other than trailers
    BASE + [(b":status", b"200")],  # a response pseudo-header
    BASE[:2] + BASE[3:],  # no :path
    BASE[:3] + [(b"x", b"1"), BASE[3]],  # pseudo-header after a regular field
    BASE + [(b":path", b"/again")],  # repeated pseudo-header
    [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b""), (b":authority", b"lb.test")],  # empty :path
    BASE + [(b"x-big", b"a" * 15500)],  # decodable but larger than a message may be
], ids=["unknown-pseudo", "upper-case", "connection", "transfer-encoding", "te", "status", "no-path",
        "pseudo-after-regular", "repeated-pseudo", "empty-path", "too-large"])  # fmt: skip
def test_a_malformed_request_is_a_stream_error(lab: Lab, fields: list[tuple[bytes, bytes]]) -> None:
    client = between_good_ones(lab, fields)
    assert client.resets.get(3) == PROTOCOL_ERROR and 3 not in client.statuses
    assert client.statuses.get(1) == 200 and client.statuses.get(5) == 200
    assert client.goaway is None


@pytest.mark.parametrize("fields", [
    [(b":method", b"G T"), (b":scheme", b"http"), (b":path", b"/x"), (b":authority", b"lb.test")],
    [(b":method", b"GET"), (b":scheme", b"h^p"), (b":path", b"/x"), (b":authority", b"lb.test")],
], ids=["method", "scheme"])  # fmt: skip
def test_what_the_analyser_refuses_gets_400(lab: Lab, fields: list[tuple[bytes, bytes]]) -> None:
    client = between_good_ones(lab, fields)
    assert (client.statuses.get(1), client.statuses.get(3), client.statuses.get(5)) == (200, 400, 200)


@pytest.mark.parametrize("fields", [
    BASE + [(b"x-big", b"a" * 20000)],  # more than tune.bufsize
    BASE + [(b"x-cr", b"a\rb")],
    BASE + [(b"x-nul", b"a\x00b")],
], ids=["larger-than-a-buffer", "cr", "nul"])  # fmt: skip
def test_what_hpack_decoding_cannot_hold_is_a_connection_error(lab: Lab, fields: list[tuple[bytes, bytes]]) -> None:
    client = between_good_ones(lab, fields)
    assert client.goaway == COMPRESSION_ERROR
    assert client.closed


def test_empty_data_frames_add_nothing_to_the_body(lab: Lab) -> None:
    """Empty DATA frames (legal, and what a client's END_STREAM often rides on)
    are no chunk to the HTTP/1.1 server: an empty chunk would end its body."""
    client = RawH2(lab.port)
    post = [(b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/empty-data/echo"), (b":authority", b"lb.test")]
    client.headers(1, post, end_stream=False)
    for data, flags in ((b"", []), (b"abc", []), (b"", []), (b"def", []), (b"", ["END_STREAM"])):
        client.send(DataFrame(1, data=data, flags=flags).serialize())
    client.read(5.0, streams=(1,))
    client.headers(3, BASE)  # on the server connection stream 1 left clean
    client.read(5.0, streams=(3,))
    client.close()
    assert (client.statuses.get(1), client.bodies.get(1)) == (200, b"abcdef")
    assert client.statuses.get(3) == 200 and client.resets == {}
    [seen] = lab.origin.seen("/empty-data/")
    assert (seen.header("transfer-encoding"), seen.body) == ("chunked", b"abcdef")


def test_streams_over_the_limit_are_refused_and_the_others_served(lab: Lab) -> None:
    client = RawH2(lab.port)
    for i in range(30):
        client.headers(2 * i + 1, [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/delay/300"),
                                   (b":authority", b"lb.test")])  # fmt: skip
    client.read(5.0, streams=tuple(range(1, 61, 2)))
    client.close()
    assert Counter(client.statuses.values()) == {200: 20}
    assert Counter(client.resets.values()) == {REFUSED_STREAM: 10}
    assert client.goaway is None


def test_a_continuation_flood_ends_the_connection(lab: Lab) -> None:
    client = RawH2(lab.port)
    client.headers(1, BASE, end_headers=False)
    sent = 0
    for _ in range(5000):
        frame = ContinuationFrame(1)
        frame.data = b"\x00" * 1000
        if not client.send(frame.serialize()):
            break
        sent += 1
    client.read(3.0)
    client.close()
    assert client.closed and sent < 5000  # bounded: lb stopped reading and closed


def test_rapid_resets_in_one_read_never_reach_a_server(lab: Lab) -> None:
    before = len(lab.origin.seen("/rapid"))
    client = RawH2(lab.port)
    for i in range(500):
        stream_id = 2 * i + 1
        client.headers(stream_id, [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/rapid"),
                                   (b":authority", b"lb.test")])  # fmt: skip
        reset = RstStreamFrame(stream_id)
        reset.error_code = 8  # CANCEL
        client.send(reset.serialize())
    client.headers(1001, BASE)
    client.read(5.0, streams=(1001,))
    client.close()
    assert client.statuses.get(1001) == 200  # the connection still serves
    assert len(lab.origin.seen("/rapid")) - before < 50  # only streams whose HEADERS and RST came apart


def test_a_client_resetting_started_streams_is_sent_away(lab: Lab) -> None:
    client = RawH2(lab.port)
    for i in range(150):
        stream_id = 2 * i + 1
        client.headers(stream_id, [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/delay/200"),
                                   (b":authority", b"lb.test")])  # fmt: skip
        time.sleep(0.003)  # the stream starts before its reset arrives
        reset = RstStreamFrame(stream_id)
        reset.error_code = 8
        if not client.send(reset.serialize()):
            break
        client.read(0.001)
        if client.goaway is not None:
            break
    client.read(2.0)
    client.close()
    assert client.goaway == ENHANCE_YOUR_CALM
