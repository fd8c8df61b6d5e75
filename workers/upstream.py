"""Connecting a stream to a server: pick, queue, connect, retry, redispatch (worker).

A Connector is owned by one session (tcp or http) and calls back exactly
once: `on_connected(sock, server)` or `on_failed(term_state)` where
term_state is the 2-character HAProxy code (`SC` refused / no server, `sC`
connect timeout, `sQ` queue timeout).  It keeps the shm connection count of
the chosen server: taken when a connect starts, dropped by the session when
the server connection ends (or here, when an attempt fails).
"""

from __future__ import annotations

import errno
import selectors
import socket
from typing import Any, Callable

from lb.balance.base import QUEUE
from workers.proxy_protocol import header_for
from workers.runtime import (
    C_CONN_ERRORS,
    C_NO_SERVER,
    C_QUEUE_TIMEOUTS,
    C_REDISPATCHES,
    C_RETRIES,
    BackendRuntime,
    ServerRuntime,
)

QUEUE_POLL = 0.02  # seconds between queue re-checks (other workers free slots too)
TURNAROUND_MAX = 1.0  # HAProxy waits min(timeout connect, 1s) before retrying the same server
EVENT_WRITE = selectors.EVENT_WRITE


class Connector:
    def __init__(self, loop: Any, backend: BackendRuntime, key: Any,
                 on_connected: Callable[[socket.socket, ServerRuntime], None],
                 on_failed: Callable[[str], None],
                 proxy_addresses: tuple[Any, Any] = (None, None), dst_port: int = 0,
                 server: ServerRuntime | None = None) -> None:  # fmt: skip
        self.loop = loop
        self.backend = backend
        self.key = key  # what keyed balancing reads (client_ip, request)
        self.on_connected = on_connected
        self.on_failed = on_failed
        self.proxy_addresses = proxy_addresses
        self.dst_port = dst_port
        self.forced = server  # persistence (cookie) chose this server
        self.server: ServerRuntime | None = None
        self.sock: socket.socket | None = None
        self.retries_left = backend.retries
        self.retries_done = 0
        self.redispatched = False
        self.queued_at = -1.0
        self.t_queue = -1
        self.connect_started = -1.0
        self.t_connect = -1
        self.timer: Any = None
        self.done = False

    # -- choosing a server -------------------------------------------------

    def start(self) -> None:
        server = self.forced if self.forced is not None and self.forced.is_usable() else self._pick()
        if server is QUEUE:
            self._enqueue()
        elif server is None:
            self.backend.count(C_NO_SERVER)
            self._fail("SC")
        else:
            self.t_queue = 0
            self._connect(server)

    def _pick(self, exclude: ServerRuntime | None = None) -> Any:
        return self.backend.balancer.pick(self.key, exclude)

    def _enqueue(self) -> None:
        backend = self.backend
        self.queued_at = self.loop.now
        backend.queue.append(self)
        timeout = backend.timeouts.queue or backend.timeouts.connect
        if timeout:
            self.loop.call_later(timeout / 1000, self._queue_expired)
        self.timer = self.loop.call_later(QUEUE_POLL, self._queue_poll)

    def _leave_queue(self) -> None:
        backend = self.backend
        try:
            backend.queue.remove(self)
        except ValueError:
            return
        self.t_queue = int((self.loop.now - self.queued_at) * 1000)
        if self.timer is not None:
            self.timer.cancel()

    def retry_from_queue(self) -> None:
        """Called when a slot may have been freed; only the queue head is served (FIFO)."""
        if self.done or not self.backend.queue or self.backend.queue[0] is not self:
            return
        server = self._pick()
        if server is QUEUE:
            return
        self._leave_queue()
        if server is None:
            self.backend.count(C_NO_SERVER)
            self._fail("SC")
        else:
            self._connect(server)
            if self.backend.queue:
                self.backend.queue[0].retry_from_queue()

    def _queue_poll(self) -> None:
        if self.done or self not in self.backend.queue:
            return
        self.timer = self.loop.call_later(QUEUE_POLL, self._queue_poll)
        self.retry_from_queue()

    def _queue_expired(self) -> None:
        if self.done or self not in self.backend.queue:
            return
        self._leave_queue()
        self.backend.count(C_QUEUE_TIMEOUTS)
        self._fail("sQ")

    # -- connecting --------------------------------------------------------

    def _connect(self, server: ServerRuntime) -> None:
        self.server = server
        server.take_conn()
        if self.connect_started < 0:
            self.connect_started = self.loop.now
        self.attempt_started = self.loop.now
        sock = socket.socket(server.family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.backend.keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.sock = sock
        host, port = server.address
        code = sock.connect_ex((host, port or self.dst_port))
        if code not in (0, errno.EINPROGRESS):
            self._attempt_failed(immediate=True)
            return
        self.loop.register(sock, EVENT_WRITE, self._on_writable)
        timeout = self.backend.timeouts.connect
        if timeout:
            self.timer = self.loop.call_later(timeout / 1000, self._on_timeout)

    def _on_writable(self, mask: int) -> None:
        sock = self.sock
        if sock is None or self.done:
            return
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            self._attempt_failed(immediate=True)
            return
        self.loop.unregister(sock)
        if self.timer is not None:
            self.timer.cancel()
        server = self.server
        assert server is not None
        if server.send_proxy:
            try:
                sock.send(header_for(server.send_proxy, *self.proxy_addresses))
            except OSError:
                self._attempt_failed(immediate=True)
                return
        self.t_connect = int((self.loop.now - self.connect_started) * 1000)
        self.done = True
        self.sock = None
        self.on_connected(sock, server)

    def _on_timeout(self) -> None:
        if not self.done and self.sock is not None:
            self._attempt_failed(immediate=False)

    def _attempt_failed(self, immediate: bool) -> None:
        """One connect attempt failed: retry (maybe elsewhere) or give up."""
        sock, server = self.sock, self.server
        assert server is not None
        if sock is not None:
            self.loop.unregister(sock)
            sock.close()
            self.sock = None
        if self.timer is not None:
            self.timer.cancel()
        server.count(C_CONN_ERRORS)
        server.drop_conn()
        if self.retries_left <= 0:
            self.backend.count(C_CONN_ERRORS)
            self._fail("SC" if immediate else "sC")
            return
        self.retries_left -= 1
        self.retries_done += 1
        server.count(C_RETRIES)
        if self._redispatch_now():
            other = self._pick(exclude=server)
            if other is not None and other is not QUEUE:
                self.redispatched = True
                self.backend.count(C_REDISPATCHES)
                self._connect(other)
                return
        delay = 0.0
        if immediate:
            connect_timeout = (self.backend.timeouts.connect or 1000) / 1000
            delay = min(connect_timeout, TURNAROUND_MAX)
        self.timer = self.loop.call_later(delay, self._connect, server)

    def _redispatch_now(self) -> bool:
        """`option redispatch`: -1 = on the last retry only, N = every Nth retry."""
        interval = self.backend.redispatch
        if interval == 0:
            return False
        if interval < 0:
            return self.retries_left == 0
        return self.retries_done % interval == 0

    def _fail(self, term: str) -> None:
        self.done = True
        if self.connect_started >= 0:
            self.t_connect = -1
        self.on_failed(term)

    def cancel(self) -> None:
        """The session is going away (client left): release whatever is held."""
        if self.done:
            return
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        self._leave_queue()
        if self.sock is not None:
            self.loop.unregister(self.sock)
            self.sock.close()
            self.sock = None
            if self.server is not None:
                self.server.drop_conn()
