"""What every client stream has, whatever its mode (worker).

Stream is the base of TcpSession and HttpSession: the accepted socket and
its addresses, the optional PROXY header of `bind ... accept-proxy`, event
registration helpers, and the end of the stream: release, log, counters.
Subclasses implement on_ready(), release() and fill_record().
"""

from __future__ import annotations

import selectors
import socket
import ssl
import time
from typing import Any, Callable

from lb.logs.record import LogRecord
from workers.proxy_protocol import ProxyHeaderError, parse_header
from workers.runtime import FrontendRuntime

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
# What a non-blocking read or write raises when it would block (TLS included).
WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
PROXY_PEEK = 536  # v1 is at most 107 bytes; v2 with TLVs is bounded by the 16-byte header's length


class Stream:
    request: Any = None  # the current HTTP request (keyed balancing reads it)

    def __init__(self, worker: Any, frontend: FrontendRuntime, sock: socket.socket,
                 peer: tuple[str, int], accept_proxy: bool = False, tls: ssl.SSLContext | None = None) -> None:  # fmt: skip
        self.worker = worker
        self.loop = worker.loop
        self.frontend = frontend
        self.client = sock
        self.client_ip, self.client_port = peer
        local = sock.getsockname()
        self.frontend_ip, self.frontend_port = local[0], local[1]
        self.proxy_src: tuple[str, int] | None = (self.client_ip, self.client_port)
        self.proxy_dst: tuple[str, int] | None = (self.frontend_ip, self.frontend_port)
        self.accept_proxy = accept_proxy
        self.tls = tls
        self.client_mask = 0
        self.handshake_ms = 0
        self.accept_time = self.loop.now
        self.accept_date = time.time()
        self.closed = False
        self.ssl = False
        self.start_timer: Any = None  # bounds the PROXY header and the TLS handshake (timeout client)
        frontend.conn_opened()
        worker.stream_opened(self)

    def start(self) -> None:
        logger = self.frontend.logger
        if logger is not None and logger.logs_at_accept and not self.accept_proxy:
            self.log_accept(logger)
        timeout = self.frontend.timeouts.client
        if (self.accept_proxy or self.tls) and timeout:
            self.start_timer = self.loop.call_later(timeout / 1000, self.finish, "cR")
        if self.accept_proxy:
            self.client_mask = self.set_mask(self.client, 0, READ, self.on_proxy_header)
            return
        self.after_proxy_header()

    def after_proxy_header(self) -> None:
        if self.tls is None:
            if self.start_timer is not None:
                self.start_timer.cancel()
            self.on_ready()
            return
        # TLS termination: the handshake runs on the loop before any request
        self.client_mask = self.set_mask(self.client, self.client_mask, 0, self.on_tls_event)
        self.client = self.tls.wrap_socket(self.client, server_side=True, do_handshake_on_connect=False)
        self.ssl = True
        self.client_mask = self.set_mask(self.client, 0, READ, self.on_tls_event)
        self.on_tls_event(READ)

    def on_tls_event(self, mask: int) -> None:
        try:
            self.client.do_handshake()
        except ssl.SSLWantReadError:
            self.client_mask = self.set_mask(self.client, self.client_mask, READ, self.on_tls_event)
            return
        except ssl.SSLWantWriteError:
            self.client_mask = self.set_mask(self.client, self.client_mask, WRITE, self.on_tls_event)
            return
        except (OSError, ValueError):
            self.finish("CR")
            return
        self.handshake_ms = int((self.loop.now - self.accept_time) * 1000)
        self.client_mask = self.set_mask(self.client, self.client_mask, 0, self.on_tls_event)
        if self.start_timer is not None:
            self.start_timer.cancel()
        self.on_ready()

    def on_proxy_header(self, mask: int) -> None:
        """Consume exactly the PROXY header (peek first, so no payload byte is taken)."""
        try:
            data = self.client.recv(PROXY_PEEK, socket.MSG_PEEK)
            parsed = parse_header(data) if data else None
        except (OSError, ProxyHeaderError):
            self.finish("PR")
            return
        if not data:
            self.finish("CR")
            return
        if parsed is None:
            return
        length, src, dst = parsed
        self.client.recv(length)
        if src is not None and dst is not None:
            self.client_ip, self.client_port = src
            self.frontend_ip, self.frontend_port = dst
            self.proxy_src, self.proxy_dst = src, dst
        self.client_mask = self.set_mask(self.client, READ, 0, self.on_proxy_header)
        logger = self.frontend.logger
        if logger is not None and logger.logs_at_accept:
            self.log_accept(logger)
        self.after_proxy_header()

    def on_ready(self) -> None:
        raise NotImplementedError

    def log_accept(self, logger: Any) -> None:
        """`log` without a format: HAProxy's `Connect from ...` line at accept."""
        record = LogRecord()
        record.client_ip, record.client_port = self.client_ip, self.client_port
        record.frontend_ip, record.frontend_port = self.frontend_ip, self.frontend_port
        logger.log_accept(record)

    # -- registration helpers ------------------------------------------------

    def set_mask(self, sock: socket.socket, old: int, new: int, callback: Callable[[int], None]) -> int:
        if new == old:
            return old
        if not old:
            self.loop.register(sock, new, callback)
        elif not new:
            self.loop.unregister(sock)
        else:
            self.loop.modify(sock, new, callback)
        return new

    def unregister(self, sock: socket.socket) -> None:
        self.loop.unregister(sock)

    # -- the end -----------------------------------------------------------------

    def finish(self, term: str) -> None:
        """End the stream once: release the server side, close the client, log."""
        if self.closed:
            return
        self.closed = True
        self.release()
        self.unregister(self.client)
        try:
            self.client.close()
        except OSError:
            pass
        self.log(term)
        self.frontend.conn_closed()
        self.worker.stream_closed(self)

    def internal_error(self) -> None:
        """Called by the loop after a callback of this stream raised (a bug): end it, logged `I`."""
        self.finish("ID")

    def release(self) -> None:
        raise NotImplementedError

    def fill_record(self, record: LogRecord, term: str) -> None:
        raise NotImplementedError

    def log(self, term: str) -> None:
        logger = self.frontend.logger
        if logger is None or not logger.enabled:
            return
        record = LogRecord()
        record.client_ip, record.client_port = self.client_ip, self.client_port
        record.frontend_ip, record.frontend_port = self.frontend_ip, self.frontend_port
        record.frontend = self.frontend.name
        record.frontend_ssl = self.ssl
        record.accept_date = record.request_date = self.accept_date
        record.t_handshake = self.handshake_ms
        record.t_total = int((self.loop.now - self.accept_time) * 1000)
        record.actconn = self.worker.total_actconn()
        record.feconn = self.frontend.total_conns()
        self.fill_record(record, term)
        logger.log(record)
