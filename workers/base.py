"""The worker process: accept on this slot's sockets and run sessions (worker).

`Worker.__init__` runs in the master, before fork: it only stores
references.  `init_process()` runs in the child: signals, proctitle, the
event loop, the runtime view of the config, then `run()`.  A worker that
fails before its loop starts exits with EXIT_BOOT_ERROR, so the master
stops instead of forking it again and again (gunicorn's rule).

Signals: SIGTERM/SIGINT stop at once; SIGUSR1/SIGQUIT stop gracefully
(listeners are left, idle HTTP connections closed, streams in flight
finish); the master enforces hard-stop-after.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import sys
import traceback
from typing import Any

from lb.config.model import Bind, Config
from lb.errors import EXIT_BOOT_ERROR
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.util import drop_privileges, peer_address, set_proctitle, tune_stream_socket
from workers.loop import EventLoop
from workers.runtime import FrontendRuntime, Runtime

ACCEPT_BATCH = 64  # connections accepted per readiness event, so one busy listener cannot starve the rest
HEARTBEAT_EVERY = 1.0
READ = 1


class Listener:
    """One listening socket of this worker's slot, and the frontend it feeds."""

    def __init__(self, bind: Bind, frontend_name: str, sock: socket.socket) -> None:
        self.bind = bind
        self.frontend_name = frontend_name
        self.sock = sock
        self.accept_proxy = bind.accept_proxy
        self.frontend: FrontendRuntime | None = None
        self.session_class: Any = None
        self.tls: Any = None  # ssl.SSLContext for `bind ... ssl crt ...`
        self.keepalive = False  # option tcpka / clitcpka: SO_KEEPALIVE on accepted sockets
        self.active = False


class Worker:
    def __init__(self, config: Config, generation: int, slot: int, nworkers: int, shm: ShmTable,
                 listeners: list[Listener], master_pid: int) -> None:  # fmt: skip
        self.config = config
        self.generation = generation
        self.slot = slot
        self.nworkers = nworkers
        self.shm = shm
        self.listeners = listeners
        self.master_pid = master_pid
        self.streams: set[Any] = set()
        self.actconn = 0
        self.stopping = False
        self.paused = False
        self.scratch = memoryview(bytearray(65536))  # shared read buffer of every session
        self.request_counter = 0  # %rt: streams (TCP) or requests (HTTP) logged by this worker
    # -- boot (child) ------------------------------------------------------

    def init_process(self) -> None:
        """Runs in the child after fork; never returns normally (the caller exits)."""
        try:
            set_proctitle(f"worker {self.slot + 1}/{self.nworkers} gen {self.generation}")
            self.shm.set_slot(self.slot, os.getpid(), layout.SLOT_BOOTING)
            self.loop = EventLoop()
            self.install_signals()
            glob = self.config.global_
            drop_privileges(glob.user, glob.group, glob.chroot)
            self.runtime = Runtime(self.config, self.shm, self.slot)
            self.maxconn = self.config.global_.maxconn or default_maxconn()
            self.attach_loggers()
            from workers.http_server import IdlePool

            self.idle_pool = IdlePool(self.loop)
            from workers.http_rules import build_plans

            build_plans(self.runtime)
            from lb.logs.logformat import RenderContext

            self.render_context = RenderContext(self.master_pid, socket.gethostname())
            for listener in self.listeners:
                listener.frontend = self.runtime.frontends[listener.frontend_name]
                listener.frontend.listeners.append(listener)
                listener.session_class = self.session_class(listener.frontend)
                conf = listener.frontend.conf
                listener.keepalive = conf.option("tcpka") or conf.option("clitcpka")
                if listener.bind.options.get("ssl"):
                    from lb.tls import build_server_context

                    listener.tls = build_server_context(listener.bind)
                listener.sock.setblocking(False)
            self.set_accepting(True)
            self.heartbeat()
            self.shm.set_slot(self.slot, os.getpid(), layout.SLOT_RUNNING)
        except Exception:
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(EXIT_BOOT_ERROR)
        self.loop.run()

    def install_signals(self) -> None:
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
        self.pending_signals: list[int] = []
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGQUIT):
            signal.signal(sig, self.on_signal)
        self.loop.register(self.wake_r, READ, self.on_wakeup)

    def on_signal(self, signum: int, frame: Any) -> None:
        """Signal handler - no work here, just queue the signal."""
        self.pending_signals.append(signum)

    def on_wakeup(self, mask: int) -> None:
        try:
            self.wake_r.recv(4096)
        except BlockingIOError:
            pass
        while self.pending_signals:
            signum = self.pending_signals.pop(0)
            if signum in (signal.SIGTERM, signal.SIGINT):
                self.loop.stop()
            else:
                self.begin_graceful_stop()

    def attach_loggers(self) -> None:
        """Per-frontend traffic loggers (lb.logs); a frontend without one logs nothing."""
        try:
            from lb.logs.runtime import build_loggers
        except ImportError:
            return
        for name, logger in build_loggers(self.config, self.master_pid).items():
            if name in self.runtime.frontends:
                self.runtime.frontends[name].logger = logger

    def heartbeat(self) -> None:
        self.shm.heartbeat(self.slot)
        self.loop.call_later(HEARTBEAT_EVERY, self.heartbeat)

    # -- accepting ---------------------------------------------------------

    def set_accepting(self, enabled: bool) -> None:
        for listener in self.listeners:
            frontend = listener.frontend
            want = enabled and not self.stopping and not (frontend and frontend.paused)
            self.set_listener(listener, want)

    def set_listener(self, listener: Listener, active: bool) -> None:
        if active and not listener.active:
            self.loop.register(listener.sock, READ, lambda mask, lst=listener: self.accept(lst))
        elif not active and listener.active:
            self.loop.unregister(listener.sock)
        listener.active = active

    def session_class(self, frontend: FrontendRuntime) -> Any:
        if frontend.is_http:
            from workers.http import HttpSession

            return HttpSession
        from workers.tcp import TcpSession

        return TcpSession

    def accept(self, listener: Listener) -> None:
        frontend = listener.frontend
        assert frontend is not None
        session_class = listener.session_class
        for _ in range(ACCEPT_BATCH):
            if self.actconn >= self.maxconn or (frontend.maxconn and frontend.current >= frontend.maxconn):
                self.apply_limits()
                return
            try:
                sock, addr = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EMFILE, ENFILE, ENOBUFS: leave the rest in the kernel queue for now
                return
            tune_stream_socket(sock)
            if listener.keepalive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            session_class(self, frontend, sock, peer_address(addr), listener.accept_proxy, listener.tls).start()

    def apply_limits(self) -> None:
        """Pause listeners at global or frontend maxconn, resume below (HAProxy semantics)."""
        full = self.actconn >= self.maxconn
        for frontend in self.runtime.frontends.values():
            frontend.paused = full or bool(frontend.maxconn and frontend.current >= frontend.maxconn)
        self.set_accepting(True)

    # -- streams -------------------------------------------------------------

    def stream_opened(self, stream: Any) -> None:
        self.streams.add(stream)
        self.actconn += 1
        self.shm.actconn[self.slot] = self.actconn

    def stream_closed(self, stream: Any) -> None:
        self.streams.discard(stream)
        self.actconn -= 1
        self.shm.actconn[self.slot] = self.actconn
        frontend = stream.frontend
        if frontend.paused or self.actconn + 1 >= self.maxconn:
            self.apply_limits()
        if self.stopping and not self.streams:
            self.loop.stop()

    def total_actconn(self) -> int:
        return sum(self.shm.actconn)  # one cell per slot

    # -- stopping --------------------------------------------------------------

    def begin_graceful_stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.shm.set_slot(self.slot, os.getpid(), layout.SLOT_STOPPING)
        set_proctitle(f"worker {self.slot + 1}/{self.nworkers} gen {self.generation} (stopping)")
        self.set_accepting(False)
        for stream in list(self.streams):
            soft_stop = getattr(stream, "on_soft_stop", None)
            if soft_stop is not None:
                soft_stop()
        if not self.streams:
            self.loop.stop()


def default_maxconn() -> int:
    """Per-worker limit derived from RLIMIT_NOFILE: two descriptors per stream plus a reserve."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(100, (soft - 64) // 2)
