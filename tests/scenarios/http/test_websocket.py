"""WebSocket through lb: the handshake is routed by ACL, then the connection is a tunnel under `timeout tunnel`.

One lb with `timeout client 1s` / `timeout server 1s`.  The handshake
(`Connection: Upgrade`, `Upgrade: websocket`) is routed by an ACL on the
Upgrade header and the path to a small echo server on a raw socket (it
does the 101 handshake and echoes unmasked frames); the same path without
Upgrade goes to an ordinary origin.  The client is websocket-client.
Proves: text and large binary frames echo intact; the server sees the
upgrade handshake as sent; with `timeout tunnel 1h` the tunnel outlives
the client/server timeouts; with `timeout tunnel 1s` an idle tunnel is
closed; the exchange is logged with status 101 once the tunnel ends.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import time
from typing import Iterator

import pytest
import websocket

from tests.scenarios.http.httpkit import request, wait_log
from tests.scenarios.http.origins import Origin, RawServer
from tests.support import LbProcess, free_port

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONFIG = """
global
    nbproc 2
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:{port}
    acl is_websocket hdr(Upgrade) -i websocket
    use_backend be_ws       if is_websocket {{ path_beg /chat }}
    use_backend be_ws_short if is_websocket {{ path_beg /short }}
    default_backend be_http
backend be_ws
    timeout tunnel 1h
    server ws1 127.0.0.1:{ws}
backend be_ws_short
    timeout tunnel 1s
    server ws2 127.0.0.1:{ws}
backend be_http
    server web 127.0.0.1:{http}
"""


class EchoServer:
    """A WebSocket echo server on a raw socket (RFC 6455 handshake and framing, no extensions)."""

    def __init__(self) -> None:
        self.handshakes: list[bytes] = []
        self.raw = RawServer(self.serve)
        self.port = self.raw.port

    def serve(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        self.handshakes.append(head)
        key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))  # fmt: skip
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")  # fmt: skip
        reader = conn.makefile("rb")
        while True:
            frame = self.read_frame(reader)
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 0x8:  # close: answer it and stop
                conn.sendall(self.frame(0x8, payload[:2]))
                return
            conn.sendall(self.frame(0xA if opcode == 0x9 else opcode, payload))

    @staticmethod
    def read_frame(reader) -> tuple[int, bytes] | None:
        header = reader.read(2)
        if len(header) < 2:
            return None
        opcode, length = header[0] & 0x0F, header[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", reader.read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", reader.read(8))[0]
        mask = reader.read(4) if header[1] & 0x80 else b"\0\0\0\0"
        data = reader.read(length)
        return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data)) if header[1] & 0x80 else data

    @staticmethod
    def frame(opcode: int, payload: bytes) -> bytes:
        length = len(payload)
        if length < 126:
            return bytes([0x80 | opcode, length]) + payload
        if length < 1 << 16:
            return bytes([0x80 | opcode, 126]) + struct.pack("!H", length) + payload
        return bytes([0x80 | opcode, 127]) + struct.pack("!Q", length) + payload


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LbProcess, int, EchoServer, Origin]]:
    echo, origin = EchoServer(), Origin("web")
    port = free_port()
    lb = LbProcess(tmp_path_factory.mktemp("ws"), CONFIG.format(port=port, ws=echo.port, http=origin.port))
    try:
        lb.start()
        yield lb, port, echo, origin
    finally:
        lb.stop()
        echo.raw.close()
        origin.close()


def open_ws(port: int, path: str) -> websocket.WebSocket:
    return websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=10)


def test_text_and_binary_frames_echo_through_the_tunnel(setup) -> None:
    lb, port, echo, _ = setup
    ws = open_ws(port, "/chat/room1")
    try:
        for text in ("hello", "é" * 300, "x" * 70000):
            ws.send(text)
            assert ws.recv() == text
        blob = bytes(range(256)) * 4096  # 1 MiB
        ws.send_binary(blob)
        assert ws.recv() == blob
        ws.ping(b"are you there")
        opcode, data = ws.recv_data(control_frame=True)
        assert (opcode, data) == (websocket.ABNF.OPCODE_PONG, b"are you there")
    finally:
        ws.close()
    handshake = echo.handshakes[-1].lower()
    assert handshake.startswith(b"get /chat/room1 http/1.1\r\n")
    assert b"\r\nupgrade: websocket\r\n" in handshake and b"\r\nconnection: upgrade\r\n" in handshake
    assert b"\r\nsec-websocket-key: " in handshake and b"\r\nsec-websocket-version: 13\r\n" in handshake


def test_handshake_routing_by_acl(setup) -> None:
    lb, port, echo, origin = setup
    count = len(echo.handshakes)
    plain = request(port, target="/chat/room1")  # no Upgrade: the ordinary backend
    assert plain.status == 200 and plain.body == b"web /chat/room1\n"
    assert len(echo.handshakes) == count
    assert origin.seen("/chat/room1")[-1].header("Upgrade") is None


def test_timeout_tunnel_outlives_client_and_server_timeouts(setup) -> None:
    lb, port, echo, _ = setup
    ws = open_ws(port, "/chat/long")
    try:
        ws.send("before")
        assert ws.recv() == "before"
        time.sleep(2.5)  # idle longer than timeout client/server (1s), shorter than timeout tunnel
        ws.send("after")
        assert ws.recv() == "after"
    finally:
        ws.close()
    wait_log(lb, " fe be_ws/ws1 ", " 101 ", '"GET /chat/long HTTP/1.1"')


def test_idle_tunnel_is_closed_after_timeout_tunnel(setup) -> None:
    lb, port, echo, _ = setup
    ws = open_ws(port, "/short/idle")
    ws.send("ping")
    assert ws.recv() == "ping"
    ws.settimeout(10)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()  # nothing more comes; lb closes the idle tunnel
    ws.close()
    line = wait_log(lb, " fe be_ws_short/ws2 ", '"GET /short/idle HTTP/1.1"')
    assert " 101 " in line
