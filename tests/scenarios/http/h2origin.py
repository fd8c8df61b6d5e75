"""A threaded HTTP/2 (h2c, prior knowledge) origin on python-hyper's `h2` (tests only; threads of the test process).

It records each request (headers as received, body) and the connection it
came on, and answers by path:

    .../download/N   N bytes of PATTERN with content-length, sent as the windows allow
    .../echo         the request body without a length, then trailers `x-echo-size`
    .../nolength/N   N bytes of PATTERN without a length, ended by an empty DATA frame
    .../goaway/...   the default answer, then GOAWAY (NO_ERROR, this stream last) and close
    .../late-end/... its answer with content-length, but END_STREAM only once the
                     next request of the connection arrives
    anything else    200, body "h2o <path>", with content-length
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from tests.scenarios.http.origins import PATTERN


@dataclass
class H2Seen:
    headers: list[tuple[bytes, bytes]]
    connection: int
    body: bytearray = field(default_factory=bytearray)

    def header(self, name: bytes) -> bytes | None:
        return next((v for n, v in self.headers if n == name), None)


class H2Origin:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests: list[H2Seen] = []
        self.connections = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                index = self.connections
            threading.Thread(target=_Conn(self, conn, index).run, daemon=True).start()

    def close(self) -> None:
        self.sock.close()


class _Conn:
    def __init__(self, origin: H2Origin, sock: socket.socket, index: int) -> None:
        self.origin = origin
        self.sock = sock
        self.index = index
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.seen: dict[int, H2Seen] = {}
        self.pending: dict[int, tuple[bytes, list[tuple[bytes, bytes]] | None]] = {}  # body left, trailers
        self.late_ends: list[int] = []

    def run(self) -> None:
        self.h2.initiate_connection()
        self.sock.sendall(self.h2.data_to_send())
        try:
            while data := self.sock.recv(65536):
                for event in self.h2.receive_data(data):
                    self.on_event(event)
                self.send_pending()
                self.sock.sendall(self.h2.data_to_send())
        except (OSError, h2.exceptions.ProtocolError):
            pass
        self.sock.close()

    def on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            for stream_id in self.late_ends:
                self.h2.end_stream(stream_id)
            self.late_ends.clear()
            seen = H2Seen(list(event.headers), self.index)
            self.seen[event.stream_id] = seen
            with self.origin.lock:
                self.origin.requests.append(seen)
        elif isinstance(event, h2.events.DataReceived):
            self.seen[event.stream_id].body += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self.answer(event.stream_id, self.seen[event.stream_id])

    def answer(self, stream_id: int, seen: H2Seen) -> None:
        path = (seen.header(b":path") or b"").decode()
        head = seen.header(b":method") == b"HEAD"
        if "/download/" in path:
            size = int(path.rsplit("/", 1)[1])
            body = (PATTERN * (size // len(PATTERN) + 1))[:size]
            fields = [(b":status", b"200"), (b"content-length", b"%d" % size)]
            trailers = None
        elif "/nolength/" in path:
            body = PATTERN[: int(path.rsplit("/", 1)[1])]
            fields = [(b":status", b"200")]
            trailers = None
        elif path.endswith("/echo"):
            body = bytes(seen.body)
            fields = [(b":status", b"200"), (b"content-type", b"application/octet-stream")]
            trailers = [(b"x-echo-size", b"%d" % len(body))]
        else:
            body = b"h2o " + path.encode()
            fields = [(b":status", b"200"), (b"content-length", b"%d" % len(body))]
            trailers = None
        if head:
            self.h2.send_headers(stream_id, fields, end_stream=True)
            return
        self.h2.send_headers(stream_id, fields)
        self.pending[stream_id] = (body, trailers)

    def send_pending(self) -> None:
        for stream_id in list(self.pending):
            body, trailers = self.pending[stream_id]
            while body:
                room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size, len(body))
                if room <= 0:
                    break
                self.h2.send_data(stream_id, body[:room])
                body = body[room:]
            if body:
                self.pending[stream_id] = (body, trailers)
                continue
            del self.pending[stream_id]
            path = self.seen[stream_id].header(b":path") or b""
            if b"/late-end/" in path:
                self.late_ends.append(stream_id)
            elif trailers:
                self.h2.send_headers(stream_id, trailers, end_stream=True)
            else:
                self.h2.end_stream(stream_id)
            if b"/goaway/" in path:
                self.h2.close_connection(last_stream_id=stream_id)
                self.sock.sendall(self.h2.data_to_send())
                self.sock.shutdown(socket.SHUT_WR)
