"""A generation: one config, its shared memory, its workers and checker (master).

The master runs one active generation, plus older ones while they drain
after a reload, plus at most one new generation while it boots.  Children
are forked here; `fork_child` never returns in the child.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import traceback
from typing import Any, Callable

from lb.config.model import Config
from lb.errors import EXIT_BOOT_ERROR
from lb.listeners import ListenerSet
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.sticktables.regions import TableSet
from lb.util import drop_privileges, reset_signals, set_proctitle

STARTING, ACTIVE, STOPPING = "starting", "active", "stopping"


def fork_child(body: Callable[[], None], close_fds: list[int], close_socks: list[socket.socket] = ()) -> int:
    """Fork; the child runs `body` and exits with its status, never returning.

    The child first closes what is not its own: the master's descriptors and
    the listening sockets of other slots (a listener held open by a child
    would keep a removed bind accepting into a queue nobody serves)."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        reset_signals()
        for sock in close_socks:
            sock.close()
        for fd in close_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        body()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return 0  # pragma: no cover - unreachable


def worker_count(config: Config) -> int:
    return config.global_.nbproc or os.cpu_count() or 1


def listener_count(config: Config) -> int:
    """Listener rows of the shared memory: every bind of every frontend (lb.shm.layout)."""
    return sum(len(frontend.binds) for frontend in config.frontends.values())


def needs_checker(config: Config) -> bool:
    """A checker runs for health checks, and with a stats socket: the runtime API's
    health commands are requests only the checker applies (lb.checker.requests)."""
    return any(server.check for _, server in config.all_servers()) or bool(config.global_.stats_sockets)


class Generation:
    def __init__(self, number: int, config: Config, master_pid: int) -> None:
        self.number = number
        self.config = config
        self.master_pid = master_pid
        self.nworkers = worker_count(config)
        self.shm = ShmTable(number, layout.slot_count(self.nworkers), len(config.all_servers()), len(config.backends),
                            len(config.proxies()), listener_count(config))  # fmt: skip
        self.checker_slot = self.shm.checker_slot
        self.tables = TableSet(config, self.nworkers)  # stick tables (lb.sticktables.regions)
        self.workers: dict[int, int] = {}  # slot -> pid
        self.checker_pid = 0
        self.state = STARTING
        self.stop_deadline: float | None = None
        self.boot_failed = False
        self.channels: dict[int, Any] = {}  # slot -> lb.runtime_api.channels.WorkerChannel (master's end)

    def seed(self, previous: "Generation | None") -> None:
        """Initial shm values, before any child exists: the master's fields from the
        config and what `previous` changed at runtime (lb.carry), health from the
        checker module (kept across reloads), then the counter chain and the
        sampler that the master's loop keeps up to date."""
        from lb import carry, checker
        from lb.stats.sampler import Sampler

        old_shm, old_config = (previous.shm, previous.config) if previous else (None, None)
        carry.seed_runtime(self.shm, self.config, old_shm, old_config)
        for index in range(self.shm.nservers):
            self.shm.srv_up[index] = 1
        seed_health = getattr(checker, "seed_health", None)
        if seed_health is not None:
            seed_health(self.shm, self.config, old_shm, old_config)
        self.chain = carry.CounterChain(self, previous)
        self.chain.refresh()
        self.sampler = Sampler(self.config, self.shm, previous.sampler if previous else None)
        self.tables.carry_from(previous.tables if previous else None)

    # -- children ------------------------------------------------------------

    def spawn_worker(self, slot: int, listeners: ListenerSet, close_fds: list[int],
                     on_channel: Callable[["Generation", int, socket.socket], None] | None = None) -> int:  # fmt: skip
        """Fork worker `slot`.  It gets one end of a socketpair as `control_channel`
        (lb.runtime_api.channels); `on_channel` receives the master's end."""
        from workers.base import Worker
        from workers.listener import Listener

        mine = listeners.for_slot(self.config, slot, self.nworkers)
        socks = [Listener(bind, fe, sock) for bind, fe, sock in mine]
        others = [sock for sock in listeners.all_sockets() if all(sock is not m[2] for m in mine)]
        worker = Worker(self.config, self.number, slot, self.nworkers, self.shm, socks, self.master_pid)
        master_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        worker.control_channel = worker_end  # workers/control.py serves it
        self.shm.set_slot(slot, 0, layout.SLOT_BOOTING)
        TableSet.set_writer(slot)  # the child writes its own shard of every stick table
        try:
            pid = fork_child(worker.init_process, [*close_fds, master_end.fileno()], others)
        finally:
            worker_end.close()
            TableSet.set_writer(-1)
        self.workers[slot] = pid
        if on_channel is not None:
            on_channel(self, slot, master_end)
        else:
            master_end.close()
        return pid

    def spawn_checker(self, close_fds: list[int], listeners: ListenerSet) -> int:
        from lb import checker

        run_checker = getattr(checker, "run_checker", None)
        if run_checker is None or not needs_checker(self.config):
            return 0

        def body() -> None:
            set_proctitle(f"checker gen {self.number}")
            glob = self.config.global_
            drop_privileges(glob.user, glob.group, glob.chroot)
            self.shm.set_slot(self.checker_slot, os.getpid(), layout.SLOT_RUNNING)
            run_checker(self.config, self.shm, self.checker_slot, self.master_pid)

        self.checker_pid = fork_child(body, close_fds, listeners.all_sockets())
        return self.checker_pid

    def pids(self) -> list[int]:
        return [*self.workers.values(), *([self.checker_pid] if self.checker_pid else [])]

    def booted(self) -> bool:
        """Every worker slot has reached its loop."""
        return all(self.shm.slot(slot)[3] == layout.SLOT_RUNNING for slot in self.workers)

    def signal_workers(self, sig: int) -> None:
        for pid in self.workers.values():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def signal_all(self, sig: int) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def soft_stop(self, hard_stop_after_ms: int | None) -> None:
        self.state = STOPPING
        if hard_stop_after_ms:
            self.stop_deadline = time.monotonic() + hard_stop_after_ms / 1000
        self.signal_workers(signal.SIGUSR1)

    def slot_of(self, pid: int) -> int | None:
        for slot, worker_pid in self.workers.items():
            if worker_pid == pid:
                return slot
        return None

    def hung_workers(self, timeout_ms: int) -> list[int]:
        """Pids of booted workers whose heartbeat is older than `timeout_ms`."""
        now_ms = int(time.monotonic() * 1000)
        hung = []
        for slot, pid in self.workers.items():
            _pid, _gen, beat, state = self.shm.slot(slot)
            if state in (layout.SLOT_RUNNING, layout.SLOT_STOPPING) and now_ms - beat > timeout_ms:
                hung.append(pid)
        return hung

    def is_boot_error(self, status: int) -> bool:
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_BOOT_ERROR
