"""gRPC peers for tests/scenarios/http/test_grpc.py, in a child process (tests only).

grpcio's threads stay for the life of the process that imported it, and a
process with them sometimes hangs a later fork that runs Python before exec
(subprocess's preexec_fn, which tests/scenarios/process use): so the test
process never imports grpc; it runs this module.

    python -m tests.scenarios.http.grpc_peer server          prints its port, serves until stdin closes
    python -m tests.scenarios.http.grpc_peer call PORT NAME  runs one scenario against lb, prints JSON
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent import futures
from typing import Any, Iterator

import grpc

SERVICE = "lbtest.Echo"
PEERS: set[str] = set()


def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
    PEERS.add(context.peer())  # the server connection the call came on
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


def peers(request: bytes, context: grpc.ServicerContext) -> bytes:
    """The server connections unary calls came on, counted (and forgotten)."""
    count = len(PEERS)
    PEERS.clear()
    return b"%d" % count


def serve() -> None:
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(failing),
        "Peers": grpc.unary_unary_rpc_method_handler(peers),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # until the test closes our stdin
    server.stop(None)


def channel(port: int) -> grpc.Channel:
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)])


def call_unary(port: int) -> dict[str, Any]:
    with channel(port) as chan:
        answer, outcome = chan.unary_unary(f"/{SERVICE}/Unary").with_call(b"hello", timeout=10)
    return {"answer": answer.decode(), "code": outcome.code().name,
            "trailers": [list(pair) for pair in outcome.trailing_metadata()]}  # fmt: skip


def call_streams(port: int) -> dict[str, Any]:
    with channel(port) as chan:
        streamed = list(chan.unary_stream(f"/{SERVICE}/ServerStream")(b"ab", timeout=10))
        joined = chan.stream_unary(f"/{SERVICE}/ClientStream")(iter([b"x", b"y" * 70000, b"z"]), timeout=10)
        echoed = list(chan.stream_stream(f"/{SERVICE}/Bidi")(iter([b"one", b"two", b"three"]), timeout=10))
    return {
        "streamed": [m.decode() for m in streamed],
        "joined": joined.decode(),
        "echoed": [m.decode() for m in echoed],
    }


def call_fail(port: int) -> dict[str, Any]:
    with channel(port) as chan:
        try:
            chan.unary_unary(f"/{SERVICE}/Fail")(b"", timeout=10)
        except grpc.RpcError as failure:
            return {"code": failure.code().name, "details": failure.details()}  # type: ignore[attr-defined]
    return {"code": "OK"}


def call_concurrent(port: int) -> dict[str, Any]:
    with channel(port) as chan:
        chan.unary_unary(f"/{SERVICE}/Peers")(b"", timeout=10)  # forget the earlier tests' connections
    answers: list[str] = []
    lock = threading.Lock()

    def caller(n: int) -> None:
        with channel(port) as chan:
            call = chan.unary_unary(f"/{SERVICE}/Unary")
            for i in range(10):
                answer = call(b"%d-%d" % (n, i), timeout=10)
                with lock:
                    answers.append(answer.decode())

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with channel(port) as chan:
        count = int(chan.unary_unary(f"/{SERVICE}/Peers")(b"", timeout=10))
    return {"answers": sorted(answers), "server_connections": count}


CALLS = {"unary": call_unary, "streams": call_streams, "fail": call_fail, "concurrent": call_concurrent}

if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve()
    else:
        print(json.dumps(CALLS[sys.argv[3]](int(sys.argv[2]))))
