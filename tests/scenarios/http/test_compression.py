"""Response compression end to end: a real lb (2 workers) in front of a real origin (tests only).

The origin (tests/scenarios/http/canned.py) answers what each target asks
for, so every case is one request; bodies are compared byte for byte once
decoded.  tests/scenarios/http/test_compression_haproxy.py runs the same
requests through HAProxy 2.6 and compares."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

import pytest

from tests.scenarios.http.canned import PATTERN, CannedOrigin, text_body
from tests.scenarios.http.compkit import CONFIG, decoded, fetch, read_reply, target
from tests.support import LbProcess, free_port, wait_until

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture(scope="module")
def origin() -> Iterator[CannedOrigin]:
    canned = CannedOrigin()
    yield canned
    canned.close()


@pytest.fixture(scope="module")
def lb(tmp_path_factory: pytest.TempPathFactory, origin: CannedOrigin) -> Iterator[tuple[int, int]]:
    port, plain_port = free_port(), free_port()
    config = CONFIG.format(global_extra="    nbproc 2", port=port, plain_port=plain_port, origin=origin.port)
    proc = LbProcess(tmp_path_factory.mktemp("lb"), config).start()
    yield port, plain_port
    proc.stop()


# -- compressed, and the same bytes once decoded ------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("frame, pieces", [("length", 1), ("length", 7), ("chunked", 1), ("chunked", 7)])
def test_body_is_byte_exact_after_decompression(lb: tuple[int, int], encoding: str, frame: str,
                                                pieces: int) -> None:  # fmt: skip
    reply = fetch(lb[0], target(size=50_000, frame=frame, pieces=pieces), {"Accept-Encoding": encoding})
    assert reply.status == 200 and reply.header("content-encoding") == encoding
    assert reply.header("content-length") is None and reply.header("transfer-encoding") == "chunked"
    assert decoded(reply) == text_body(50_000)
    assert len(reply.body) < 50_000 // 10


def test_raw_deflate_answers_deflate(lb: tuple[int, int]) -> None:
    reply = fetch(lb[0], target("/raw", type="text/csv"), {"Accept-Encoding": "deflate"})
    assert reply.header("content-encoding") == "deflate"
    assert decoded(reply, raw_deflate=True) == text_body(2400)


def test_trailers_follow_the_compressed_body(lb: tuple[int, int]) -> None:
    reply = fetch(lb[0], target(frame="chunked", pieces=3, trailer=1), GZIP)
    assert decoded(reply) == text_body(2400) and reply.trailers == [b"x-check: 1"]


@pytest.mark.parametrize("frame", ["length", "chunked"])
def test_large_streamed_response(lb: tuple[int, int], frame: str) -> None:
    """32 MiB through gzip: decoded as it comes (the client never holds the compressed whole)."""
    size = 32 << 20
    path = target(size=size, pattern=1, frame=frame, pieces=512)
    with socket.create_connection(("127.0.0.1", lb[0]), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n".encode())
        with sock.makefile("rb") as stream:
            reply = read_reply(stream)
    assert reply.header("content-encoding") == "gzip"
    decoder, digest, total = zlib.decompressobj(31), hashlib.sha256(), 0
    for chunk in reply.chunks:
        piece = decoder.decompress(chunk)
        digest.update(piece)
        total += len(piece)
    assert decoder.eof and total == size
    assert digest.hexdigest() == hashlib.sha256(text_body(size, PATTERN)).hexdigest()


def test_each_piece_is_flushed_as_it_comes(lb: tuple[int, int], origin: CannedOrigin) -> None:
    """The origin sends piece i only once the client decoded piece i - 1: a compressor
    that held data back would stall this exchange (HAProxy flushes every block too)."""
    path = target(size=3000, frame="chunked", pieces=3, gate="flow")
    expected = text_body(3000)
    with socket.create_connection(("127.0.0.1", lb[0]), timeout=20) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n".encode())
        stream = sock.makefile("rb")
        head = read_reply(stream, head_only=True)
        assert head.header("content-encoding") == "gzip"
        decoder, got = zlib.decompressobj(31), b""
        for piece in range(3):
            while len(got) < (piece + 1) * 1000:
                size = int(stream.readline(), 16)
                got += decoder.decompress(stream.read(size + 2)[:-2])
            assert got == expected[: (piece + 1) * 1000]
            if piece < 2:
                origin.open_gate("flow", piece + 1)
        while size := int(stream.readline(), 16):  # the end of the gzip stream, then the last chunk
            decoder.decompress(stream.read(size + 2)[:-2])
        assert decoder.eof and got == expected


def test_curl_compressed(lb: tuple[int, int]) -> None:
    """curl offers `deflate, gzip, ...`: the first it names wins, and curl decodes it."""
    url = f"http://127.0.0.1:{lb[0]}" + target(size=9000)
    result = subprocess.run(["curl", "-s", "--compressed", "-D", "-", url], capture_output=True, timeout=30)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert b"content-encoding: deflate" in head and body == text_body(9000)


# -- which encoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("accept, expected", [
    ("gzip", "gzip"), ("deflate", "deflate"), ("gzip, deflate", "gzip"), ("deflate, gzip", "deflate"),
    ("deflate;q=0.5, gzip;q=0.8", "gzip"), ("gzip;q=0.5, deflate", "deflate"), ("gzip;q=0", None),
    ("br, *", "deflate"), ("*;q=0", None), ("identity", None), ("br", None), ("GZip", "gzip"),
])  # fmt: skip
def test_accept_encoding_and_q_values(lb: tuple[int, int], accept: str, expected: str | None) -> None:
    reply = fetch(lb[0], target(), {"Accept-Encoding": accept})
    assert reply.header("content-encoding") == expected
    assert decoded(reply) == text_body(2400)


def test_identity_algorithm_rewrites_without_encoding(lb: tuple[int, int]) -> None:
    reply = fetch(lb[0], target("/identity", h="ETag:\"v\""))
    assert reply.header("content-encoding") is None and reply.header("content-length") is None
    assert reply.header("transfer-encoding") == "chunked" and reply.header("vary") == "Accept-Encoding"
    assert reply.header("etag") == 'W/"v"' and reply.body == text_body(2400)


def test_no_double_compression(lb: tuple[int, int]) -> None:
    """A response the server compressed itself passes as it is, bytes and length."""
    reply = fetch(lb[0], target(headers=("Content-Encoding: gzip",)), GZIP)
    assert reply.header("content-encoding") == "gzip" and reply.header("content-length") == "2400"
    assert reply.body == text_body(2400) and reply.header("vary") is None


@pytest.mark.parametrize("params, headers", [
    ({"type": "application/octet-stream"}, {}),
    ({"type": "multipart/mixed"}, {}),
    ({"type": ""}, {}),  # types are listed: a response without a type is not compressed
    ({"status": 206}, {}),
    ({"status": 404}, {}),
    ({"status": 204}, {}),
    ({"status": 304}, {}),
    ({"size": 0}, {}),
    ({"frame": "close"}, {}),
    ({"frame": "http10"}, {}),
    ({"h": "Cache-Control:private, no-transform"}, {}),
    ({"h": "ETag:unquoted"}, {}),
    ({}, {"User-Agent": "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"}),
])  # fmt: skip
def test_responses_sent_as_they_are(lb: tuple[int, int], params: dict, headers: dict[str, str]) -> None:
    reply = fetch(lb[0], target(**params), {**GZIP, **headers})
    assert reply.header("content-encoding") is None and reply.header("vary") is None


def test_http10_client_and_head_are_not_compressed(lb: tuple[int, int]) -> None:
    assert fetch(lb[0], target(), GZIP, version="1.0").header("content-encoding") is None
    head = fetch(lb[0], target(), GZIP, method="HEAD")
    assert head.header("content-encoding") is None and head.header("content-length") == "2400"


def test_vary_and_etag(lb: tuple[int, int]) -> None:
    reply = fetch(lb[0], target(headers=("ETag: \"abc\"", "Vary: Cookie")), GZIP)
    assert reply.all("vary") == ["Cookie", "Accept-Encoding"] and reply.header("etag") == 'W/"abc"'
    weak = fetch(lb[0], target(h='ETag:W/"abc"'), GZIP)
    assert weak.header("etag") == 'W/"abc"' and weak.header("content-encoding") == "gzip"


def test_http_response_rules_and_compression(lb: tuple[int, int]) -> None:
    reply = fetch(lb[0], target("/rules", h="X-Etag-Rule:1"), GZIP)
    assert reply.header("x-rules") == "yes" and reply.header("content-encoding") == "gzip"
    assert reply.header("etag") == 'W/"from-rule"' and decoded(reply) == text_body(2400)


# -- the request side -----------------------------------------------------------------------------


def test_offload_removes_accept_encoding_when_compressing(lb: tuple[int, int], origin: CannedOrigin) -> None:
    reply = fetch(lb[0], target("/offload", marker="off1"), GZIP)
    assert reply.header("content-encoding") == "gzip"
    assert origin.received("marker=off1")[0].all("accept-encoding") == []
    fetch(lb[0], target("/offload", marker="off2"), {"Accept-Encoding": "br"})
    assert origin.received("marker=off2")[0].all("accept-encoding") == ["br"]  # nothing chosen: kept


def test_without_offload_the_server_sees_accept_encoding(lb: tuple[int, int], origin: CannedOrigin) -> None:
    fetch(lb[0], target(marker="keep1"), GZIP)
    assert origin.received("marker=keep1")[0].all("accept-encoding") == ["gzip"]


def test_a_frontend_without_compression(lb: tuple[int, int], origin: CannedOrigin) -> None:
    reply = fetch(lb[1], target(marker="plain1"), GZIP)
    assert reply.header("content-encoding") is None and reply.header("content-length") == "2400"
    assert origin.received("marker=plain1")[0].all("accept-encoding") == ["gzip"]


# -- ceilings --------------------------------------------------------------------------------------


def gated(port: int, gate: str) -> tuple[socket.socket, BinaryIO, str | None]:
    """A request whose response stops after its first piece until the gate opens:
    (socket, its reader, the Content-Encoding of the head)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    path = target(frame="chunked", pieces=2, gate=gate)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n".encode())
    stream = sock.makefile("rb")
    return sock, stream, read_reply(stream, head_only=True).header("content-encoding")


def test_maxzlibmem_bounds_the_responses_compressed_at_once(tmp_path: Path, origin: CannedOrigin) -> None:
    """1 MB holds three zlib streams of 15 window bits and memLevel 8 (about 262 KB each):
    a fourth response in flight is sent as it is.  A response that ends gives its
    memory back at once, one that the server aborts as soon as its exchange is gone."""
    port = free_port()
    config = CONFIG.format(global_extra="    nbproc 1\n    maxzlibmem 1", port=port, plain_port=free_port(),
                           origin=origin.port)  # fmt: skip
    proc = LbProcess(tmp_path, config).start()
    flights = [gated(port, f"mem{index}") for index in range(4)]
    try:
        assert [encoding for _, _, encoding in flights] == ["gzip", "gzip", "gzip", None]
        origin.open_gate("mem0", 1)  # the first ends ...
        stream = flights[0][1]
        while size := int(stream.readline(), 16):
            stream.read(size + 2)
        assert fetch(port, target(), GZIP).header("content-encoding") == "gzip"  # ... its memory is free at once
        flights += [gated(port, "mem4"), gated(port, "mem5")]
        assert [encoding for _, _, encoding in flights[4:]] == ["gzip", None]  # full again
        origin.abort_at_gate("mem1", 1)  # the server gives up in the middle of the body
        wait_until(lambda: fetch(port, target(), GZIP).header("content-encoding") == "gzip", 10,
                   what="compression again once the aborted exchange is gone")  # fmt: skip
    finally:
        for index in range(6):
            origin.open_gate(f"mem{index}", 1)
        for sock, stream, _ in flights:
            stream.close()
            sock.close()
        proc.stop()
