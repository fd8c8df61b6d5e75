"""A listening socket of this worker's slot, and what accepting on it means (worker).

`Listener.on_readable` accepts up to ACCEPT_BATCH connections and starts a
ClientConn for each.  Nothing that goes wrong with one connection reaches
the loop: an exception while setting it up closes that connection, is
reported once (structlog event with the traceback) and counted as an
internal error of the frontend.  The listener itself is never dropped:
when the process runs out of descriptors or memory (EMFILE, ENFILE,
ENOBUFS, ENOMEM) it stops polling for RETRY_DELAY and tries again, as
HAProxy does, instead of waking the loop again at once (a worker spinning
at 100 % CPU).
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, Any

from lb.config.model import Bind
from lb.util import peer_address

if TYPE_CHECKING:
    import ssl

    from workers.base import Worker
    from workers.runtime import FrontendRuntime, ListenerCounts

ACCEPT_BATCH = 64  # connections accepted per readiness event, so one busy listener cannot starve the rest
RETRY_DELAY = 0.1  # HAProxy retries a listener limited by a system resource after 100 ms
READ = 1
RESOURCE_ERRORS = {
    errno.EMFILE: "Proxy {proxy} reached process FD limit (maxsock={maxsock}). Please check 'ulimit-n' and restart.",
    errno.ENFILE: "Proxy {proxy} reached system FD limit (maxsock={maxsock}). Please check system tunables.",
    errno.ENOBUFS: "Proxy {proxy} reached system memory limit (maxsock={maxsock}). Please check system tunables.",
    errno.ENOMEM: "Proxy {proxy} reached system memory limit (maxsock={maxsock}). Please check system tunables.",
}


class Listener:
    """One listening socket and the frontend it feeds."""

    def __init__(self, bind: Bind, frontend_name: str, sock: socket.socket) -> None:
        self.bind = bind
        self.frontend_name = frontend_name
        self.sock = sock
        self.accept_proxy = bind.accept_proxy
        self.id = 0  # HAProxy's listener id in its proxy (so_id)
        self.worker: Worker | None = None
        self.frontend: FrontendRuntime | None = None
        self.tls: ssl.SSLContext | None = None  # `bind ... ssl crt ...`
        self.keepalive = False  # option tcpka / clitcpka: SO_KEEPALIVE on accepted sockets
        self.active = False  # registered in the loop
        self.resource_limited = False  # waiting RETRY_DELAY after EMFILE & co.
        self.warned = False  # the resource message was logged for this episode
        self.counts: ListenerCounts | None = None  # its counters, with `option socket-stats`

    def attach(self, worker: Worker, frontend: FrontendRuntime) -> None:
        """After fork: the worker's runtime frontend, TLS context, socket options."""
        self.worker = worker
        self.frontend = frontend
        frontend.listeners.append(self)
        self.id = frontend.listener_ids.get(id(self.bind), 0)
        self.counts = frontend.listener_counts.get(id(self.bind))
        conf = frontend.conf
        self.keepalive = conf.option("tcpka") or conf.option("clitcpka")
        if self.bind.options.get("ssl"):
            from lb.tls import build_server_context

            self.tls = build_server_context(self.bind)
        self.sock.setblocking(False)

    # -- polling -----------------------------------------------------------------

    def set_active(self, active: bool) -> None:
        worker = self.worker
        assert worker is not None
        active = active and not self.resource_limited
        if active and not self.active:
            worker.loop.register(self.sock, READ, self.on_readable)
        elif not active and self.active:
            worker.loop.unregister(self.sock)
        self.active = active

    def on_readable(self, mask: int) -> None:
        if not self.active:
            # A stale readiness event: the loop runs every event `select` returned,
            # also those of a listener unregistered earlier in the same iteration
            # (a graceful stop began).  Accepting now would hand connections to a
            # worker about to exit, which resets them; they stay queued for the
            # next generation instead.
            return
        worker, frontend = self.worker, self.frontend
        assert worker is not None and frontend is not None
        for _ in range(ACCEPT_BATCH):
            if worker.actconn >= worker.maxconn or (frontend.maxconn and frontend.current >= frontend.maxconn):
                worker.apply_limits()
                return
            try:
                sock, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in RESOURCE_ERRORS:
                    self.pause_for_resources(exc.errno)
                return  # ECONNABORTED and friends: the next readiness event retries
            self.warned = False
            self.start_connection(sock, addr)

    def start_connection(self, sock: socket.socket, addr: Any) -> None:
        """Hand one accepted socket to a ClientConn; a failure closes it alone."""
        from workers.client import ClientConn

        worker, frontend = self.worker, self.frontend
        assert worker is not None and frontend is not None
        client = None
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.keepalive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            client = ClientConn(worker, self, sock, peer_address(addr))
            client.start()
        except Exception as exc:
            worker.report_error(self, exc)  # counted as an internal error of the frontend
            if client is not None:
                client.abort()
            else:
                sock.close()

    # -- running out of resources ---------------------------------------------------

    def pause_for_resources(self, code: int) -> None:
        worker, frontend = self.worker, self.frontend
        assert worker is not None and frontend is not None
        if not self.warned:
            self.warned = True
            message = RESOURCE_ERRORS[code].format(proxy=frontend.name, maxsock=worker.maxsock)
            worker.log.warning("listener paused", frontend=frontend.name, message=message,
                               retry_ms=int(RETRY_DELAY * 1000))  # fmt: skip
        self.set_active(False)
        self.resource_limited = True
        worker.loop.call_later(RETRY_DELAY, self.resume_after_limit)

    def resume_after_limit(self) -> None:
        self.resource_limited = False
        worker = self.worker
        if worker is not None:
            worker.set_accepting(True)

    def internal_error(self) -> None:
        """A bug while accepting (reported by the loop): pause, then accept again."""
        if self.resource_limited:
            return
        self.set_active(False)
        self.resource_limited = True
        if self.worker is not None:
            self.worker.loop.call_later(RETRY_DELAY, self.resume_after_limit)
