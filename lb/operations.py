"""The master's operations plane: stats sockets, control socket, statistics ticks (master).

Composed into the Master (`master.ops`), on the master's selector:

- the stats sockets of the configuration (lb.runtime_api) and the control
  socket (lb.controlsock), served without ever blocking the loop;
- every TICK, each live generation's sampler (rates, maxima, backend
  transitions: lb.stats.sampler); every second, each counter chain's
  refresh (counters of older generations still draining: lb.carry);
- the outcome of reloads for `lbctl reload` clients waiting on the control
  socket: success with the new generation and what it changes, or the
  errors that kept the running generation.
"""

from __future__ import annotations

import signal
import socket
import time
from typing import TYPE_CHECKING, Any

from lb import controlsock
from lb.config.diagnostics import format_diagnostic
from lb.config.diff import config_diff
from lb.config.model import Config
from lb.controlsock import ControlProtocol, Reply
from lb.runtime_api import channels, commands
from lb.runtime_api.server import StatsSockets
from lb.runtime_api.session import Session
from lb.runtime_api.state import RuntimeState
from lb.sockserver import SocketServer

if TYPE_CHECKING:
    from lb.generation import Generation
    from lb.master import Master

SAMPLE_EVERY = 0.2  # seconds between sampler passes
CARRY_EVERY = 1.0  # seconds between counter chain refreshes (workers publish once a second)


class Operations:
    def __init__(self, master: "Master") -> None:
        self.master = master
        self.selector = master.selector
        self.state = RuntimeState(master, on_change=self.log_change)
        self.stats = StatsSockets(self.selector, self.state)
        self.control = SocketServer(self.selector, lambda spec: ControlProtocol(self))
        self.asked: list[Reply] = []  # reload requests not started yet
        self.waiting: list[Reply] = []  # requests the running reload will answer
        self.diff: list[str] = []
        self.next_sample = 0.0
        self.next_carry = 0.0

    @property
    def pid(self) -> int:
        return self.master.pid

    def open(self, config: Config) -> list[str]:
        """At start: the control socket, then the stats sockets."""
        try:
            errors = self.control.open([controlsock.control_spec(self.master.paths)])
        except Exception as exc:  # noqa: BLE001  LbError from an unsafe runtime directory
            errors = [str(exc)]
        return errors or self.stats.prepare(config)

    def fds(self) -> list[int]:
        """Descriptors a child must close after fork: listening sockets, clients, the selector."""
        fds = [self.selector.fileno()] if hasattr(self.selector, "fileno") else []
        for server in (self.stats.server, self.control):
            for item in list(server.listening.values()) + server.retired:
                fds.append(item.sock.fileno())
                fds += [client.sock.fileno() for client in item.clients]
        for generation in self.master.generations:
            fds += [channel.sock.fileno() for channel in generation.channels.values() if not channel.closed]
        return [fd for fd in fds if fd >= 0]

    def attach_channel(self, generation: "Generation", slot: int, master_end: socket.socket) -> None:
        channels.attach(generation, slot, master_end, self.selector, self.worker_cli)

    def next_deadline(self) -> float:
        """Monotonic time the loop must wake up at, at the latest."""
        deadlines = [self.next_sample] + [d for d in (self.stats.next_deadline(), self.control.next_deadline()) if d]
        return min(deadlines)

    def poll(self) -> None:
        self.stats.poll()
        self.control.poll()
        now = time.monotonic()
        if now >= self.next_sample:
            self.next_sample = now + SAMPLE_EVERY
            epoch_ms = int(time.time() * 1000)
            for generation in self.master.generations:
                generation.sampler.tick(epoch_ms)
        if now >= self.next_carry:
            self.next_carry = now + CARRY_EVERY
            for generation in self.master.generations:
                if generation.chain.pred is not None:
                    generation.chain.refresh()

    def close(self) -> None:
        self.stats.close()
        self.control.close()

    # -- generations ----------------------------------------------------------------------

    def generation_gone(self, gone: "Generation") -> None:
        """Fold a finished generation's counts into the generations that carry it."""
        for channel in gone.channels.values():
            channel.close()
        for generation in self.master.generations:
            if generation.chain.pred is gone:
                generation.chain.absorb(gone)

    # -- reloads ---------------------------------------------------------------------------

    def reload_started(self, old: Config | None, new: Config) -> None:
        self.waiting += self.asked
        self.asked = []
        self.diff = config_diff(old, new) if old is not None else []

    def reload_prepare(self, config: Config) -> list[str]:
        return self.stats.prepare(config)

    def reload_failed(self, errors: list[str], keeping: int) -> None:
        self.answer({"ok": False, "errors": errors, "generation": keeping})

    def reload_succeeded(self, generation: "Generation", previous: int) -> None:
        self.stats.commit(generation.config)
        self.answer({"ok": True, "generation": generation.number, "previous": previous, "diff": self.diff})

    def config_errors(self, config: Config) -> list[str]:
        return [format_diagnostic(d, self.master.pid) for d in config.alerts]

    def answer(self, reply: dict) -> None:
        for waiter in self.waiting:
            waiter.answer = reply
        self.waiting = []

    # -- control socket requests --------------------------------------------------------------

    def describe(self) -> dict:
        return controlsock.describe(self.master)

    def request_stop(self, now: bool) -> None:
        self.master.signal_queue.append(signal.SIGTERM if now else signal.SIGUSR1)

    def request_reload(self, reply: Reply) -> None:
        if self.master.stopping:
            reply.answer = {"ok": False, "errors": ["the master is stopping"], "generation": 0}
            return
        self.asked.append(reply)
        self.master.signal_queue.append(signal.SIGHUP)

    def run_cli(self, line: str) -> str:
        """A runtime API command at level admin, for lbctl without a configured stats socket."""
        session = Session(commands.LEVEL_ADMIN, lambda s, args: commands.dispatch(s, args, self.state))
        session.feed(line.encode("latin-1", "replace") + b"\n")
        output = session.run()
        if session.waiting():
            return "This command needs a stats socket (it waits for the workers).\n"
        return output.decode("latin-1")

    def worker_cli(self, line: str) -> str | None:
        """A worker's "cli" request (its stats page's admin buttons; lb.runtime_api.channels)."""
        return channels.run_worker_line(self.state, line)

    def log_change(self, event: str, fields: dict[str, Any]) -> None:
        self.master.log.warning(event, **fields)
