"""The checker process body: every health check on one selectors loop (checker).

`run_checker()` is called in the forked child `lb: checker gen G`.  It
reads the starting state of every server from shm (so a restarted checker
resumes where the dead one stopped), then runs each checked server's
probe on its own interval, with first checks staggered across the
interval as HAProxy does (`start_checks`: server k of n starts at
k/n of the smallest interval >= 1s) and `spread-checks` jitter on every
interval.  Results go through the rise/fall counter (lb.checker.health)
into shm, which this process alone writes for srv_up, srv_status,
srv_health, srv_code, srv_duration, srv_change and srv_checks.

Every TICK_MS the loop beats the heartbeat of its slot, notices admin
changes written by the master (a server in MAINT is not checked; leaving
MAINT restarts it at `rise` with an immediate check, as HAProxy) and exits
if the master is gone.  SIGTERM (or SIGINT, SIGUSR1) stops it promptly.

A bug met while checking a server (in its probe, its timer, storing or
reporting its result) ends that one attempt and is reported once as an
`internal error` event with the traceback: a probe's own failure counts as
a failed check (SOCKERR, "internal error: ..."), the checker's failure
around it is retried at the next interval.  The socket is closed either
way, and the other servers' checks go on.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import socket
from typing import Any, Callable

from lb.checker import health as hl
from lb.checker.messages import Census, CheckFacts, backend_down, health_check, server_state
from lb.checker.probe import Probe
from lb.checker.report import internal_error as report_internal_error
from lb.checker.report import report, set_log_sink
from lb.checker.requests import apply_requests, set_up
from lb.checker.status import status_of
from lb.checker.target import CheckTarget, build_targets
from lb.checker.timers import Timer, TimerHeap, now_ms
from lb.config.model import Config, Proxy
from lb.shm import layout
from lb.shm.table import ShmTable

TICK_MS = 250.0
INTER_THRESHOLD = 1000  # HAProxy SRV_CHK_INTER_THRES: shorter intervals do not set the spread
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)


class ServerRun:
    """Runtime state of one checked server."""

    __slots__ = ("target", "probe", "timer", "admin_seen", "disabled")

    def __init__(self, target: CheckTarget, admin: int, disabled: bool = False) -> None:
        self.target = target
        self.probe: Probe | None = None
        self.timer: Timer | None = None
        self.admin_seen = admin
        self.disabled = disabled  # `disable health` (srv_check_admin), as last seen


class Checker:
    def __init__(self, config: Config, shm: ShmTable, slot: int, master_pid: int) -> None:
        self.config, self.shm, self.slot, self.master_pid = config, shm, slot, master_pid
        self.selector = selectors.DefaultSelector()
        self.timers = TimerHeap()
        self.runs = [ServerRun(target, shm.srv_admin[target.index],
                               bool(shm.srv_check_admin[target.index] & layout.CHECK_DISABLED))
                     for target in build_targets(config)]  # fmt: skip
        self.servers = config.all_servers()  # (backend, server) by shm index
        self.members = _backend_members(config)
        self.spread = config.global_.spread_checks
        self.random = random.Random()
        self.stopping = False
        self.next_tick = 0.0
        self._wake_r, self._wake_w = socket.socketpair()

    # -- process plumbing --------------------------------------------------------
    def install_signals(self) -> None:
        for sock in (self._wake_r, self._wake_w):
            sock.setblocking(False)
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wakeup)
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_stop_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # reload is the master's business

    def _on_stop_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _drain_wakeup(self, mask: int) -> None:
        try:
            while self._wake_r.recv(256):
                pass
        except OSError:
            pass

    def run(self) -> None:
        self.shm.set_slot(self.slot, os.getpid(), layout.SLOT_RUNNING)
        self.schedule_first_checks()
        while not self.stopping:
            self.run_once()
        self.close()

    def run_once(self) -> None:
        """One turn of the loop: the tick when due, socket events, due timers.

        No exception leaves it: each callback is guarded where it is handed
        out (`_guarded`), and what would still escape is caught here and
        pinned on the server it concerns (`_recover`)."""
        now = now_ms()
        if now >= self.next_tick:
            self._guarded(None, "tick", self.tick)
            self.next_tick = now + TICK_MS
        delay = self.timers.next_delay(now, self.next_tick - now)
        for key, mask in self.selector.select(delay / 1000.0):
            try:
                key.data(mask)
            except Exception as exc:  # noqa: BLE001  a probe's own guard failed
                self._escaped(getattr(key.data, "__self__", None), "event", exc)
        self.timers.run_due(now_ms(), lambda timer, exc: self._escaped(timer.owner, "timer", exc))

    def tick(self) -> None:
        self.shm.heartbeat(self.slot)
        if os.getppid() != self.master_pid:
            self.stopping = True  # orphaned: the master is gone, so is our generation
            return
        for run in self.runs:
            self._guarded(run, "admin", self._follow_admin, run)
        self._guarded(None, "runtime requests", apply_requests, self)

    # -- failures -------------------------------------------------------------------
    def _guarded(self, run: ServerRun | None, step: str, work: Callable[..., None], *args: Any) -> None:
        try:
            work(*args)
        except Exception as exc:  # noqa: BLE001  a bug around one check must not stop the others
            self._recover(run, step, exc)

    def _recover(self, run: ServerRun | None, step: str, exc: Exception) -> None:
        """A bug met while working for `run`: report it (once), end its check
        attempt, closing its socket, and check it again at its next interval."""
        report_internal_error(step, run.target if run is not None else None, exc)
        if run is None:
            return
        probe, run.probe = run.probe, None
        if probe is not None:
            probe.abort()
        try:
            self._schedule_next(run)
        except Exception:  # noqa: BLE001  even the interval cannot be read: fall back to `inter`
            self._schedule(run, now_ms() + run.target.inter)

    def _escaped(self, owner: object, step: str, exc: Exception) -> None:
        """An exception that left a socket or timer callback: recover the server
        it worked for; a probe no server holds any more is closed all the same
        (its socket must not stay registered, firing again)."""
        if isinstance(owner, ServerRun):
            run: ServerRun | None = owner
        else:
            run = next((run for run in self.runs if owner is not None and run.probe is owner), None)
        if isinstance(owner, Probe) and run is None:
            owner.abort()
        self._recover(run, step, exc)

    def close(self) -> None:
        for run in self.runs:
            if run.probe is not None:
                run.probe.abort()
            if run.timer is not None:
                run.timer.cancel()
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass
        self.selector.close()
        self._wake_r.close()
        self._wake_w.close()
        self.shm.set_slot(self.slot, os.getpid(), layout.SLOT_STOPPING)

    # -- scheduling ---------------------------------------------------------------
    def _interval(self, target: CheckTarget) -> int:
        i = target.index
        return hl.interval(self.shm.srv_health[i], bool(self.shm.srv_up[i]), target.rise, target.fall,
                           target.inter, target.fastinter, target.downinter)

    def _jitter(self, interval: int) -> float:
        """`spread-checks` percent of random jitter, in [-rv, +rv] (HAProxy process_chk_conn)."""
        if self.spread <= 0:
            return 0.0
        rv = interval * self.spread / 100.0
        return rv - 2 * rv * self.random.random()

    def schedule_first_checks(self) -> None:
        """Stagger the first checks: server k of n starts at k/n of the interval."""
        count = len(self.runs)
        intervals = [self._interval(run.target) for run in self.runs]
        long_ones = [value for value in intervals if value >= INTER_THRESHOLD]
        shortest = min(long_ones) if long_ones else 0
        start = now_ms()
        for position, (run, interval) in enumerate(zip(self.runs, intervals, strict=True)):
            spread_over = max(shortest, interval) + self._jitter(interval)
            self._schedule(run, start + spread_over * position / count)

    def _schedule(self, run: ServerRun, when: float) -> None:
        if run.timer is not None:
            run.timer.cancel()
        run.timer = self.timers.call_at(when, lambda: self._guarded(run, "schedule", self._due, run), owner=run)

    def _schedule_next(self, run: ServerRun) -> None:
        interval = self._interval(run.target)
        self._schedule(run, now_ms() + interval + self._jitter(interval))

    def _due(self, run: ServerRun) -> None:
        run.timer = None
        if self.shm.srv_admin[run.target.index] == layout.ADMIN_MAINT or run.disabled or self.stopping:
            self._schedule_next(run)
            return
        run.probe = Probe(run.target, self.selector, self.timers,
                          lambda probe: self._guarded(run, "result", self._done, run, probe))
        self.shm.srv_checking[run.target.index] = 1
        run.probe.start()

    def _follow_admin(self, run: ServerRun) -> None:
        """MAINT stops checks; leaving MAINT restarts at `rise` and checks at once (HAProxy)."""
        admin = self.shm.srv_admin[run.target.index]
        if admin == run.admin_seen:
            return
        entering, leaving = admin == layout.ADMIN_MAINT, run.admin_seen == layout.ADMIN_MAINT
        run.admin_seen = admin
        if entering and run.probe is not None:
            run.probe.abort()
            run.probe = None
            self.shm.srv_checking[run.target.index] = 0
            self._schedule_next(run)
        elif leaving:
            i, target = run.target.index, run.target
            self.shm.srv_health[i] = target.rise
            if not self.shm.srv_up[i]:
                set_up(self.shm, i, layout.SRV_UP)
            if run.probe is None:
                self._schedule(run, now_ms())

    # -- results ---------------------------------------------------------------------
    def _done(self, run: ServerRun, probe: Probe) -> None:
        run.probe = None
        self.shm.srv_checking[run.target.index] = 0
        outcome = probe.outcome
        assert outcome is not None
        target, i = run.target, run.target.index
        before = hl.Counter(self.shm.srv_health[i], bool(self.shm.srv_up[i]))
        passed = status_of(outcome.status).passed
        after = hl.after_check(before, target.rise, target.fall, passed)
        previous_status = self.shm.srv_status[i]
        census_before = self._census(target.backend)
        self._store(i, outcome, before, after, passed)
        facts = CheckFacts(outcome.status, outcome.code, outcome.info, outcome.duration)
        if target.log_health_checks and (outcome.status != previous_status or after.health != before.health):
            drain = self.shm.srv_weight[i] == 0
            report(health_check(target.backend.name, target.server.name, target.server.backup, facts,
                                after.health, target.rise, target.fall, drain), target.backend)
        if after.up != before.up:
            self._report_transition(target, after.up, facts, census_before)
        self._schedule_next(run)

    def _store(self, i: int, outcome, before: hl.Counter, after: hl.Counter, passed: bool) -> None:
        shm = self.shm
        shm.srv_status[i] = outcome.status
        shm.srv_code[i] = min(max(outcome.code, 0), 65535)
        shm.srv_duration[i] = min(outcome.duration, 2**32 - 1)
        runs, failed = shm.srv_checks[i] & 0xFFFFFFFF, shm.srv_checks[i] >> 32
        failed += 1 if (not passed and before.health > 0) else 0  # HAProxy's chkfail counts these
        shm.srv_checks[i] = ((failed & 0xFFFFFFFF) << 32) | ((runs + 1) & 0xFFFFFFFF)
        shm.set_server_info(i, outcome.info)
        if after.health != before.health:
            shm.srv_health[i] = after.health
        if after.up != before.up:
            set_up(shm, i, layout.SRV_UP if after.up else layout.SRV_DOWN)  # balancers rebuild their sets

    def _report_transition(self, target: CheckTarget, up: bool, facts: CheckFacts, before: Census) -> None:
        census = self._census(target.backend)
        census = Census(census.active, census.backup, self.shm.server_conns(target.index), 0,
                        self.shm.server_queued(target.index))
        shown = None if target.log_health_checks else facts
        report(server_state(target.backend.name, target.server.name, target.server.backup, up, shown, census),
               target.backend)
        if not up and before.active + before.backup > 0 and census.active + census.backup == 0:
            kind = "proxy" if target.backend.is_frontend else "backend"
            report(backend_down(kind, target.backend.name), target.backend)

    def _census(self, backend: Proxy) -> Census:
        """Usable active/backup servers of a backend (up, READY, weight > 0), as HAProxy counts them."""
        active = backup = 0
        shm = self.shm
        for index, is_backup in self.members.get(id(backend), ()):
            if shm.srv_up[index] and shm.srv_admin[index] == layout.ADMIN_READY and shm.srv_weight[index] > 0:
                if is_backup:
                    backup += 1
                else:
                    active += 1
        return Census(active, backup)


def _backend_members(config: Config) -> dict[int, list[tuple[int, bool]]]:
    members: dict[int, list[tuple[int, bool]]] = {}
    for index, (backend, server) in enumerate(config.all_servers()):
        members.setdefault(id(backend), []).append((index, server.backup))
    return members


def run_checker(config: Config, shm: ShmTable, slot: int, master_pid: int) -> None:
    """Body of the checker process; returns when stopped (SIGTERM) or orphaned."""
    try:  # keep the master's structlog setup (inherited by fork), name this process in events
        import structlog

        from lb.logs.events import get_logger

        get_logger()  # configures structlog if this process never did
        structlog.contextvars.bind_contextvars(role="checker", pid=os.getpid())
    except Exception:  # noqa: BLE001  logging setup must not prevent health checks
        pass
    _install_log_sink(config, master_pid)
    checker = Checker(config, shm, slot, master_pid)
    checker.install_signals()
    checker.run()


def _install_log_sink(config: Config, master_pid: int) -> None:
    """Server messages go to their backend's `log` targets, as HAProxy's send_log(s->proxy, ...).

    They then must not also reach the global targets through structlog's
    syslog forwarding (a backend with `log global` would get them twice).
    """
    try:
        from lb.logs import events
        from lb.logs.runtime import build_backend_loggers

        loggers = build_backend_loggers(config, master_pid)
        events.detach_syslog()
    except Exception:  # noqa: BLE001  without syslog targets, stderr and structlog still get every event
        return

    def send(proxy: Proxy, level: str, text: str) -> None:
        logger = loggers.get(proxy.name)
        if logger is not None:
            logger.send_event(level, text)

    set_log_sink(send)


__all__ = ["run_checker", "Checker"]
