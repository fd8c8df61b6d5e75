"""A small blocking HTTP/2 client on python-hyper's `h2`, for tests that need frame-level control (tests only).

`H2Client` speaks h2 over TLS (ALPN) or cleartext (prior knowledge),
sends requests and raw frames, and collects what comes back per stream:
headers, body, trailers, resets, and the connection's GOAWAY.  Hostile
tests use `send_raw` to write frames `h2` itself would never produce.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings


class GracefulConnection(h2.connection.H2Connection):
    """h2's client connection, letting the streams in flight complete after a
    graceful GOAWAY (h2 alone refuses every frame after one)."""

    def _receive_goaway_frame(self, frame):  # type: ignore[no-untyped-def]
        state = self.state_machine.state
        result = super()._receive_goaway_frame(frame)
        if frame.error_code == 0:
            self.state_machine.state = state
        return result


@dataclass
class StreamResult:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    ended: bool = False
    reset: int | None = None  # error code of a RST_STREAM received

    @property
    def status(self) -> int:
        return int(dict(self.headers).get(b":status", b"0"))

    def header(self, name: bytes) -> bytes | None:
        return dict(self.headers).get(name)

    @property
    def done(self) -> bool:
        return self.ended or self.reset is not None


class H2Client:
    def __init__(self, port: int, tls: bool = False, window: int | None = None, auto_ack: bool = True,
                 timeout: float = 10.0) -> None:  # fmt: skip
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.set_alpn_protocols(["h2"])
            self.sock: socket.socket = context.wrap_socket(raw, server_hostname="lb.test")
            assert self.sock.selected_alpn_protocol() == "h2"  # type: ignore[attr-defined]
        else:
            self.sock = raw
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.conn = GracefulConnection(config)
        if window is not None:
            self.conn.local_settings = h2.settings.Settings(
                client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.conn.initiate_connection()
        self.auto_ack = auto_ack  # False: the test acknowledges received data itself (small windows)
        self.streams: dict[int, StreamResult] = {}
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.closed = False
        self.remote_settings: dict[int, int] = {}
        self.pings: list[bytes] = []
        self.flush()

    # -- sending -------------------------------------------------------------------------

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_raw(self, data: bytes) -> None:
        self.flush()
        self.sock.sendall(data)

    def request(self, method: str, path: str, headers: list[tuple[str, str]] | None = None, body: bytes | None = None,
                authority: str = "lb.test", scheme: str = "https", end: bool = True) -> int:  # fmt: skip
        stream_id = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":path", path), (":scheme", scheme), (":authority", authority)]
        fields += headers or []
        encoded = [(n.encode(), v.encode()) for n, v in fields]
        self.conn.send_headers(stream_id, encoded, end_stream=end and not body)
        self.streams[stream_id] = StreamResult()
        self.flush()
        if body:
            self.send_body(stream_id, body, end=end)
        return stream_id

    def send_body(self, stream_id: int, body: bytes, end: bool = True) -> None:
        """Send `body` as the windows allow, reading what comes meanwhile."""
        view = memoryview(body)
        while view:
            window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if window <= 0:
                self.read_once()
                continue
            self.conn.send_data(stream_id, bytes(view[:window]))
            view = view[window:]
            self.flush()
        if end:
            self.conn.end_stream(stream_id)
            self.flush()

    # -- receiving ----------------------------------------------------------------------------

    def read_once(self, timeout: float | None = None) -> bool:
        """One recv and its events; False when the connection closed."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            events = []
        for event in events:
            self.on_event(event)
        self.flush()
        return True

    def on_event(self, event: h2.events.Event) -> None:
        stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.ResponseReceived) and stream is not None:
            stream.headers = list(event.headers)
        elif isinstance(event, h2.events.InformationalResponseReceived):
            pass
        elif isinstance(event, h2.events.DataReceived) and stream is not None:
            stream.body += event.data
            if self.auto_ack:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived) and stream is not None:
            stream.trailers = list(event.headers)
        elif isinstance(event, h2.events.StreamEnded) and stream is not None:
            stream.ended = True
        elif isinstance(event, h2.events.StreamReset) and stream is not None:
            stream.reset = int(event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self.remote_settings.update({int(k): v.new_value for k, v in event.changed_settings.items()})
        elif isinstance(event, h2.events.PingReceived):
            self.pings.append(event.ping_data)

    def wait(self, *stream_ids: int, timeout: float = 10.0) -> list[StreamResult]:
        """Read until every stream named is done (or the connection closes)."""
        deadline = time.monotonic() + timeout
        while not all(self.streams[s].done for s in stream_ids):
            if self.closed or time.monotonic() > deadline:
                break
            self.read_once(timeout=max(0.05, deadline - time.monotonic()))
        return [self.streams[s] for s in stream_ids]

    def wait_closed(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            try:
                self.read_once(timeout=max(0.05, deadline - time.monotonic()))
            except socket.timeout:
                break
        return self.closed

    def get(self, path: str, **kwargs: object) -> StreamResult:
        stream_id = self.request("GET", path, **kwargs)  # type: ignore[arg-type]
        return self.wait(stream_id)[0]

    def close(self) -> None:
        try:
            self.conn.close_connection()
            self.flush()
        except (OSError, h2.exceptions.ProtocolError):
            pass
        self.sock.close()

    def __enter__(self) -> "H2Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RawH2:
    """A frame-level HTTP/2 client without a state machine, for hostile tests:
    it sends exactly the frames it is told (hpack-encoded headers included) and
    records what lb answers per stream (status, body, RST_STREAM code) and GOAWAY."""

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        import hpack
        from hyperframe.frame import SettingsFrame

        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.encoder, self.decoder = hpack.Encoder(), hpack.Decoder()
        self.buffer = b""
        self.statuses: dict[int, int] = {}
        self.bodies: dict[int, bytes] = {}
        self.ended: set[int] = set()
        self.resets: dict[int, int] = {}
        self.goaway: int | None = None
        self.closed = False
        self.sock.sendall(self.PREFACE + SettingsFrame(0).serialize())

    def headers(self, stream_id: int, fields: list[tuple[bytes, bytes]], end_stream: bool = True,
                end_headers: bool = True) -> None:  # fmt: skip
        from hyperframe.frame import HeadersFrame

        frame = HeadersFrame(stream_id)
        frame.data = self.encoder.encode(fields)
        if end_stream:
            frame.flags.add("END_STREAM")
        if end_headers:
            frame.flags.add("END_HEADERS")
        self.send(frame.serialize())

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def read(self, until: float = 2.0, streams: tuple[int, ...] = ()) -> None:
        """Read frames for `until` seconds, until the connection closes, or until
        every stream of `streams` is ended or reset."""
        from hyperframe.frame import (DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame, RstStreamFrame,
                                      SettingsFrame, WindowUpdateFrame)  # fmt: skip

        deadline = time.monotonic() + until
        while not self.closed and time.monotonic() < deadline:
            if streams and all(s in self.ended or s in self.resets for s in streams):
                return
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return
            self.buffer += data
            while len(self.buffer) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                if len(self.buffer) < 9 + length:
                    break
                frame.parse_body(memoryview(self.buffer[9 : 9 + length]))
                self.buffer = self.buffer[9 + length :]
                if isinstance(frame, HeadersFrame):
                    fields = dict(self.decoder.decode(frame.data, raw=True))
                    if b":status" in fields:
                        self.statuses[frame.stream_id] = int(fields[b":status"])
                elif isinstance(frame, DataFrame):
                    self.bodies[frame.stream_id] = self.bodies.get(frame.stream_id, b"") + frame.data
                    if frame.flow_controlled_length:
                        for target in (0, frame.stream_id):
                            update = WindowUpdateFrame(target)
                            update.window_increment = frame.flow_controlled_length
                            self.send(update.serialize())
                elif isinstance(frame, RstStreamFrame):
                    self.resets[frame.stream_id] = frame.error_code
                elif isinstance(frame, GoAwayFrame):
                    self.goaway = frame.error_code
                elif isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                    self.send(SettingsFrame(0, flags=["ACK"]).serialize())
                elif isinstance(frame, PingFrame) and "ACK" not in frame.flags:
                    self.send(PingFrame(0, opaque_data=frame.opaque_data, flags=["ACK"]).serialize())
                if "END_STREAM" in frame.flags:
                    self.ended.add(frame.stream_id)

    def close(self) -> None:
        self.sock.close()
