"""The worker process: accept on this slot's sockets and run sessions (worker).

`Worker.__init__` runs in the master, before fork: it only stores
references.  `init_process()` runs in the child: signals, proctitle, the
event loop, the runtime view of the config, then `run()`.  A worker that
fails before its loop starts exits with EXIT_BOOT_ERROR, so the master
stops instead of forking it again and again (gunicorn's rule).

Signals: SIGTERM/SIGINT stop at once; SIGUSR1/SIGQUIT stop gracefully
(listeners are left, idle HTTP connections closed, requests in flight and
connections that have not sent their first request yet are served); the
master enforces hard-stop-after.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lb.config.model import Config
from lb.errors import EXIT_BOOT_ERROR
from lb.limits import FD_RESERVE, default_maxconn
from lb.logs import events
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.sticktables import tracking
from lb.sticktables.model import tables_of
from lb.util import drop_privileges, set_proctitle
from workers.control import ControlChannel, RuntimeFollower
from workers.listener import Listener
from workers.loop import EventLoop
from workers.runtime import C_INTERNAL_ERRORS, Runtime

if TYPE_CHECKING:
    from workers.client import ClientConn

HEARTBEAT_EVERY = 1.0
READ = 1


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
        self.clients: set[ClientConn] = set()
        self.actconn = 0
        self.maxconn = 0
        self.maxsock = 0
        self.stopping = False
        self.scratch = memoryview(bytearray(65536))  # shared read buffer of every session
        self.request_counter = 0  # %rt: streams (TCP) or requests (HTTP) logged by this worker
        self.sessions_accepted = 0  # numbers each client connection (`show sess`)
        self.configured_maxconn = 0  # global maxconn from the config; `set maxconn global` overrides it
        self.control_channel: socket.socket | None = None  # set by the master before fork (lb.generation)
        self.channel: ControlChannel | None = None
        self.has_tables = False  # stick tables: expired entries are purged at each heartbeat
        self.log: Any = None

    # -- boot (child) ------------------------------------------------------

    def init_process(self) -> None:
        """Runs in the child after fork; never returns normally (the caller exits)."""
        try:
            set_proctitle(f"worker {self.slot + 1}/{self.nworkers} gen {self.generation}")
            self.shm.set_slot(self.slot, os.getpid(), layout.SLOT_BOOTING)
            events.bind(role="worker", pid=os.getpid(), generation=self.generation, slot=self.slot + 1)
            self.loop = EventLoop()
            self.install_signals()
            glob = self.config.global_
            drop_privileges(glob.user, glob.group, glob.chroot)
            self.setup()
            self.heartbeat()
            self.shm.set_slot(self.slot, os.getpid(), layout.SLOT_RUNNING)
        except Exception:
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(EXIT_BOOT_ERROR)
        self.loop.run()
        self.runtime.publish_counters()  # what this worker counted since its last heartbeat

    def setup(self) -> None:
        """What serving needs, on `self.loop` (after fork; tests and tools call it in-process)."""
        self.log = events.get_logger()
        self.loop.report_error = self.report_error
        glob = self.config.global_
        self.maxconn = self.configured_maxconn = glob.maxconn or default_maxconn()
        self.maxsock = raise_fd_limit(self.maxconn, glob.ulimit_n, self.log if self.slot == 0 else None)
        self.runtime = Runtime(self.config, self.shm, self.slot)
        self.has_tables = bool(tables_of(self.config))
        self.attach_loggers()
        self.init_http()
        for listener in self.listeners:
            listener.attach(self, self.runtime.frontends[listener.frontend_name])
        RuntimeFollower(self).start()  # applies the runtime API's changes; sets accepting
        if self.control_channel is not None:
            self.channel = ControlChannel(self, self.control_channel)
            self.channel.start()

    def init_http(self) -> None:
        """mode http: per-proxy plans, the idle server connection pool, the log context."""
        from lb.logs.logformat import RenderContext
        from workers.http.plan import build_plans
        from workers.http.serverconn import IdlePool

        self.idle_pool = IdlePool(self.loop)
        build_plans(self.runtime)
        self.render_context = RenderContext(self.master_pid, socket.gethostname())

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
        from lb.logs.runtime import build_loggers

        for name, logger in build_loggers(self.config, self.master_pid).items():
            if name in self.runtime.frontends:
                self.runtime.frontends[name].logger = logger

    def heartbeat(self) -> None:
        """Once a second: prove the worker alive, publish its counters.  Re-armed
        first, so that a failure in the work (reported by the loop) cannot stop
        the heartbeat and get the worker killed as hung."""
        self.loop.call_later(HEARTBEAT_EVERY, self.heartbeat)
        self.shm.heartbeat(self.slot)
        self.runtime.publish_counters()
        if self.has_tables:
            tracking.idle(self.config)  # expired stick-table entries of this worker's shard
        if self.master_pid != os.getpid() and os.getppid() != self.master_pid and not self.stopping:
            self.log.warning("master gone, stopping", master=self.master_pid)  # killed: nobody reloads us
            self.begin_graceful_stop()

    # -- errors ----------------------------------------------------------------

    def report_error(self, owner: Any, exc: BaseException) -> None:
        """A bug met while serving (the loop or a listener caught it): one structlog
        event with the traceback, counted as an internal error of the frontend."""
        frontend = getattr(owner, "frontend", None)
        count = getattr(frontend, "count", None)
        if count is not None:
            count(C_INTERNAL_ERRORS)
        try:
            self.log.error("internal error", where=type(owner).__name__ if owner is not None else "loop",
                           frontend=getattr(frontend, "name", None), error=repr(exc),
                           traceback="".join(traceback.format_exception(exc)))  # fmt: skip
        except Exception:  # reporting must never be what stops the worker
            traceback.print_exception(exc)

    def internal_error(self) -> None:
        """A bug in the signal pipe's callback: reported by the loop; the pipe stays."""

    # -- accepting ---------------------------------------------------------

    def set_accepting(self, enabled: bool) -> None:
        for listener in self.listeners:
            frontend = listener.frontend
            listener.set_active(enabled and not self.stopping and not (frontend and frontend.paused))

    def apply_limits(self) -> None:
        """Pause listeners at global or frontend maxconn, resume below (HAProxy semantics);
        a frontend disabled through the runtime API stays paused."""
        full = self.actconn >= self.maxconn
        for frontend in self.runtime.frontends.values():
            at_limit = bool(frontend.maxconn and frontend.current >= frontend.maxconn)
            frontend.paused = full or frontend.disabled or at_limit
        self.set_accepting(True)

    def ask_master(self, line: str, callback: Callable[[str | None], None]) -> None:
        """Run a runtime API command line in the master (workers/control.py)."""
        if self.channel is None:
            callback(None)
        else:
            self.channel.ask(line, callback)

    # -- connections -------------------------------------------------------------

    def conn_opened(self, client: ClientConn) -> None:
        self.clients.add(client)
        self.actconn += 1
        self.shm.actconn[self.slot] = self.actconn

    def conn_closed(self, client: ClientConn) -> None:
        self.clients.discard(client)
        self.actconn -= 1
        self.shm.actconn[self.slot] = self.actconn
        if client.frontend.paused or self.actconn + 1 >= self.maxconn:
            self.apply_limits()
        if self.stopping and not self.clients:
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
        for client in list(self.clients):
            client.on_soft_stop()
        if not self.clients:
            self.loop.stop()


def raise_fd_limit(maxconn: int, ulimit_n: int, log: Any) -> int:
    """HAProxy's automatic `ulimit-n`: raise this process's descriptor limit to
    what `maxconn` needs (or to `ulimit-n` when set); warn (`log`) when the hard
    limit is lower.  Returns the limit in effect (HAProxy's maxsock)."""
    wanted = ulimit_n or maxconn * 2 + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < wanted and log is not None:
        log.warning("fd limit", message=f"[lb.main()] Cannot raise FD limit to {wanted}, limit is {target}.",
                    wanted=wanted, limit=target)  # fmt: skip
    return target
