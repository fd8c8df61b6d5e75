"""What every client stream has, whatever its mode (worker).

Stream is the base of TcpSession and HttpSession: the accepted socket and
its addresses, the optional PROXY header of `bind ... accept-proxy`, event
registration helpers, and the end of the stream: release, log, counters.
Subclasses implement on_ready(), release() and fill_record().
"""

from __future__ import annotations

import selectors
import socket
import time
from typing import Any, Callable

from lb.logs.record import LogRecord
from workers.proxy_protocol import ProxyHeaderError, parse_header
from workers.runtime import FrontendRuntime

READ = selectors.EVENT_READ
PROXY_PEEK = 536  # v1 is at most 107 bytes; v2 with TLVs is bounded by the 16-byte header's length


class Stream:
    request: Any = None  # the current HTTP request (keyed balancing reads it)

    def __init__(self, worker: Any, frontend: FrontendRuntime, sock: socket.socket,
                 peer: tuple[str, int], accept_proxy: bool = False) -> None:  # fmt: skip
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
        self.accept_time = self.loop.now
        self.accept_date = time.time()
        self.closed = False
        self.ssl = False
        frontend.conn_opened()
        worker.stream_opened(self)

    def start(self) -> None:
        if self.accept_proxy:
            self.client_mask = self.set_mask(self.client, 0, READ, self.on_proxy_header)
            timeout = self.frontend.timeouts.client
            if timeout:
                self.proxy_timer = self.loop.call_later(timeout / 1000, self.finish, "cR")
            return
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
        self.proxy_timer.cancel() if hasattr(self, "proxy_timer") else None
        if src is not None and dst is not None:
            self.client_ip, self.client_port = src
            self.frontend_ip, self.frontend_port = dst
            self.proxy_src, self.proxy_dst = src, dst
        self.client_mask = self.set_mask(self.client, READ, 0, self.on_proxy_header)
        self.on_ready()

    def on_ready(self) -> None:
        raise NotImplementedError

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
        record.t_total = int((self.loop.now - self.accept_time) * 1000)
        record.actconn = self.worker.total_actconn()
        record.feconn = self.frontend.total_conns()
        self.fill_record(record, term)
        logger.log(record)
