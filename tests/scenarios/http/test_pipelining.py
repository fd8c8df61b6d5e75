"""Pipelined requests: several requests in one send are answered in order, bodies intact, each forwarded once.

One lb (one worker, default http-keep-alive) in front of a recording
origin.  Requests are written back to back in a single sendall (raw
socket) and the responses are read with a strict reader that checks the
framing.  Covers Content-Length and chunked request bodies (re-chunked
to the server), a slow first answer that must not let later answers
overtake it, HEAD / 204 / chunked responses in the middle of a pipeline,
fifty requests at once, and bodies larger than lb's buffers.
"""

from __future__ import annotations

import hashlib
from typing import Iterator

import pytest

from tests.scenarios.http.httpkit import ResponseReader, connect, lb_before_origin
from tests.scenarios.http.origins import PATTERN, Origin

CONFIG = """
global
    nbproc 1
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{origin}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Origin]]:
    with lb_before_origin(tmp_path_factory.mktemp("pipelining"), CONFIG) as (lb, port, origin):
        yield port, origin


def head(method: str, target: str, extra: str = "") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: lb.test\r\n{extra}\r\n".encode()


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_mixed_pipeline_is_answered_in_order(setup) -> None:
    port, origin = setup
    requests = [
        head("GET", "/delay/300?mix-1"),  # slow: the others must wait behind it
        head("POST", "/echo?mix-2", "Content-Length: 11\r\n") + b"hello world",
        head("POST", "/echo?mix-3", "Transfer-Encoding: chunked\r\n") + chunked(b"abc", b"defgh", b"\r\n\r\n"),
        head("HEAD", "/download/100?mix-4"),
        head("GET", "/chunked?mix-5"),
        head("GET", "/status/204?mix-6"),
        head("PUT", "/upload?mix-7", "Content-Length: 5000\r\n") + PATTERN[:5000],
        head("GET", "/last?mix-8"),
    ]
    with connect(port) as sock:
        sock.sendall(b"".join(requests))
        reader = ResponseReader(sock)
        responses = [reader.next(head_request=index == 3) for index in range(len(requests))]
    assert [r.status for r in responses] == [200, 200, 200, 200, 200, 204, 200, 200]
    assert responses[0].body == b"o1 /delay/300?mix-1\n"
    assert responses[1].body == b"hello world"
    assert responses[2].body == b"abcdefgh\r\n\r\n"
    assert responses[3].header("Content-Length") == "100" and responses[3].body == b""
    assert responses[4].body == b"first,second part,third\n"
    assert responses[5].body == b"" and responses[5].header("Content-Length") is None
    assert responses[6].body == f"5000 {hashlib.sha256(PATTERN[:5000]).hexdigest()}\n".encode()
    assert responses[7].body == b"o1 /last?mix-8\n"
    seen = [s for s in origin.seen() if "?mix-" in s.target]
    assert [s.target.rsplit("-", 1)[1] for s in seen] == [str(i) for i in range(1, 9)]  # once each, in order
    assert seen[2].header("Transfer-Encoding") == "chunked" and seen[2].body == b"abcdefgh\r\n\r\n"
    assert seen[1].header("Content-Length") == "11"


def test_fifty_requests_in_one_send(setup) -> None:
    port, origin = setup
    with connect(port) as sock:
        sock.sendall(b"".join(head("GET", f"/many/{i}") for i in range(50)))
        reader = ResponseReader(sock)
        bodies = [reader.next().body for _ in range(50)]
    assert bodies == [f"o1 /many/{i}\n".encode() for i in range(50)]
    assert [s.target for s in origin.seen("/many/")] == [f"/many/{i}" for i in range(50)]


def test_pipelined_large_bodies_stay_intact(setup) -> None:
    port, origin = setup
    sizes = (1 << 20, 3 << 19, 12345)
    bodies = [bytes([i + 65]) * size for i, size in enumerate(sizes)]
    with connect(port) as sock:
        reader = ResponseReader(sock)
        # a first exchange attaches a server connection to this client connection, so the
        # bodies below stream to it (a body arriving before its server connection is up is
        # test_bulk.py's queued-upload case)
        sock.sendall(head("GET", "/warm-up"))
        assert reader.next().status == 200
        payload = b""
        for index, body in enumerate(bodies):
            if index == 1:  # the middle one chunked, in uneven chunks
                pieces = [body[i:i + 100000] for i in range(0, len(body), 100000)]
                payload += head("POST", f"/upload?big-{index}", "Transfer-Encoding: chunked\r\n") + chunked(*pieces)
            else:
                payload += head("POST", f"/upload?big-{index}", f"Content-Length: {len(body)}\r\n") + body
        sock.sendall(payload)
        answers = [reader.next().body for _ in bodies]
    assert answers == [f"{len(b)} {hashlib.sha256(b).hexdigest()}\n".encode() for b in bodies]
    assert len([s for s in origin.seen("/upload?big-")]) == 3


def test_response_to_a_pipelined_request_follows_a_chunked_response(setup) -> None:
    """The chunked response is re-chunked by lb; the next response must start right after its last chunk."""
    port, origin = setup
    with connect(port) as sock:
        sock.sendall(head("GET", "/chunked?order-1") + head("GET", "/after?order-2"))
        reader = ResponseReader(sock)
        first = reader.next()
        second = reader.next()
    assert first.raw.endswith(b"\r\n0\r\n\r\n") and first.body == b"first,second part,third\n"
    assert second.raw.startswith(b"HTTP/1.1 200 ") and second.body == b"o1 /after?order-2\n"
