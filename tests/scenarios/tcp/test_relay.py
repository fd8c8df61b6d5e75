"""mode tcp relaying through a real lb: large transfers, half-close, timeouts, retries, PROXY headers."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

from tests.support import free_port, wait_until


def config(port: int, servers: str, extra: str = "", timeouts: str = "") -> str:
    return f"""
global
    nbproc 2
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
{timeouts}
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
{extra}
{servers}
"""


class DigestServer:
    """Reads until EOF, hashing; meanwhile sends `size` pseudo-random bytes, then closes.

    Both directions run at once, so the proxy must relay them concurrently;
    the client's half-close is the only way the server learns the upload ended.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.upload_digest = ""
        self.upload_size = 0
        threading.Thread(target=self.run, daemon=True).start()

    def run(self) -> None:
        conn, _ = self.listener.accept()
        sender = threading.Thread(target=send_pattern, args=(conn, self.size, True))
        sender.start()
        self.upload_digest, self.upload_size = digest_until_eof(conn)
        sender.join()
        conn.close()


def pattern(size: int) -> bytes:
    block = hashlib.sha256(b"lb").digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def send_pattern(conn: socket.socket, size: int, shutdown: bool) -> None:
    data = memoryview(pattern(size))
    for offset in range(0, size, 1 << 20):
        conn.sendall(data[offset : offset + (1 << 20)])
    if shutdown:
        conn.shutdown(socket.SHUT_WR)


def digest_until_eof(conn: socket.socket) -> tuple[str, int]:
    digest, total = hashlib.sha256(), 0
    while True:
        chunk = conn.recv(1 << 20)
        if not chunk:
            return digest.hexdigest(), total
        digest.update(chunk)
        total += len(chunk)


def test_64_mib_each_way_byte_exact_with_half_close(lb_factory):
    size = 64 << 20
    server = DigestServer(size)
    port = free_port()
    lb_factory(config(port, f"    server s1 127.0.0.1:{server.port}"))
    conn = socket.create_connection(("127.0.0.1", port), timeout=60)
    result: list[tuple[str, int]] = []
    reader = threading.Thread(target=lambda: result.append(digest_until_eof(conn)))
    reader.start()
    send_pattern(conn, size, shutdown=True)  # half-close: we still read after this
    reader.join(120)
    expected = hashlib.sha256(pattern(size)).hexdigest()
    assert result == [(expected, size)]
    wait_until(lambda: server.upload_size == size, timeout=30, what="upload complete")
    assert server.upload_digest == expected
    conn.close()


def test_server_half_close_reaches_the_client_which_can_still_send(lb_factory):
    listener = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)  # server done talking, still listening
        got.append(digest_until_eof(conn)[0].encode() and b"")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    port = free_port()
    lb_factory(config(port, f"    server s1 127.0.0.1:{listener.getsockname()[1]}"))
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert conn.recv(16) == b"bye"
    assert conn.recv(16) == b""  # FIN propagated
    conn.sendall(b"still there")  # our direction is still open
    conn.shutdown(socket.SHUT_WR)
    wait_until(lambda: got, what="server saw the client's FIN")
    conn.close()


def test_client_timeout_closes_idle_session(lb_factory):
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    port = free_port()
    text = config(port, f"    server s1 127.0.0.1:{listener.getsockname()[1]}")
    lb_factory(text.replace("timeout client 30s", "timeout client 300ms").replace("timeout server 30s", "timeout server 10s"))
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.monotonic()
    assert conn.recv(16) == b""  # lb closed the idle session
    assert time.monotonic() - started < 9  # the 10s server timeout did not decide it
    wait_until(lambda: accepted, what="server connection")
    accepted[0].settimeout(5)
    assert accepted[0].recv(16) == b""  # and closed the server side too


def test_retries_and_redispatch_reach_a_good_server(lb_factory, tag_servers):
    (good,) = tag_servers("good")
    dead_port = free_port()  # nothing listens: connection refused
    port = free_port()
    servers = f"""
    server dead 127.0.0.1:{dead_port} weight 100
    server good 127.0.0.1:{good.port} weight 1"""
    lb_factory(config(port, servers, extra="    retries 2\n    option redispatch"))
    for _ in range(4):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            assert conn.recv(16) == b"good\n"


def test_retries_exhausted_closes_the_client(lb_factory):
    dead_port = free_port()
    port = free_port()
    lb_factory(config(port, f"    server dead 127.0.0.1:{dead_port}", extra="    retries 1"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        assert conn.recv(16) == b""


def test_connect_timeout(lb_factory):
    # A listener whose accept queue is full drops further SYNs: connects time out.
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(blackhole.getsockname())
        fillers.append(filler)
    time.sleep(0.2)
    port = free_port()
    lb_factory(config(port, f"    server hole 127.0.0.1:{blackhole.getsockname()[1]}", extra="    retries 0")
               .replace("timeout connect 1s", "timeout connect 300ms"))
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        assert conn.recv(16) == b""
    assert time.monotonic() - started < 8


def closed_by_peer(conn: socket.socket) -> bool:
    """True when the peer closed (FIN, or RST because our bytes were left unread)."""
    try:
        return conn.recv(16) == b""
    except ConnectionResetError:
        return True


class RecordingServer:
    """Accepts one connection and records the first bytes it receives."""

    def __init__(self, family: int = socket.AF_INET, host: str = "127.0.0.1") -> None:
        self.listener = socket.socket(family)
        self.listener.bind((host, 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.data = b""
        self.done = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(5)
        try:
            while b"END" not in self.data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                self.data += chunk
        finally:
            conn.close()
            self.done.set()


def test_send_proxy_v1_bytes(lb_factory):
    server = RecordingServer()
    port = free_port()
    lb_factory(config(port, f"    server s1 127.0.0.1:{server.port} send-proxy"))
    conn = socket.create_connection(("127.0.0.1", port))
    client_port = conn.getsockname()[1]
    conn.sendall(b"END")
    server.done.wait(10)
    assert server.data == f"PROXY TCP4 127.0.0.1 127.0.0.1 {client_port} {port}\r\nEND".encode()
    conn.close()


def test_send_proxy_v2_bytes(lb_factory):
    server = RecordingServer()
    port = free_port()
    lb_factory(config(port, f"    server s1 127.0.0.1:{server.port} send-proxy-v2"))
    conn = socket.create_connection(("127.0.0.1", port))
    client_port = conn.getsockname()[1]
    conn.sendall(b"END")
    server.done.wait(10)
    expected = (bytes.fromhex("0d0a0d0a000d0a515549540a" "21" "11" "000c" "7f000001" "7f000001")
                + client_port.to_bytes(2, "big") + port.to_bytes(2, "big") + b"END")  # fmt: skip
    assert server.data == expected
    conn.close()


def test_send_proxy_v1_ipv6_client(lb_factory):
    server = RecordingServer()
    port = free_port("::1")
    text = config(port, f"    server s1 127.0.0.1:{server.port} send-proxy").replace(
        f"bind 127.0.0.1:{port}", f"bind [::1]:{port}")
    lb_factory(text)
    conn = socket.create_connection(("::1", port))
    client_port = conn.getsockname()[1]
    conn.sendall(b"END")
    server.done.wait(10)
    assert server.data == f"PROXY TCP6 ::1 ::1 {client_port} {port}\r\nEND".encode()
    conn.close()


def test_accept_proxy_on_bind_uses_the_advertised_source(lb_factory):
    server = RecordingServer()
    port = free_port()
    text = config(port, f"    server s1 127.0.0.1:{server.port} send-proxy").replace(
        f"bind 127.0.0.1:{port}", f"bind 127.0.0.1:{port} accept-proxy")
    lb_factory(text)
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\nEND")
    server.done.wait(10)
    assert server.data == b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\nEND"
    conn.close()
    bad = socket.create_connection(("127.0.0.1", port), timeout=5)
    bad.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert closed_by_peer(bad)  # no PROXY header: aborted
    bad.close()


def test_accept_proxy_v2(lb_factory):
    from workers.proxy_protocol import header_v2

    server = RecordingServer()
    port = free_port()
    text = config(port, f"    server s1 127.0.0.1:{server.port} send-proxy").replace(
        f"bind 127.0.0.1:{port}", f"bind 127.0.0.1:{port} accept-proxy")
    lb_factory(text)
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(header_v2(("2001:db8::1", 1234), ("2001:db8::2", 443)) + b"END")
    server.done.wait(10)
    assert server.data == b"PROXY TCP6 2001:db8::1 2001:db8::2 1234 443\r\nEND"
    conn.close()


def test_many_concurrent_sessions_byte_exact(lb_factory, tag_servers):
    tag_servers_list = tag_servers("s1", "s2", greet=False)
    port = free_port()
    lines = "\n".join(f"    server {s.name} 127.0.0.1:{s.port}" for s in tag_servers_list)
    lb_factory(config(port, lines))
    errors: list[str] = []

    def client(n: int) -> None:
        payload = os.urandom(200_000 + n)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
                threading.Thread(target=conn.sendall, args=(payload,), daemon=True).start()
                got = b""
                while len(got) < len(payload):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                if got != payload:
                    errors.append(f"client {n}: {len(got)} bytes")
        except OSError as exc:
            errors.append(f"client {n}: {exc}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def test_a_client_pausing_its_reads_is_not_a_server_timeout(lb_factory):
    """The server streams; the client stops reading for longer than `timeout server`.
    lb stops reading the server meanwhile (backpressure), which is not server
    inactivity: the whole stream arrives once the client reads again."""
    size = 8 << 20
    server = DigestServer(size)
    port = free_port()
    text = config(port, f"    server s1 127.0.0.1:{server.port}").replace("timeout server 30s", "timeout server 1s")
    lb_factory(text)
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    time.sleep(2.5)
    conn.shutdown(socket.SHUT_WR)
    assert digest_until_eof(conn) == (hashlib.sha256(pattern(size)).hexdigest(), size)
    conn.close()
