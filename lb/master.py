"""The master process: owns the listening sockets, forks and supervises generations (master).

Signal handlers only queue the signal; the loop dispatches to `handle_<name>`
methods (gunicorn's arbiter rule).  The loop waits on a `selectors` selector:
the signal wake-up pipe, the stats sockets and the control socket
(lb.operations), never blocking on a client.  A reload never makes things worse: the
new configuration is parsed and validated, its new binds opened and its
workers booted before the running generation is asked to stop; any failure
on the way leaves the running generation untouched.

  SIGHUP   reload            SIGUSR1, SIGQUIT  graceful stop
  SIGTERM  immediate stop    SIGINT            immediate stop
"""

from __future__ import annotations

import os
import resource
import selectors
import signal
import sys
import time
from typing import Any, Callable

import lb.config
from lb import pidfile
from lb.config.model import Config
from lb.config.validate import has_listener
from lb.errors import EXIT_BOOT_ERROR, EXIT_GENERIC, HaltServer, LbError
from lb.generation import ACTIVE, STARTING, STOPPING, Generation, worker_count
from lb.listeners import ListenerSet
from lb.logs import events
from lb.operations import Operations
from lb.sdnotify import ReadinessNotifier
from lb.sticktables.regions import carry_chain
from lb.util import set_proctitle

SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGCHLD)
SIGNAL_NAMES = {sig: sig.name[3:].lower() for sig in SIGNALS}
TICK = 0.2  # seconds between supervision passes when no signal arrives
RESPAWN_BACKOFF = 1.0  # a slot whose worker dies quickly waits this long before a new fork


class Master:
    def __init__(self, paths: list[str], config: Config, listeners: ListenerSet,
                 ready: Callable[[str | None], None] | None = None) -> None:  # fmt: skip
        self.paths = paths
        self.config = config
        self.listeners = listeners
        self.ready = ready  # told once: None when the first generation is up, else the error
        self.pid = os.getpid()
        self.generations: list[Generation] = []
        self.next_generation = 1
        self.signal_queue: list[int] = []
        self.reload_pending = False
        self.stopping = False
        self.log = events.get_logger(role="master")
        self.respawn_at: dict[tuple[int, int], float] = {}
        self.readiness = ReadinessNotifier()  # systemd Type=notify (lb.sdnotify)
        self.started = time.time()
        self.selector = selectors.DefaultSelector()
        self.pidfile_path = config.global_.pidfile  # kept: a reloaded config may name none
        self.ops = Operations(self)

    # -- life cycle ------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped; returns the exit status.  The pidfile and the sockets
        are removed on every way out (normal stop, halt, error, stop signal)."""
        self.install_signals()
        events.attach_syslog(self.config, self.pid)
        try:
            self.open_runtime_files()
            self.start_generation(self.config, previous=None)
            while True:
                self.wait_for_events()
                self.dispatch_signals()
                self.reap()
                self.supervise()
                self.ops.poll()
                self.readiness.update(self.generations, self.stopping)
                if self.stopping and not self.generations:
                    return 0
        except HaltServer as halt:
            self.log.error("halt", reason=halt.reason)
            if self.ready is not None:
                self.ready(halt.reason)  # the lbctl that daemonized us prints it
                self.ready = None
            else:
                print(f"Error: {halt.reason}", file=sys.stderr, flush=True)  # --foreground: we are that lbctl
            self.kill_everything()
            return halt.exit_status
        finally:
            self.ops.close()
            self.listeners.close()
            if self.pidfile_path:
                pidfile.remove(self.pidfile_path, self.pid)

    def open_runtime_files(self) -> None:
        """The pidfile, the control socket and the stats sockets, or HaltServer."""
        try:
            if self.pidfile_path:
                pidfile.write(self.pidfile_path, self.pid)
        except LbError as exc:
            self.pidfile_path = None  # not ours: never remove it
            raise HaltServer(str(exc), EXIT_GENERIC) from None
        errors = self.ops.open(self.config)
        if errors:
            raise HaltServer("; ".join(errors), EXIT_GENERIC)

    def install_signals(self) -> None:
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self.drain_wakeup)
        for sig in SIGNALS:
            signal.signal(sig, self.on_signal)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def on_signal(self, signum: int, frame: Any) -> None:
        """Signal handler - NO LOGGING, just queue the signal."""
        self.signal_queue.append(signum)

    def drain_wakeup(self, mask: int) -> None:
        try:
            os.read(self.wake_r, 4096)
        except (BlockingIOError, InterruptedError):
            pass

    def wait_for_events(self) -> None:
        """Sleep until a signal, a socket event, or the next deadline (at most TICK)."""
        if self.signal_queue:
            return
        timeout = max(0.0, min(TICK, self.ops.next_deadline() - time.monotonic()))
        try:
            ready = self.selector.select(timeout)
        except InterruptedError:
            return
        for key, mask in ready:
            try:
                key.data(mask)
            except HaltServer:
                raise
            except Exception as exc:  # noqa: BLE001  one client's trouble must not stop the master
                self.log.exception("socket event failed", error=repr(exc))

    def dispatch_signals(self) -> None:
        while self.signal_queue:
            signum = self.signal_queue.pop(0)
            handler = getattr(self, f"handle_{SIGNAL_NAMES.get(signum, '')}", None)
            if handler is not None:
                handler()

    def child_fds(self) -> list[int]:
        """Descriptors a child must close right after fork."""
        fds = [self.wake_r, self.wake_w, *self.ops.fds()]
        ready_fd = getattr(self.ready, "fd", None)
        return fds + ([ready_fd] if ready_fd is not None and self.ready is not None else [])

    # -- signal handlers -------------------------------------------------------

    def handle_hup(self) -> None:
        if self.stopping:
            return
        if any(g.state == STARTING for g in self.generations):
            self.reload_pending = True  # one at a time: run it once the current one settles
            return
        self.reload()

    def handle_term(self) -> None:
        self.log.info("stop", mode="immediate")
        self.stopping = True
        for generation in self.generations:
            generation.state = STOPPING
            generation.signal_all(signal.SIGTERM)
            generation.stop_deadline = time.monotonic() + 5.0

    handle_int = handle_term

    def handle_usr1(self) -> None:
        if self.stopping:
            return
        self.log.info("stop", mode="graceful")
        self.stopping = True
        for generation in self.generations:
            generation.soft_stop(self.config.global_.hard_stop_after)

    handle_quit = handle_usr1

    def handle_chld(self) -> None:
        pass  # reap() runs after every dispatch

    # -- reload ------------------------------------------------------------------

    def reload(self) -> None:
        current = self.active_generation()
        number = current.number if current else 0
        config = lb.config.load(self.paths)
        self.ops.reload_started(current.config if current else None, config)
        for diag in config.diagnostics:
            self.log.warning("config", severity=diag.severity, message=diag.message, where=str(diag.loc or ""))
        problems = [d for d in config.alerts if d.loc is not None] or config.alerts
        if problems or not has_listener(config):
            self.log.error("reload aborted", errors=len(problems) or 1, keeping_generation=number,
                           reason="configuration errors" if problems else "no listener",
                           outcome="aborted", generation=number)  # fmt: skip
            errors = self.ops.config_errors(config) if problems else ["the configuration has no listener"]
            self.ops.reload_failed(errors, number)
            return
        errors = self.listeners.prepare(config, worker_count(config)) or self.ops.reload_prepare(config)
        if errors:
            for error in errors:
                self.log.error("reload aborted", reason=error, keeping_generation=number,
                               outcome="aborted", generation=number)  # fmt: skip
            self.ops.reload_failed(errors, number)
            return
        self.start_generation(config, previous=current)

    def start_generation(self, config: Config, previous: Generation | None) -> None:
        generation = Generation(self.next_generation, config, self.pid)
        self.next_generation += 1
        generation.seed(previous)
        self.generations.append(generation)
        for slot in range(generation.nworkers):
            generation.spawn_worker(slot, self.listeners, self.child_fds(), self.ops.attach_channel)
        generation.spawn_checker(self.child_fds(), self.listeners)
        self.log.info("generation starting", generation=generation.number, workers=generation.nworkers)

    def active_generation(self) -> Generation | None:
        for generation in reversed(self.generations):
            if generation.state == ACTIVE:
                return generation
        return None

    def promote(self, generation: Generation) -> None:
        """The new generation is up: retire every older one."""
        generation.state = ACTIVE
        self.config = generation.config
        events.attach_syslog(generation.config, self.pid)
        set_proctitle(f"master gen {generation.number}")
        for old in self.generations:
            if old is not generation and old.state != STOPPING:
                old.soft_stop(generation.config.global_.hard_stop_after)
        carry_chain(self.generations)  # stick-table entries as the old generation stops accepting
        self.log.info("generation active", generation=generation.number, outcome="success")
        previous = [g.number for g in self.generations if g is not generation and not g.boot_failed]
        self.ops.reload_succeeded(generation, max(previous, default=0))
        if self.ready is not None:
            self.ready(None)
            self.ready = None
        if self.reload_pending:
            self.reload_pending = False
            self.reload()

    def abort_generation(self, generation: Generation, reason: str) -> None:
        if len(self.generations) == 1:
            raise HaltServer(f"generation {generation.number}: {reason}", EXIT_BOOT_ERROR)
        active = self.active_generation()
        self.log.error("reload aborted", reason=reason, generation=generation.number, outcome="aborted",
                       keeping_generation=active.number if active else 0)  # fmt: skip
        generation.state = STOPPING
        generation.boot_failed = True
        generation.signal_all(signal.SIGTERM)
        generation.stop_deadline = time.monotonic() + 5.0
        self.ops.reload_failed([f"generation {generation.number}: {reason}"], active.number if active else 0)
        if self.reload_pending:
            self.reload_pending = False

    # -- children ------------------------------------------------------------------

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for generation in self.generations:
                if pid in generation.pids():
                    self.child_exited(generation, pid, status)
                    break

    def child_exited(self, generation: Generation, pid: int, status: int) -> None:
        reason = describe_exit(status)
        if pid == generation.checker_pid:
            generation.checker_pid = 0
            if generation.state != STOPPING:
                self.log.warning("checker exited", generation=generation.number, reason=reason, action="restart")
                generation.spawn_checker(self.child_fds(), self.listeners)
            return
        slot = generation.slot_of(pid)
        assert slot is not None
        del generation.workers[slot]
        generation.shm.clear_worker_columns(slot)
        if generation.state == STOPPING:
            return
        if generation.is_boot_error(status):
            self.abort_generation(generation, f"worker {slot + 1} failed to boot")
            return
        self.log.warning("worker exited", generation=generation.number, slot=slot + 1, worker_pid=pid,
                         reason=reason, action="respawn")  # fmt: skip
        self.respawn(generation, slot)

    def respawn(self, generation: Generation, slot: int) -> None:
        key = (generation.number, slot)
        now = time.monotonic()
        if self.respawn_at.get(key, 0) > now - RESPAWN_BACKOFF:
            time.sleep(0.05)  # a crash loop must not burn a core; the next pass retries
        self.respawn_at[key] = now
        generation.spawn_worker(slot, self.listeners, self.child_fds(), self.ops.attach_channel)

    def supervise(self) -> None:
        """Promote booted generations, kill hung workers, finish drained ones."""
        now = time.monotonic()
        timeout = self.config.global_.heartbeat_timeout
        for generation in list(self.generations):
            if generation.state == STARTING and generation.booted() and len(generation.workers) == generation.nworkers:
                self.promote(generation)
            if generation.state != STOPPING:
                for pid in generation.hung_workers(timeout):
                    self.log.error("worker hung", generation=generation.number, worker_pid=pid, action="kill")
                    os.kill(pid, signal.SIGKILL)
            if generation.state == STOPPING:
                self.finish_stopping(generation, now)

    def finish_stopping(self, generation: Generation, now: float) -> None:
        if generation.stop_deadline is not None and now >= generation.stop_deadline:
            generation.signal_all(signal.SIGKILL)
            generation.stop_deadline = None
        if generation.workers:
            return
        if generation.checker_pid:
            try:
                os.kill(generation.checker_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            return
        carry_chain(self.generations, gone=generation)  # its last stick-table entries, then its regions go
        self.generations.remove(generation)
        self.ops.generation_gone(generation)
        self.listeners.release_unused([g.config for g in self.generations] or ([] if self.stopping else [self.config]))
        self.log.info("generation stopped", generation=generation.number)
        generation.shm.close()

    def kill_everything(self) -> None:
        for generation in self.generations:
            generation.signal_all(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(g.pids() for g in self.generations) and time.monotonic() < deadline:
            try:
                pid, _status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            for generation in self.generations:
                slot = generation.slot_of(pid)
                if slot is not None:
                    del generation.workers[slot]
                if pid == generation.checker_pid:
                    generation.checker_pid = 0


    # -- facts for the runtime API ---------------------------------------------------------

    def listener_count(self) -> int:
        return len(self.listeners.all_sockets()) + len(self.ops.stats.server.listening)

    def ulimit_n(self) -> int:
        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name
        return f"killed by {name}" + (" (perhaps out of memory?)" if sig == signal.SIGKILL else "")
    return f"exit status {os.WEXITSTATUS(status)}"
