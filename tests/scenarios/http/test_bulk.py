"""100 MB through the proxy in each direction, streamed: digests match and the worker never holds the body.

One lb with one worker in front of a recording origin.  The download is a
Content-Length response of 100 MiB of a known pattern, read and hashed by
the client as it arrives; the upload is a 100 MiB Content-Length body
(after `Expect: 100-continue`, as curl does for large bodies), hashed by
the origin as it arrives; a chunked upload is re-chunked to the origin.
"Streamed" is checked on the worker's peak resident memory (VmHWM), which
must stay far below the body size.  Each test is bounded by a pytest
timeout, and nothing is asserted on speed.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from typing import Iterator

import pytest

from tests.scenarios.http.httpkit import ResponseReader, connect, lb_before_origin
from tests.scenarios.http.origins import Origin, pattern_digest, pattern_stream
from tests.support import LbProcess

SIZE = 100 * 1024 * 1024
CONFIG = """
global
    nbproc 1
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 30s
frontend fe
    bind 127.0.0.1:{port}
    use_backend be_one if {{ path_beg /one/ }}
    default_backend be
backend be
    server s1 127.0.0.1:{origin}
backend be_one
    server s1 127.0.0.1:{origin} maxconn 1
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LbProcess, int, Origin]]:
    with lb_before_origin(tmp_path_factory.mktemp("bulk"), CONFIG) as (lb, port, origin):
        yield lb, port, origin


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.timeout(90)
def test_100mb_download_streams_through(setup) -> None:
    lb, port, origin = setup
    expected = pattern_digest(SIZE)
    with connect(port, timeout=30) as sock:
        sock.sendall(f"GET /download/{SIZE} HTTP/1.1\r\nHost: lb.test\r\n\r\n".encode())
        reader = ResponseReader(sock)
        while b"\r\n\r\n" not in reader.buffer:
            assert reader._fill()
        head, rest = reader.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 ") and f"\r\ncontent-length: {SIZE}".encode() in head.lower()
        digest, received = hashlib.sha256(rest), len(rest)
        while received < SIZE:
            chunk = sock.recv(1 << 20)
            assert chunk, f"closed after {received} bytes"
            digest.update(chunk)
            received += len(chunk)
    assert received == SIZE and digest.hexdigest() == expected
    assert peak_rss_kib(lb.workers()[0]) < 64 * 1024, "the worker held a large part of the body"


@pytest.mark.timeout(90)
def test_100mb_upload_after_100_continue_streams_through(setup) -> None:
    lb, port, origin = setup
    with connect(port, timeout=30) as sock:
        sock.sendall(f"PUT /upload HTTP/1.1\r\nHost: lb.test\r\nContent-Length: {SIZE}\r\n"
                     "Expect: 100-continue\r\n\r\n".encode())  # fmt: skip
        reader = ResponseReader(sock)
        while b"\r\n\r\n" not in reader.buffer:
            assert reader._fill()
        interim, reader.buffer = reader.buffer.split(b"\r\n\r\n", 1)
        assert interim.startswith(b"HTTP/1.1 100 ")
        for piece in pattern_stream(SIZE, 1 << 20):
            sock.sendall(piece)
        response = reader.next()
    assert response.status == 200
    assert response.body == f"{SIZE} {pattern_digest(SIZE)}\n".encode()
    assert origin.seen("/upload")[-1].header("Content-Length") == str(SIZE)
    assert peak_rss_kib(lb.workers()[0]) < 64 * 1024, "the worker held a large part of the body"


@pytest.mark.timeout(60)
def test_chunked_upload_is_rechunked_to_the_server(setup) -> None:
    lb, port, origin = setup
    size = 20 * 1024 * 1024
    with connect(port, timeout=30) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: lb.test\r\nTransfer-Encoding: chunked\r\n"
                     b"Expect: 100-continue\r\n\r\n")  # fmt: skip
        reader = ResponseReader(sock)
        while b"\r\n\r\n" not in reader.buffer:
            assert reader._fill()
        reader.buffer = reader.buffer.split(b"\r\n\r\n", 1)[1]
        for piece in pattern_stream(size, 300_000):  # chunks that do not line up with lb's reads
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")
        response = reader.next()
    assert response.body == f"{size} {pattern_digest(size)}\n".encode()
    seen = origin.seen("/upload")[-1]
    assert seen.header("Transfer-Encoding") == "chunked" and seen.header("Content-Length") is None


@pytest.mark.timeout(60)
def test_upload_without_expect_streams_when_the_server_connection_is_up(setup) -> None:
    lb, port, origin = setup
    size = 8 * 1024 * 1024
    with connect(port, timeout=30) as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"GET /warm-up HTTP/1.1\r\nHost: lb.test\r\n\r\n")
        assert reader.next().status == 200
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: lb.test\r\nContent-Length: {size}\r\n\r\n".encode())
        for piece in pattern_stream(size, 1 << 20):
            sock.sendall(piece)
        assert reader.next().body == f"{size} {pattern_digest(size)}\n".encode()


@pytest.mark.timeout(60)
def test_upload_queued_before_its_server_connection_completes(setup) -> None:
    lb, port, origin = setup
    size = 1024 * 1024
    holder = threading.Thread(target=lambda: _get(port, "/one/delay/1000"), daemon=True)
    holder.start()
    time.sleep(0.3)  # let the holder take be_one's only slot
    with connect(port, timeout=5) as sock:  # the holder is done after 1 s: 5 s without progress is a stall
        sock.sendall(f"POST /one/upload HTTP/1.1\r\nHost: lb.test\r\nContent-Length: {size}\r\n\r\n".encode())
        try:
            for piece in pattern_stream(size, 1 << 16):
                sock.sendall(piece)
            response = ResponseReader(sock).next()
        except (socket.timeout, ConnectionError) as exc:
            pytest.fail(f"upload stalled: {exc!r}")
    holder.join(10)
    assert response.body == f"{size} {pattern_digest(size)}\n".encode()


def _get(port: int, path: str) -> None:
    with connect(port, timeout=15) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: lb.test\r\n\r\n".encode())
        ResponseReader(sock).next()
