"""PROXY headers sent by checks, as bytes received by a real loopback server (§8).

HAProxy's lab: a `send-proxy-v2` server gets the LOCAL command
`0d0a0d0a000d0a515549540a 20 00 0000`; a `send-proxy` server gets a real
v1 line built from the check socket; `port`/`addr` drop the header unless
`check-send-proxy` is set.
"""

import pytest

from lb.checker import status as st
from lb.checker.proxyhdr import V2_LOCAL, v1_line
from tests.checker.helpers import Listener, parse, read_all, run_probe, target_of

V2_LOCAL_HEX = "0d0a0d0a000d0a515549540a" "20" "00" "0000"


class Recorder:
    """Records the first bytes of each connection with the client's port, then answers `reply`."""

    def __init__(self, reply: bytes = b"") -> None:
        self.got: list[tuple[int, bytes]] = []
        self.reply = reply
        self.listener = Listener(self._serve)
        self.port = self.listener.port

    def _serve(self, conn) -> None:
        client_port = self.listener.peers[-1][1]  # the check may have reset the socket already
        conn.settimeout(2.0)
        data = b""
        try:
            while b"\r\n" not in data or len(data) < 16:
                chunk = conn.recv(200)
                if not chunk:
                    break
                data += chunk
            if self.reply:
                conn.sendall(self.reply)
        except OSError:  # plain checks reset the connection as soon as it is established
            pass
        data += read_all(conn, 0.3)
        self.got.append((client_port, data))

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.close()


def check(tmp_path, server_line: str, extra: str = "") -> None:
    outcome = run_probe(target_of(parse(tmp_path, f"backend be\n{extra}  {server_line}\n")))
    assert outcome.status in (st.L4OK, st.L7OK), outcome


def wait_got(rec: Recorder) -> tuple[int, bytes]:
    from tests.support import wait_until

    wait_until(lambda: rec.got, 5.0, what="the check connection to be recorded")
    return rec.got[-1]


def test_v2_local_constant_matches_the_lab():
    assert V2_LOCAL.hex() == V2_LOCAL_HEX


def test_send_proxy_v2_check_sends_local(tmp_path, recorder):
    check(tmp_path, f"server s 127.0.0.1:{recorder.port} check send-proxy-v2")
    _port, data = wait_got(recorder)
    assert data.hex() == V2_LOCAL_HEX


def test_send_proxy_v1_check_sends_a_real_line(tmp_path, recorder):
    check(tmp_path, f"server s 127.0.0.1:{recorder.port} check send-proxy")
    client_port, data = wait_got(recorder)
    assert data == f"PROXY TCP4 127.0.0.1 127.0.0.1 {client_port} {recorder.port}\r\n".encode()


def test_no_header_when_port_is_set(tmp_path, recorder):
    check(tmp_path, f"server s 127.0.0.1:1 check send-proxy-v2 port {recorder.port}")
    assert wait_got(recorder)[1] == b""


def test_check_send_proxy_restores_it(tmp_path, recorder):
    check(tmp_path, f"server s 127.0.0.1:1 check send-proxy-v2 port {recorder.port} check-send-proxy")
    assert wait_got(recorder)[1].hex() == V2_LOCAL_HEX


def test_tcp_check_connect_send_proxy(tmp_path, recorder):
    extra = "  option tcp-check\n  tcp-check connect send-proxy\n"
    check(tmp_path, f"server s 127.0.0.1:{recorder.port} check", extra)
    client_port, data = wait_got(recorder)
    assert data == f"PROXY TCP4 127.0.0.1 127.0.0.1 {client_port} {recorder.port}\r\n".encode()


def test_explicit_connect_without_default_does_not_inherit_send_proxy(tmp_path, recorder):
    check(tmp_path, f"server s 127.0.0.1:{recorder.port} check send-proxy-v2",
          "  option tcp-check\n  tcp-check connect\n")
    assert wait_got(recorder)[1] == b""


def test_http_check_request_follows_the_header():
    rec = Recorder(reply=b"HTTP/1.0 200 OK\r\n\r\n")
    try:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            check(Path(tmp), f"server s 127.0.0.1:{rec.port} check send-proxy-v2", "  option httpchk GET /h\n")
        _port, data = wait_got(rec)
    finally:
        rec.close()
    assert data.startswith(V2_LOCAL + b"GET /h HTTP/1.0\r\n")


def test_v1_line_ipv6():
    assert v1_line(("::1", 5000, 0, 0), ("::1", 80, 0, 0), 10) == b"PROXY TCP6 ::1 ::1 5000 80\r\n"
