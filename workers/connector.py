"""Getting a stream a server: pick, queue, connect, retry, redispatch (worker).

The Connector is the only caller of a balancer's `pick`, for mode tcp and
mode http alike, so every outcome is counted in one place: `lbtot` when a
server is selected, `no_server` when none is usable, connection errors,
retries, redispatches, queue timeouts.

A Connector serves one stream (tcp) or one request (http) and tells its
owner exactly once how it ended:

    owner.reuse_connection(server) -> bool   a server was chosen: True when the
                                             owner has an idle connection to it
    owner.on_connected(sock, server)         connected: a new socket, or None when
                                             the owner's idle connection is used
    owner.on_connect_failed(term)            `SC` refused / no server, `sC` connect
                                             timeout, `sQ` queue timeout, `RC` no
                                             descriptor left for a server socket

It keeps the server's in-flight count in shared memory: taken when the
server is chosen, dropped here when an attempt fails, and by the owner when
the stream or request ends.  While every usable server is at its maxconn
the Connector waits in the backend's queue; when persistence named a server
at its maxconn, in that server's queue (HAProxy's two queues, shown as the
backend's and the server's `qcur`).
"""

from __future__ import annotations

import errno
import selectors
import socket
from typing import TYPE_CHECKING, Any

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from lb.engine import NoCython as cython

from lb.balance.base import QUEUE
from workers.proxy_protocol import header_for
from workers.runtime import (
    C_CONN_ERRORS,
    C_LBTOT,
    C_NO_SERVER,
    C_QUEUE_TIMEOUTS,
    C_REDISPATCHES,
    C_RETRIES,
    BackendRuntime,
    ServerRuntime,
)

if TYPE_CHECKING:
    from workers.loop import EventLoop, Timer

QUEUE_POLL = 0.02  # seconds between queue re-checks (other workers free slots too)
TURNAROUND_MAX = 1.0  # HAProxy waits min(timeout connect, 1s) before retrying the same server
EVENT_WRITE = selectors.EVENT_WRITE


class ConnectorOwner:
    """What a Connector calls: the stream (tcp) or the exchange (http) it serves.
    A base class rather than a Protocol so that compiled code calls it directly."""

    def reuse_connection(self, server: ServerRuntime) -> bool:
        raise NotImplementedError

    def on_connected(self, sock: socket.socket | None, server: ServerRuntime) -> None:
        raise NotImplementedError

    def on_connect_failed(self, term: str) -> None:
        raise NotImplementedError

    def internal_error(self) -> None:
        raise NotImplementedError


class Connector:
    if not cython.compiled:
        # Defaults on the class: a Connector is made per request in mode http and most
        # requests reuse a connection, so most of these are never written.  (Compiled,
        # the attributes start at 0/None/False and __init__ sets the others.)
        server: ServerRuntime | None = None
        sock: socket.socket | None = None
        retries_done = 0
        redispatched = False
        queued_at = -1.0
        queue: Any = None  # the deque this Connector waits in
        t_queue = -1
        connect_started = -1.0
        t_connect = -1
        timer: Timer | None = None
        expiry: Timer | None = None
        done = False
        holding: ServerRuntime | None = None  # the server whose in-flight count we took, not handed over yet

    def __init__(self, loop: EventLoop, backend: BackendRuntime, owner: ConnectorOwner, key: Any,
                 proxy_addresses: tuple[Any, Any] = (None, None), dst_port: int = 0,
                 forced: ServerRuntime | None = None) -> None:  # fmt: skip
        self.loop = loop
        self.backend = backend
        self.owner = owner
        self.key = key  # what keyed balancing reads (client_ip, request)
        self.proxy_addresses = proxy_addresses
        self.dst_port = dst_port
        self.forced = forced  # persistence (cookie) chose this server
        self.retries_left = backend.retries
        if cython.compiled:
            self.queued_at = self.connect_started = -1.0
            self.t_queue = self.t_connect = -1

    # -- choosing a server -------------------------------------------------

    def start(self) -> None:
        forced = self.forced
        if forced is not None and forced.is_usable():
            if forced.has_room():
                self.t_queue = 0
                self.chosen(forced, balanced=False)
            else:
                self.enqueue(forced.queue)
            return
        backend = self.backend
        server = backend.balancer.pick(self.key, None)
        if server is QUEUE:
            self.enqueue(backend.queue)
        elif server is None:
            self.no_server()
        else:  # chosen(server, balanced=True), inline: this runs for every request
            self.t_queue = 0
            server.take_conn()
            self.holding = server
            server.count(C_LBTOT)
            backend.count(C_LBTOT)
            if self.owner.reuse_connection(server):
                self.server = server
                self.done = True
                self.holding = None
                self.t_connect = 0
                self.owner.on_connected(None, server)
            else:
                self.connect(server)

    def chosen(self, server: ServerRuntime, balanced: bool) -> None:
        """`server` takes the stream: counted, then an idle connection or a new one."""
        server.take_conn()
        self.holding = server
        if balanced:
            server.count(C_LBTOT)
            self.backend.count(C_LBTOT)
        if self.owner.reuse_connection(server):
            self.server = server
            self.done = True
            self.holding = None
            self.t_connect = 0
            self.owner.on_connected(None, server)
            return
        self.connect(server)

    def no_server(self) -> None:
        self.backend.count(C_NO_SERVER)
        self.fail("SC")

    # -- queueing ----------------------------------------------------------------

    def enqueue(self, queue: Any) -> None:
        backend = self.backend
        self.queued_at = self.loop.now
        self.queue = queue
        queue.append(self)
        self.queue_changed()
        timeout = backend.timeouts.queue or backend.timeouts.connect
        if timeout:
            self.expiry = self.loop.call_later(timeout / 1000, self.queue_expired)
        self.timer = self.loop.call_later(QUEUE_POLL, self.queue_poll)

    def queue_changed(self) -> None:
        if self.queue is self.backend.queue:
            self.backend.queue_changed()
        elif self.forced is not None:
            self.forced.queue_changed()

    def leave_queue(self) -> None:
        queue = self.queue
        if queue is None:
            return
        try:
            queue.remove(self)
        except ValueError:
            return
        self.queue_changed()
        self.queue = None
        self.t_queue = int((self.loop.now - self.queued_at) * 1000)
        for timer in (self.timer, self.expiry):
            if timer is not None:
                timer.cancel()

    def retry_from_queue(self) -> None:
        """A slot may have been freed: only the head of a queue is served (FIFO)."""
        queue = self.queue
        if self.done or not queue or queue[0] is not self:
            return
        forced = self.forced
        if forced is not None and queue is not self.backend.queue:
            if not forced.is_usable():  # its server went away: balance instead (redispatch)
                self.leave_queue()
                self.forced = None
                self.start()
                return
            if not forced.has_room():
                return
            self.leave_queue()
            self.chosen(forced, balanced=False)
            return
        server = self.backend.balancer.pick(self.key, None)
        if server is QUEUE:
            return
        self.leave_queue()
        if server is None:
            self.no_server()
            return
        self.chosen(server, balanced=True)
        if queue:
            queue[0].retry_from_queue()

    def queue_poll(self) -> None:
        if self.done or self.queue is None:
            return
        self.timer = self.loop.call_later(QUEUE_POLL, self.queue_poll)
        self.retry_from_queue()

    def queue_expired(self) -> None:
        if self.done or self.queue is None:
            return
        self.leave_queue()
        self.backend.count(C_QUEUE_TIMEOUTS)
        self.fail("sQ")

    # -- connecting --------------------------------------------------------

    def connect(self, server: ServerRuntime) -> None:
        self.server = server
        if self.connect_started < 0:
            self.connect_started = self.loop.now
        try:
            sock = socket.socket(server.family, socket.SOCK_STREAM)
        except OSError:  # no descriptor or memory left: HAProxy's resource error (R), not the server's
            self.holding = None
            server.drop_conn()
            self.fail("RC")
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.backend.keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.sock = sock
        host, port = server.address
        code = sock.connect_ex((host, port or self.dst_port))
        if code not in (0, errno.EINPROGRESS):
            self.attempt_failed(immediate=True)
            return
        self.loop.register(sock, EVENT_WRITE, self.on_writable)
        timeout = self.backend.timeouts.connect
        if timeout:
            self.timer = self.loop.call_later(timeout / 1000, self.on_timeout)

    def on_writable(self, mask: int) -> None:
        sock = self.sock
        if sock is None or self.done:
            return
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            self.attempt_failed(immediate=True)
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
                self.attempt_failed(immediate=True)
                return
        self.t_connect = int((self.loop.now - self.connect_started) * 1000)
        self.done = True
        self.holding = None
        self.sock = None
        self.owner.on_connected(sock, server)

    def on_timeout(self) -> None:
        if not self.done and self.sock is not None:
            self.attempt_failed(immediate=False)

    def attempt_failed(self, immediate: bool) -> None:
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
        self.holding = None
        server.drop_conn()
        if self.retries_left <= 0:
            self.backend.count(C_CONN_ERRORS)
            self.fail("SC" if immediate else "sC")
            return
        self.retries_left -= 1
        self.retries_done += 1
        server.count(C_RETRIES)
        if self.redispatch_now():
            other = self.backend.balancer.pick(self.key, server)
            if other is not None and other is not QUEUE:
                self.redispatched = True
                self.backend.count(C_REDISPATCHES)
                other.take_conn()
                self.holding = other
                other.count(C_LBTOT)
                self.backend.count(C_LBTOT)
                self.connect(other)
                return
        delay = 0.0
        if immediate:
            connect_timeout = (self.backend.timeouts.connect or 1000) / 1000
            delay = min(connect_timeout, TURNAROUND_MAX)
        self.timer = self.loop.call_later(delay, self.retry_same, server)

    def retry_same(self, server: ServerRuntime) -> None:
        server.take_conn()
        self.holding = server
        self.connect(server)

    def redispatch_now(self) -> bool:
        """`option redispatch`: -1 = on the last retry only, N = every Nth retry."""
        interval = self.backend.redispatch
        if interval == 0:
            return False
        if interval < 0:
            return self.retries_left == 0
        return self.retries_done % interval == 0

    def fail(self, term: str) -> None:
        self.done = True
        if self.connect_started >= 0:
            self.t_connect = -1
        self.owner.on_connect_failed(term)

    def cancel(self) -> None:
        """The owner is going away (client left): release whatever is held."""
        if self.done:
            return
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        self.leave_queue()
        if self.sock is not None:
            self.loop.unregister(self.sock)
            self.sock.close()
            self.sock = None
        holding, self.holding = self.holding, None
        if holding is not None:
            holding.drop_conn()

    def internal_error(self) -> None:
        """A bug in one of our callbacks: the owner ends its stream (it cancels us)."""
        self.owner.internal_error()
