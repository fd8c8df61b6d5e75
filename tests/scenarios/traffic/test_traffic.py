"""Traffic control end to end: a real `lbctl start` with 2 workers, real clients and servers on loopback.

Rate limits exact across workers with new connections, expiry, eviction,
entries kept across reloads, connection-rate rejects, tarpit, stick on
src, `show table` through the stats socket, and SSL pass-through routed by
SNI with real `ssl` clients and servers (upper-case SNI, no SNI, a
ClientHello split over two segments, bytes that are not TLS).

Clients take distinct source addresses (127.0.0.x) to be distinct keys.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.runtime_api.lab import cli
from tests.scenarios.http.httpkit import make_certificate, read_response
from tests.scenarios.http.origins import Origin
from tests.support import LbProcess, TagServer, free_port, wait_until

POINTER = "0x"


def show(sock: str, command: str) -> str:
    return cli(sock, command).decode()


def entries(sock: str, table: str) -> list[str]:
    """The entry lines of `show table <table>`, without their address."""
    lines = show(sock, f"show table {table}").splitlines()[1:]
    return [line.split(": ", 1)[1] for line in lines if line.startswith(POINTER)]


def http_get(port: int, src: str = "127.0.0.1", path: str = "/") -> int:
    """One request on a new connection from `src`: the status."""
    with socket.socket() as sock:
        sock.settimeout(10)
        sock.bind((src, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: lb.test\r\nConnection: close\r\n\r\n".encode())
        return read_response(sock).status


HTTP_CONFIG = """
global
    nbproc 2
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    stick-table type ip size {size} expire {expire} store http_req_rate(10s),http_req_cnt,conn_cur
    http-request track-sc0 src
    http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt 5 }}
    default_backend be
backend be
    server o1 127.0.0.1:{origin}
"""


@pytest.fixture()
def http_lb(tmp_path: Path) -> Iterator[tuple[LbProcess, int, str, Origin]]:
    origin, port, sock = Origin("o1"), free_port(), str(tmp_path / "admin.sock")
    config = HTTP_CONFIG.format(sock=sock, port=port, origin=origin.port, size=3, expire="30s")
    lb = LbProcess(tmp_path, config).start()
    try:
        yield lb, port, sock, origin
    finally:
        lb.stop()
        origin.close()


# -- runs on the master alone ----------------------------------------------------------------


def test_show_table_through_the_stats_socket(http_lb) -> None:
    _lb, _port, sock, _origin = http_lb
    assert cli(sock, "show table") == b"# table: fe, type: ip, size:3, used:0\n\n"
    assert cli(sock, "set table fe key 10.1.2.3 data.http_req_cnt 4") == b"\n"
    answer = cli(sock, "show table fe")
    head, line, end = answer.split(b"\n", 2)
    assert head == b"# table: fe, type: ip, size:3, used:1" and end == b"\n"
    assert line.split(b": ", 1)[1].startswith(b"key=10.1.2.3 use=0 exp=")
    assert line.endswith(b" conn_cur=0 http_req_cnt=4 http_req_rate(10000)=0")
    assert cli(sock, "clear table fe key 10.1.2.3") == b"\n"
    assert cli(sock, "show table fe") == b"# table: fe, type: ip, size:3, used:0\n\n"
    assert cli(sock, "show table nosuch") == b"No such table\n\n"


def test_a_client_that_leaves_mid_request_releases_its_tracked_entry(http_lb) -> None:
    """`http-request track-sc0 src` counts the request in conn_cur; a client that resets
    while the server is still answering must give it back, as one that waits does."""
    _lb, port, sock, origin = http_lb
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(b"GET /delay/800 HTTP/1.1\r\nHost: lb.test\r\n\r\n")
    wait_until(lambda: origin.seen("/delay/800"), what="the request at the server")
    assert any("conn_cur=1" in line for line in entries(sock, "fe"))
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()  # a reset: lb ends the exchange in the middle (logged CD/CH)
    wait_until(lambda: any("conn_cur=0" in line for line in entries(sock, "fe")), what="conn_cur back to 0")
    assert http_get(port) == 200


def test_a_reload_keeps_the_entries_of_a_table_that_keeps_its_name_and_type(http_lb) -> None:
    lb, _port, sock, origin = http_lb
    cli(sock, "set table fe key 10.1.2.3 data.http_req_cnt 4")
    bigger = lb.path.read_text().replace("size 3 ", "size 10 ")
    lb.reload(bigger)
    assert [e.split(" exp=")[0] for e in entries(sock, "fe")] == ["key=10.1.2.3 use=0"]
    assert "http_req_cnt=4 " in entries(sock, "fe")[0]
    lb.reload(bigger.replace("type ip ", "type ipv6 "))
    assert entries(sock, "fe") == []  # another key type: a new table


# -- needs the engine's hooks ------------------------------------------------------------------


def test_a_rate_limit_is_exact_across_workers_with_new_connections(http_lb) -> None:
    """Each request on its own connection: the kernel spreads them over both
    workers, and exactly 5 per 10s pass."""
    lb, port, sock, _origin = http_lb
    statuses = [http_get(port) for _ in range(12)]
    assert statuses == [200] * 5 + [429] * 7
    line = entries(sock, "fe")[0]
    assert line.startswith("key=127.0.0.1 use=0 ") and "http_req_cnt=12 " in line and "conn_cur=0" in line
    assert len(set(lb.workers())) == 2


def test_bytes_of_http_exchanges_count_in_the_tracked_entry(tmp_path: Path) -> None:
    """bytes_in_cnt / bytes_out_cnt: the wire bytes from and to the client, request by request."""
    origin, port, sock = Origin("o1"), free_port(), str(tmp_path / "admin.sock")
    config = HTTP_CONFIG.format(sock=sock, port=port, origin=origin.port, size=10, expire="30s").replace(
        "store http_req_rate(10s),http_req_cnt,conn_cur", "store http_req_cnt,bytes_in_cnt,bytes_out_cnt")
    lb = LbProcess(tmp_path, config).start()
    try:
        request = b"GET /bytes HTTP/1.1\r\nHost: lb.test\r\nConnection: close\r\n\r\n"
        received = []
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                client.sendall(request)
                received.append(b"".join(iter(lambda: client.recv(65536), b"")))
        assert all(answer.startswith(b"HTTP/1.1 200") for answer in received)
        expected = (f"http_req_cnt=2 bytes_in_cnt={2 * len(request)} "
                    f"bytes_out_cnt={sum(map(len, received))}")  # fmt: skip
        assert wait_until(lambda: any(expected in line for line in entries(sock, "fe")), timeout=5), \
            entries(sock, "fe")  # fmt: skip
    finally:
        lb.stop()
        origin.close()


def test_entries_expire(tmp_path: Path) -> None:
    origin, port, sock = Origin("o1"), free_port(), str(tmp_path / "admin.sock")
    lb = LbProcess(tmp_path, HTTP_CONFIG.format(sock=sock, port=port, origin=origin.port, size=3, expire="1s")).start()
    try:
        assert http_get(port) == 200
        assert len(entries(sock, "fe")) == 1
        wait_until(lambda: entries(sock, "fe") == [], timeout=10, what="the entry to expire")
        # purged by the worker that wrote it at its next heartbeat (a second at most)
        wait_until(lambda: show(sock, "show table").startswith("# table: fe, type: ip, size:3, used:0"),
                   timeout=5, what="the expired entry purged")  # fmt: skip
    finally:
        lb.stop()
        origin.close()


def test_a_full_table_evicts_its_oldest_entry(http_lb) -> None:
    _lb, port, sock, _origin = http_lb
    for last in (1, 2, 3, 4):  # four clients in a table of three
        assert http_get(port, src=f"127.0.0.{last}") == 200
    keys = [line.split()[0] for line in entries(sock, "fe")]
    assert keys == ["key=127.0.0.2", "key=127.0.0.3", "key=127.0.0.4"]


def test_a_reload_keeps_counting_the_same_client(http_lb) -> None:
    lb, port, sock, _origin = http_lb
    assert [http_get(port) for _ in range(3)] == [200] * 3
    lb.reload()
    assert [http_get(port) for _ in range(4)] == [200, 200, 429, 429]


def test_a_tarpitted_request_is_held_while_a_later_one_is_answered(tmp_path: Path) -> None:
    """No timing threshold: the tarpitted request is sent first, a plain request
    on another connection is answered, and only then the tarpitted one, 429."""
    origin, port = Origin("o1"), free_port()
    head = HTTP_CONFIG.split("frontend fe")[0].replace("    stats socket {sock} mode 600 level admin\n", "")
    config = (head + "frontend fe\n    bind 127.0.0.1:{port}\n    timeout tarpit 3s\n"
              "    http-request tarpit deny_status 429 if {{ path /slow }}\n    default_backend be\n"
              "backend be\n    server o1 127.0.0.1:{origin}\n").format(port=port, origin=origin.port)
    lb = LbProcess(tmp_path, config).start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(b"GET /slow HTTP/1.1\r\nHost: lb.test\r\n\r\n")
            assert http_get(port) == 200
            slow.setblocking(False)
            with pytest.raises(BlockingIOError):
                slow.recv(1)  # still held
            slow.setblocking(True)
            assert read_response(slow).status == 429
    finally:
        lb.stop()
        origin.close()


TCP_CONFIG = """
global
    nbproc 2
    stats socket {sock} mode 600 level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    stick-table type ip size 100 expire 30s store conn_rate(10s),conn_cur
    tcp-request connection track-sc0 src
    tcp-request connection reject if {{ sc0_conn_rate gt 3 }}
    default_backend be
backend be
    balance roundrobin
    stick-table type ip size 100 expire 30m
    stick on src
    server a 127.0.0.1:{a}
    server b 127.0.0.1:{b}
"""


@pytest.fixture()
def tcp_lb(tmp_path: Path) -> Iterator[tuple[int, str]]:
    a, b = TagServer("a"), TagServer("b")
    port, sock = free_port(), str(tmp_path / "admin.sock")
    lb = LbProcess(tmp_path, TCP_CONFIG.format(sock=sock, port=port, a=a.port, b=b.port)).start()
    try:
        yield port, sock
    finally:
        lb.stop()
        a.close()
        b.close()


def tag_from(port: int, src: str) -> str:
    with socket.socket() as conn:
        conn.settimeout(5)
        conn.bind((src, 0))
        conn.connect(("127.0.0.1", port))
        data = conn.recv(64)
        if not data:
            raise ConnectionError("closed")
        return data.decode().strip()


def test_a_connection_rate_is_rejected_exactly(tcp_lb) -> None:
    port, _sock = tcp_lb
    seen = []
    for _ in range(5):
        try:
            seen.append(tag_from(port, "127.0.0.9"))
        except (ConnectionError, OSError):
            seen.append("rejected")
    assert seen[3:] == ["rejected", "rejected"] and "rejected" not in seen[:3]


def test_stick_on_src_keeps_a_client_on_its_server(tcp_lb) -> None:
    port, sock = tcp_lb
    first = {src: tag_from(port, src) for src in ("127.0.0.2", "127.0.0.3")}
    for _ in range(2):  # a third connection each: the frontend refuses a fourth within 10 s
        assert {src: tag_from(port, src) for src in first} == first
    assert any(line.endswith(f"server_key={first['127.0.0.2']}") for line in entries(sock, "be"))


# -- SSL pass-through by SNI --------------------------------------------------------------------

SNI_CONFIG = """
global
    nbproc 2
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend tls
    bind 127.0.0.1:{port}
    tcp-request inspect-delay 2s
    tcp-request content reject if {{ req.len gt 0 }} !{{ req.ssl_hello_type 1 }}
    tcp-request content accept if {{ req_ssl_hello_type 1 }}
    use_backend site_a if {{ req.ssl_sni -i a.lb.test }}
    default_backend site_b
backend site_a
    server a 127.0.0.1:{a}
backend site_b
    server b 127.0.0.1:{b}
"""


class TlsServer:
    """A TLS server answering its name to every connection (the certificate stays its own)."""

    def __init__(self, name: str, directory: Path) -> None:
        pem, self.cert = make_certificate(directory, (f"{name}.lb.test",))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pem)
        self.context.sni_callback = self._sni
        self.name = name
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(f"{self.name} {getattr(tls, 'sni', None)}\n".encode())
            except (OSError, ssl.SSLError):
                conn.close()

    @staticmethod
    def _sni(tls: ssl.SSLSocket, name: str | None, _context: ssl.SSLContext) -> None:
        tls.sni = name  # type: ignore[attr-defined]  (what the client sent, as sent)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def sni_lb(tmp_path: Path) -> Iterator[tuple[int, TlsServer, TlsServer]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = TlsServer("a", tmp_path / "a"), TlsServer("b", tmp_path / "b")
    port = free_port()
    lb = LbProcess(tmp_path, SNI_CONFIG.format(port=port, a=a.port, b=b.port)).start()
    try:
        yield port, a, b
    finally:
        lb.stop()
        a.close()
        b.close()


def tls_hello(port: int, sni: str | None, split_at: int | None = None) -> str:
    """A real TLS client (certificate not checked: each server has its own); with
    `split_at`, its ClientHello leaves in two segments."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=sni)
    first = True
    with raw:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                data = outgoing.read()
                if first and split_at is not None:
                    raw.sendall(data[:split_at])
                    time.sleep(0.05)  # two segments, not a timing assertion
                    data = data[split_at:]
                first = False
                raw.sendall(data)
                incoming.write(raw.recv(65536) or b"")
        raw.sendall(outgoing.read())
        while True:
            try:
                return tls.read(256).decode().strip()
            except ssl.SSLWantReadError:
                chunk = raw.recv(65536)
                if not chunk:
                    raise ConnectionError("closed") from None
                incoming.write(chunk)



@pytest.mark.parametrize("sni,answer", [("a.lb.test", "a a.lb.test"), ("A.LB.TEST", "a A.LB.TEST"),
                                        ("other.lb.test", "b other.lb.test"), (None, "b None")])  # fmt: skip
def test_tls_passes_through_routed_by_sni(sni_lb, sni: str | None, answer: str) -> None:
    port, _a, _b = sni_lb
    assert tls_hello(port, sni) == answer


def test_a_client_hello_split_over_two_segments_is_routed(sni_lb) -> None:
    port, _a, _b = sni_lb
    assert tls_hello(port, "a.lb.test", split_at=40) == "a a.lb.test"


def test_bytes_that_are_not_tls_are_rejected(sni_lb) -> None:
    port, _a, _b = sni_lb
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: a.lb.test\r\n\r\n")
        try:
            assert conn.recv(64) == b""
        except ConnectionResetError:
            pass


def test_a_silent_client_goes_to_the_default_backend_after_the_inspect_delay(sni_lb) -> None:
    """A client that sends nothing: once inspect-delay is over lb connects to the
    default backend (seen by the server, no timing assumed), where the hello then goes."""
    port, a, b = sni_lb
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        wait_until(lambda: b.accepted >= 1, timeout=10, what="the default backend to be connected")
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with context.wrap_socket(raw, server_hostname="a.lb.test") as tls:
            assert tls.recv(64).decode().strip() == "b a.lb.test"
    assert a.accepted == 0


def test_every_tls_helper_works_against_a_direct_server(tmp_path: Path) -> None:
    """The helpers of the skipped tests, checked now against the servers directly."""
    server = TlsServer("a", tmp_path)
    try:
        assert tls_hello(server.port, "A.LB.TEST") == "a A.LB.TEST"
        assert tls_hello(server.port, None, split_at=40) == "a None"
    finally:
        server.close()
