"""mode tcp: relay bytes between a client and a server (worker).

One TcpSession per accepted connection.  Each direction holds at most one
pending chunk: a side is not read again until what it sent is fully
written to the other side, so memory per session is bounded by two
buffers (backpressure).  Half-closes are propagated with shutdown(SHUT_WR),
and the session ends once both directions have finished.
"""

from __future__ import annotations

import selectors
import socket
from typing import Any

from lb.logs.record import LogRecord
from workers.runtime import C_BYTES_IN, C_BYTES_OUT, C_SESSIONS, BackendRuntime, FrontendRuntime, ServerRuntime
from workers.stream import WOULD_BLOCK, Stream
from workers.upstream import Connector

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
CHUNK = 65536


class TcpSession(Stream):
    def __init__(self, worker: Any, frontend: FrontendRuntime, sock: socket.socket,
                 peer: tuple[str, int], accept_proxy: bool = False, tls: Any = None) -> None:  # fmt: skip
        super().__init__(worker, frontend, sock, peer, accept_proxy, tls)
        self.server_sock: socket.socket | None = None
        self.server: ServerRuntime | None = None
        self.backend: BackendRuntime | None = None
        self.connector: Connector | None = None
        self.to_server: memoryview | None = None  # pending client -> server bytes
        self.to_client: memoryview | None = None  # pending server -> client bytes
        self.client_eof = False
        self.server_eof = False
        self.client_mask = 0
        self.server_mask = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.last_client = self.last_server = self.loop.now
        self.timer: Any = None
        self.rt = 0

    # -- establishing --------------------------------------------------------

    def on_ready(self) -> None:
        """Stream facts are known (after the PROXY header, if any): pick a backend."""
        self.worker.request_counter += 1
        self.rt = self.worker.request_counter  # %rt: this stream's number in the worker
        backend = self.worker.runtime.choose_backend(self.frontend, self)
        if backend is None:
            self.finish("PR")
            return
        self.backend = backend
        backend.active_streams += 1
        self.connector = Connector(
            self.loop, backend, self, self.on_connected, self.on_connect_failed,
            (self.proxy_src, self.proxy_dst), self.frontend_port,
        )  # fmt: skip
        self.connector.start()

    def on_connected(self, sock: socket.socket, server: ServerRuntime) -> None:
        self.server_sock, self.server = sock, server
        self.last_client = self.last_server = self.loop.now
        self.update_masks()
        self.arm_timer()

    def on_connect_failed(self, term: str) -> None:
        self.finish(term)

    # -- relaying ------------------------------------------------------------

    def on_client_event(self, mask: int) -> None:
        if mask & READ and not self.closed:
            self.pump(client_side=True)
        if mask & WRITE and not self.closed:
            self.flush(client_side=False)

    def on_server_event(self, mask: int) -> None:
        if mask & READ and not self.closed:
            self.pump(client_side=False)
        if mask & WRITE and not self.closed:
            self.flush(client_side=True)

    def pump(self, client_side: bool) -> None:
        """Read one chunk from a side and write as much as possible to the other.

        Reads land in the worker's shared scratch buffer (no allocation per
        read); only the unsent tail of a partial write is copied out."""
        src, dst = (self.client, self.server_sock) if client_side else (self.server_sock, self.client)
        scratch = self.worker.scratch
        try:
            size = src.recv_into(scratch)
        except WOULD_BLOCK:
            return
        except OSError:
            self.finish("CD" if client_side else "SD")
            return
        now = self.loop.now
        if not size:
            if client_side:
                self.last_client = now
            else:
                self.last_server = now
            self.on_eof(client_side)
            return
        data = scratch[:size]
        try:
            sent = dst.send(data)
        except WOULD_BLOCK:
            sent = 0
        except OSError:
            self.finish("SD" if client_side else "CD")
            return
        if client_side:
            self.last_client = self.last_server = now
            self.bytes_in += size
            if sent < size:
                self.to_server = memoryview(bytes(data[sent:]))
                self.update_masks()
        else:
            self.last_client = self.last_server = now
            self.bytes_out += size
            if sent < size:
                self.to_client = memoryview(bytes(data[sent:]))
                self.update_masks()

    def flush(self, client_side: bool) -> None:
        """Write the pending bytes of one direction (client_side: client -> server)."""
        pending, dst = (self.to_server, self.server_sock) if client_side else (self.to_client, self.client)
        if pending is None:
            return
        try:
            sent = dst.send(pending)
        except WOULD_BLOCK:
            return
        except OSError:
            self.finish("SD" if client_side else "CD")
            return
        if client_side:
            self.last_server = self.loop.now
        else:
            self.last_client = self.loop.now
        rest = pending[sent:] if sent < len(pending) else None
        if client_side:
            self.to_server = rest
        else:
            self.to_client = rest
        if rest is None:
            eof = self.client_eof if client_side else self.server_eof
            if eof:
                self.shutdown_write(self.server_sock if client_side else self.client)
            self.update_masks()
            self.maybe_done()

    def on_eof(self, client_side: bool) -> None:
        if client_side:
            self.client_eof = True
            if self.to_server is None:
                self.shutdown_write(self.server_sock)
        else:
            self.server_eof = True
            if self.to_client is None:
                self.shutdown_write(self.client)
        self.update_masks()
        self.maybe_done()

    @staticmethod
    def shutdown_write(sock: socket.socket | None) -> None:
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def maybe_done(self) -> None:
        if self.client_eof and self.server_eof and self.to_server is None and self.to_client is None:
            self.finish("--")

    def update_masks(self) -> None:
        """Read a side only while nothing it sent is pending; write while bytes wait for it."""
        client_mask = (0 if self.client_eof or self.to_server is not None else READ) | \
            (WRITE if self.to_client is not None else 0)  # fmt: skip
        server_mask = (0 if self.server_eof or self.to_client is not None else READ) | \
            (WRITE if self.to_server is not None else 0)  # fmt: skip
        if client_mask != self.client_mask:
            self.client_mask = self.set_mask(self.client, self.client_mask, client_mask, self.on_client_event)
        if server_mask != self.server_mask and self.server_sock is not None:
            self.server_mask = self.set_mask(self.server_sock, self.server_mask, server_mask, self.on_server_event)

    # -- timeouts --------------------------------------------------------------

    def arm_timer(self) -> None:
        timeouts, be = self.frontend.timeouts, self.backend.timeouts if self.backend else None
        tunnel = be.tunnel if be else None
        self.client_timeout = (tunnel or timeouts.client or 0) / 1000
        self.server_timeout = (tunnel or (be.server if be else 0) or 0) / 1000
        self.reschedule()

    def reschedule(self) -> None:
        deadlines = []
        if self.client_timeout:
            deadlines.append(self.last_client + self.client_timeout)
        if self.server_timeout:
            deadlines.append(self.last_server + self.server_timeout)
        if deadlines:
            self.timer = self.loop.call_at(min(deadlines), self.on_timer)

    def on_timer(self) -> None:
        """A side times out only when lb waits on it: a side paused because the other
        does not take its data is not inactive (backpressure is not a timeout)."""
        if self.closed:
            return
        now = self.loop.now
        if self.to_server is not None:  # waiting for the server to take data: the client is paused
            self.last_client = now
        if self.to_client is not None:  # waiting for the client: the server is paused
            self.last_server = now
        if self.client_timeout and now >= self.last_client + self.client_timeout:
            self.finish("cD")
        elif self.server_timeout and now >= self.last_server + self.server_timeout:
            self.finish("sD")
        else:
            self.reschedule()

    # -- ending ----------------------------------------------------------------

    def release(self) -> None:
        """Close the server side and give back its slot (before logging, as HAProxy)."""
        if self.timer is not None:
            self.timer.cancel()
        if self.connector is not None:
            self.connector.cancel()
        if self.server_sock is not None:
            self.unregister(self.server_sock)
            self.server_sock.close()
            self.server_sock = None
        if self.server is not None:
            self.server.count(C_SESSIONS)
            self.server.count(C_BYTES_IN, self.bytes_in)
            self.server.count(C_BYTES_OUT, self.bytes_out)
            self.server.drop_conn()
        if self.backend is not None:
            self.backend.active_streams -= 1
            self.backend.count(C_SESSIONS)
            self.backend.count(C_BYTES_IN, self.bytes_in)
            self.backend.count(C_BYTES_OUT, self.bytes_out)

    def fill_record(self, record: LogRecord, term: str) -> None:
        connector = self.connector
        record.backend = self.backend.name if self.backend else None
        tried = self.server or (connector.server if connector is not None else None)
        record.server = tried.name if tried else None  # HAProxy names the last server tried
        if tried is not None:
            record.server_ip, record.server_port = tried.address
        record.t_queue = connector.t_queue if connector else -1
        record.t_connect = connector.t_connect if connector else -1
        if connector is not None:
            record.retries, record.redispatched = connector.retries_done, connector.redispatched
        record.bytes_out, record.bytes_in = self.bytes_out, self.bytes_in
        record.term_state = term
        record.srvconn = self.server.current_conns() if self.server else 0
        record.beconn = self.backend.current_conns() if self.backend else 0
        record.backend_queue = len(self.backend.queue) if self.backend else 0
        record.request_counter = self.rt
