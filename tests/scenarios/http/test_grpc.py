"""gRPC through lb end to end (issue 13): grpcio's client and server, HTTP/2 on both sides of a real lb.

The client speaks h2c to `bind ... proto h2`, lb speaks h2c to `server ...
proto h2` (workers/http/h2server.py): unary, server-streaming,
client-streaming and bidirectional calls, a status carried by trailers
only (grpc-status in a trailers-only answer), many calls multiplexed on
few server connections, and the log line of a call.
"""

from __future__ import annotations

import threading
from concurrent import futures
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from tests.scenarios.http.httpkit import wait_log
from tests.support import LbProcess, free_port

SERVICE = "lbtest.Echo"


def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
    context.set_trailing_metadata((("x-served", "yes"),))
    return b"echo:" + request


def server_stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    for index in range(5):
        yield b"%d:%s" % (index, request * 1000)  # 5 messages of a few KB


def client_stream(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
    return b"+".join(requests)


def bidi(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    for request in requests:
        yield request.upper()


def failing(request: bytes, context: grpc.ServicerContext) -> bytes:
    context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    raise AssertionError("abort raises")


class GrpcServer:
    def __init__(self) -> None:
        self.peers: set[str] = set()
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(self.recorded(unary)),
            "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
            "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
            "Fail": grpc.unary_unary_rpc_method_handler(failing),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def recorded(self, method):  # type: ignore[no-untyped-def]
        def serve(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.peers.add(context.peer())  # the server connection the call came on
            return method(request, context)  # type: ignore[no-any-return]

        return serve


class Lab:
    def __init__(self, directory: Path) -> None:
        self.grpc = GrpcServer()
        self.port = free_port()
        self.lb = LbProcess(directory, f"""
global
    nbproc 1
defaults
    mode http
    log stdout format raw local0
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{self.port} proto h2
    default_backend grpc
backend grpc
    server g1 127.0.0.1:{self.grpc.port} proto h2
""")  # fmt: skip

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.port}", options=[("grpc.enable_http_proxy", 0)])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("grpc"))
    lab.lb.start()
    yield lab
    lab.lb.stop()
    lab.grpc.server.stop(None)


def test_unary_call_with_trailing_metadata(lab: Lab) -> None:
    with lab.channel() as channel:
        call = channel.unary_unary(f"/{SERVICE}/Unary")
        answer, outcome = call.with_call(b"hello", timeout=10)
    assert answer == b"echo:hello"
    assert outcome.code() == grpc.StatusCode.OK
    assert ("x-served", "yes") in tuple(outcome.trailing_metadata())
    line = wait_log(lab.lb, f"/{SERVICE}/Unary")
    assert " fe grpc/g1 " in line and " 200 " in line
    assert line.endswith(f'"POST http://127.0.0.1:{lab.port}/{SERVICE}/Unary HTTP/2.0"')


def test_streaming_calls(lab: Lab) -> None:
    with lab.channel() as channel:
        streamed = list(channel.unary_stream(f"/{SERVICE}/ServerStream")(b"ab", timeout=10))
        joined = channel.stream_unary(f"/{SERVICE}/ClientStream")(iter([b"x", b"y" * 70000, b"z"]), timeout=10)
        echoed = list(channel.stream_stream(f"/{SERVICE}/Bidi")(iter([b"one", b"two", b"three"]), timeout=10))
    assert streamed == [b"%d:%s" % (i, b"ab" * 1000) for i in range(5)]
    assert joined == b"x+" + b"y" * 70000 + b"+z"
    assert echoed == [b"ONE", b"TWO", b"THREE"]


def test_a_status_in_trailers_only_reaches_the_client(lab: Lab) -> None:
    with lab.channel() as channel:
        with pytest.raises(grpc.RpcError) as failure:
            channel.unary_unary(f"/{SERVICE}/Fail")(b"", timeout=10)
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    assert failure.value.details() == "no such thing"  # type: ignore[attr-defined]


def test_concurrent_calls_share_server_connections(lab: Lab) -> None:
    lab.grpc.peers.clear()
    answers: list[bytes] = []
    lock = threading.Lock()

    def caller(n: int) -> None:
        with lab.channel() as channel:
            call = channel.unary_unary(f"/{SERVICE}/Unary")
            for i in range(10):
                answer = call(b"%d-%d" % (n, i), timeout=10)
                with lock:
                    answers.append(answer)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == sorted(b"echo:%d-%d" % (n, i) for n in range(8) for i in range(10))
    assert len(lab.grpc.peers) < 8  # 80 calls from 8 client connections, multiplexed on fewer server ones
