"""HTTP/2 on the client side, end to end (issue 13): curl, httpx and an `h2` client against a real lb.

One lb (2 workers) serves the whole module: a TLS bind with `alpn
h2,http/1.1`, a cleartext `proto h2` bind, an HTTP/1.1 origin recording
what it receives.  What HAProxy 2.6 does with the same requests is what the
assertions say (checked side by side: the request line and Host, cookie
crumbs, chunked uploads, the log line).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.scenarios.http.h2kit import H2Client
from tests.scenarios.http.httpkit import make_certificate, wait_log
from tests.scenarios.http.origins import Origin, RawServer, pattern_digest
from tests.support import LbProcess, free_port, wait_until

CURL = shutil.which("curl")


class Lab:
    def __init__(self, directory: Path) -> None:
        self.origin = Origin("o1")
        self.trailers = RawServer(self.serve_trailers)
        self.pem, self.cert = make_certificate(directory)
        self.tls_port, self.h2c_port = free_port(), free_port()
        self.lb = LbProcess(directory, self.config())

    def config(self) -> str:
        return f"""
global
    nbproc 2
    tune.h2.max-concurrent-streams 32
defaults
    mode http
    log stdout format raw local0
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout http-keep-alive 2s
frontend fe
    bind 127.0.0.1:{self.tls_port} ssl crt {self.pem} alpn h2,http/1.1
    bind 127.0.0.1:{self.h2c_port} proto h2
    http-request deny if {{ path_beg /denied }}
    use_backend trailers if {{ path_beg /trailers }}
    default_backend be
backend be
    server o1 127.0.0.1:{self.origin.port}
backend trailers
    server t1 127.0.0.1:{self.trailers.port}
"""

    def serve_trailers(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.trailers.read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\n\r\n")  # fmt: skip

    def close(self) -> None:
        self.lb.stop()
        self.origin.close()
        self.trailers.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("h2"))
    lab.lb.start()
    yield lab
    lab.close()


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    assert CURL is not None
    return subprocess.run([CURL, "-s", "--max-time", "10", *args], capture_output=True, text=True, timeout=20)


# -- negotiation and the H2 -> H1 gateway --------------------------------------------------------


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_negotiates_h2_by_alpn_and_the_server_gets_http11(lab: Lab) -> None:
    lab.origin.clear()
    result = curl("-k", "--http2", "-w", "\n%{http_version}", "-H", "Cookie: a=1", "-H", "Cookie: b=2",
                  "-H", "X-Foo: bar", f"https://127.0.0.1:{lab.tls_port}/alpn/x?y=z")  # fmt: skip
    body, version = result.stdout.rsplit("\n", 1)
    assert version == "2"
    assert body == "o1 /alpn/x?y=z\n"
    seen = lab.origin.seen("/alpn")[0]
    assert (seen.target, seen.version) == ("/alpn/x?y=z", "HTTP/1.1")  # origin form, as HAProxy sends it
    assert [n for n, _ in seen.headers][:1] == ["host"]  # Host made from :authority, first
    assert seen.header("host") == f"127.0.0.1:{lab.tls_port}"
    assert seen.all("cookie") == ["a=1; b=2"]  # crumbs joined
    assert seen.header("x-foo") == "bar"


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_prior_knowledge_on_a_proto_h2_bind(lab: Lab) -> None:
    result = curl("--http2-prior-knowledge", "-w", "\n%{http_version}", "-d", "hello=world",
                  f"http://127.0.0.1:{lab.h2c_port}/pk/echo")  # fmt: skip
    assert result.stdout == "hello=world\n2"


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_a_client_without_h2_in_alpn_gets_http11(lab: Lab) -> None:
    result = curl("-k", "--http1.1", "-w", "\n%{http_version}", f"https://127.0.0.1:{lab.tls_port}/h1")
    assert result.stdout == "o1 /h1\n\n1.1"


def test_settings_come_from_tune_h2(lab: Lab) -> None:
    with H2Client(lab.h2c_port) as client:
        assert client.get("/settings").status == 200
        assert client.remote_settings[0x3] == 32  # SETTINGS_MAX_CONCURRENT_STREAMS
        assert client.remote_settings[0x4] == 65535  # SETTINGS_INITIAL_WINDOW_SIZE


def test_body_without_length_goes_chunked_and_trailers_come_back(lab: Lab) -> None:
    with H2Client(lab.h2c_port) as client:
        stream = client.request("POST", "/chunky/upload", body=b"x" * 1000, end=True)
        result = client.wait(stream)[0]
        assert result.status == 200
        assert result.body == f"1000 {hashlib.sha256(b'x' * 1000).hexdigest()}\n".encode()
        grpc = client.get("/trailers/x")
    seen = lab.origin.seen("/chunky")[0]
    assert seen.header("transfer-encoding") == "chunked"
    assert grpc.body == b"hello"
    assert grpc.trailers == [(b"grpc-status", b"0"), (b"grpc-message", b"fine")]
    assert grpc.header(b"transfer-encoding") is None


def test_rules_answer_over_h2(lab: Lab) -> None:
    with H2Client(lab.h2c_port) as client:
        denied = client.get("/denied")
        after = client.get("/still-there")  # the connection goes on
    assert denied.status == 403
    assert b"Request forbidden" in denied.body
    assert after.status == 200


def test_httpx_http2(lab: Lab) -> None:
    with httpx.Client(http2=True, verify=False) as client:
        responses = [client.get(f"https://127.0.0.1:{lab.tls_port}/httpx/{i}") for i in range(3)]
        posted = client.post(f"https://127.0.0.1:{lab.tls_port}/httpx/echo", content=b"z" * 70000)
    assert all(r.http_version == "HTTP/2" and r.status_code == 200 for r in responses)
    assert [r.text for r in responses] == [f"o1 /httpx/{i}\n" for i in range(3)]
    assert posted.content == b"z" * 70000


# -- multiplexing and flow control ------------------------------------------------------------------


def test_concurrent_streams_with_bodies_both_ways(lab: Lab) -> None:
    sizes = [1000 * (i + 1) * 37 for i in range(12)]
    with H2Client(lab.tls_port, tls=True) as client:
        uploads = {client.request("POST", f"/mux/{i}/upload", body=b"u%d" % i * (size // 2), end=True): (i, size)
                   for i, size in enumerate(sizes)}  # fmt: skip
        downloads = {client.request("GET", f"/mux/download/{size}"): size for size in sizes}
        results = client.wait(*uploads, *downloads, timeout=30)
    assert all(r.ended and r.status == 200 for r in results)
    for stream_id, (i, size) in uploads.items():
        body = b"u%d" % i * (size // 2)
        assert client.streams[stream_id].body == f"{len(body)} {hashlib.sha256(body).hexdigest()}\n".encode()
    for stream_id, size in downloads.items():
        assert hashlib.sha256(client.streams[stream_id].body).hexdigest() == pattern_digest(size)


def test_a_large_download_under_a_small_window(lab: Lab) -> None:
    """The client's window is 4 KiB and it acknowledges late: lb sends within it
    (h2 would refuse a frame beyond it) and the whole body arrives."""
    size = 3 * 1024 * 1024
    with H2Client(lab.h2c_port, window=4096, auto_ack=False) as client:
        stream = client.request("GET", f"/slow/download/{size}")
        received = 0
        while not client.streams[stream].done and client.read_once(timeout=10):
            body = client.streams[stream].body
            if len(body) > received:
                client.conn.acknowledge_received_data(len(body) - received, stream)
                received = len(body)
                client.flush()
        result = client.streams[stream]
    assert result.ended and len(result.body) == size
    assert hashlib.sha256(result.body).hexdigest() == pattern_digest(size)


def test_a_large_upload_is_paced_by_the_window(lab: Lab) -> None:
    size = 4 * 1024 * 1024
    body = bytes(range(256)) * (size // 256)
    with H2Client(lab.tls_port, tls=True) as client:
        result = client.wait(client.request("PUT", "/big/upload", body=body, headers=[("content-length", str(size))]),
                             timeout=30)[0]  # fmt: skip
    assert result.body == f"{size} {hashlib.sha256(body).hexdigest()}\n".encode()


# -- logs ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_log_line_of_an_h2_request(lab: Lab) -> None:
    curl("-k", "--http2", f"https://127.0.0.1:{lab.tls_port}/logged?q=1")
    line = wait_log(lab.lb, "/logged?q=1")
    assert line.endswith(f'"GET https://127.0.0.1:{lab.tls_port}/logged?q=1 HTTP/2.0"')  # HAProxy's %r for h2
    assert " fe~ be/o1 " in line and " 200 " in line


# -- the connection's life ---------------------------------------------------------------------------


def test_an_idle_connection_gets_goaway_after_timeout_http_keep_alive(lab: Lab) -> None:
    with H2Client(lab.h2c_port) as client:
        assert client.get("/idle").status == 200
        assert client.wait_closed(timeout=8)
        assert client.goaway is not None and client.goaway.error_code == 0


def test_concurrent_clients(lab: Lab) -> None:
    failures: list[str] = []

    def run(n: int) -> None:
        try:
            with H2Client(lab.h2c_port) as client:
                ids = [client.request("GET", f"/many/{n}/{i}") for i in range(20)]
                for stream_id, result in zip(ids, client.wait(*ids, timeout=20), strict=True):
                    if result.status != 200 or not result.body.startswith(b"o1 /many/"):
                        failures.append(f"{n}/{stream_id}: {result}")
        except OSError as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    wait_until(lambda: lab.lb.proc is not None and lab.lb.proc.poll() is None)
