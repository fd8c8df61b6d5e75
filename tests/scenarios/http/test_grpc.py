"""gRPC through lb end to end (issue 13): grpcio's client and server, HTTP/2 on both sides of a real lb.

The client speaks h2c to `bind ... proto h2`, lb speaks h2c to `server ...
proto h2` (workers/http/h2server.py): unary, server-streaming,
client-streaming and bidirectional calls, a status carried by trailers
only (grpc-status in a trailers-only answer), many calls multiplexed on
few server connections, and the log line of a call.  grpcio runs in child
processes (tests/scenarios/http/grpc_peer.py), never in the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.scenarios.http.httpkit import wait_log
from tests.support import LbProcess, free_port

SERVICE = "lbtest.Echo"
REPO = Path(__file__).resolve().parents[3]
PEER = [sys.executable, "-m", "tests.scenarios.http.grpc_peer"]


class Lab:
    def __init__(self, directory: Path) -> None:
        self.server = subprocess.Popen([*PEER, "server"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)  # fmt: skip
        assert self.server.stdout is not None
        self.grpc_port = int(self.server.stdout.readline())
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
    server g1 127.0.0.1:{self.grpc_port} proto h2
""")  # fmt: skip

    def call(self, name: str) -> Any:
        done = subprocess.run([*PEER, "call", str(self.port), name], cwd=REPO, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def close(self) -> None:
        assert self.server.stdin is not None
        self.server.stdin.close()
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("grpc"))
    try:
        lab.lb.start()
        yield lab
    finally:
        lab.lb.stop()
        lab.close()


def test_unary_call_with_trailing_metadata(lab: Lab) -> None:
    result = lab.call("unary")
    assert (result["answer"], result["code"]) == ("echo:hello", "OK")
    assert ["x-served", "yes"] in result["trailers"]
    line = wait_log(lab.lb, f"/{SERVICE}/Unary")
    assert " fe grpc/g1 " in line and " 200 " in line
    assert line.endswith(f'"POST http://127.0.0.1:{lab.port}/{SERVICE}/Unary HTTP/2.0"')


def test_streaming_calls(lab: Lab) -> None:
    result = lab.call("streams")
    assert result["streamed"] == ["%d:%s" % (i, "ab" * 1000) for i in range(5)]
    assert result["joined"] == "x+" + "y" * 70000 + "+z"  # 70 KB: past the windows
    assert result["echoed"] == ["ONE", "TWO", "THREE"]


def test_a_status_in_trailers_only_reaches_the_client(lab: Lab) -> None:
    assert lab.call("fail") == {"code": "NOT_FOUND", "details": "no such thing"}


def test_concurrent_calls_share_server_connections(lab: Lab) -> None:
    result = lab.call("concurrent")
    assert result["answers"] == sorted(f"echo:{n}-{i}" for n in range(8) for i in range(10))
    assert result["server_connections"] < 8  # 80 calls from 8 client connections, multiplexed on fewer server ones
