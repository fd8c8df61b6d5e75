"""The worker's side of the runtime API (worker).

The master serves the stats socket and writes what a command changes into
its own fields of shared memory (lb.shm.layout, "Runtime API fields"); a
worker follows them here, every FOLLOW_EVERY seconds:

- `fe_maxconn`, `fe_disabled` and `control[CTRL_MAXCONN]`: the limits and the
  pause of each frontend's listeners (`set maxconn frontend|global`,
  `disable|enable frontend`);
- `srv_shutdown`: a change means `shutdown sessions server`: every stream of
  this worker on that server ends, logged with termination state `K`;
- `control[CTRL_CLEAR_EPOCH]`: `clear counters` zeroes this worker's maxima
  (and with `all` its time averages too), acknowledged in `stats_ack`;
- `versions[ADMIN_VERSION]`: a raised server maxconn may let queued streams go.

Commands about streams only a worker knows (`show sess`, `shutdown session`)
come over the worker's control channel (lb.runtime_api.channels), and so
does the other direction: `ask_master()` runs a runtime API command line in
the master for the stats page's admin buttons.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lb.jsonlines import GONE, encode, read_messages, send_some
from lb.shm import layout

if TYPE_CHECKING:
    from workers.base import Worker
    from workers.client import ClientConn

FOLLOW_EVERY = 0.2
ASK_TIMEOUT = 2.0  # the master answers a command line at once; past this it is taken as gone
MAX_LINE = 1 << 20
READ, WRITE = 1, 2
CLEARED_MAX = [layout.COUNTER[name] for name in layout.CLEARED_MAX]
CLEARED_ALL = [layout.COUNTER[name] for name in layout.CLEARED_ALL]


class RuntimeFollower:
    """Applies the master's runtime fields to this worker (see the module's docstring)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        shm = worker.shm
        self.shm = shm
        self.shutdown_seen = list(shm.srv_shutdown)
        self.admin_seen = shm.versions[layout.ADMIN_VERSION]
        self.clear_seen = shm.control[layout.CTRL_CLEAR_EPOCH]
        shm.stats_ack[worker.slot] = self.clear_seen  # nothing of an earlier epoch left to clear

    def start(self) -> None:
        self.follow()

    def follow(self) -> None:
        """Re-armed first: a failure below (reported by the loop) does not stop following."""
        self.worker.loop.call_later(FOLLOW_EVERY, self.follow)
        self.apply_limits()
        self.apply_shutdowns()
        self.apply_clear()
        self.apply_admin()

    def apply_limits(self) -> None:
        worker, shm = self.worker, self.shm
        worker.maxconn = shm.control[layout.CTRL_MAXCONN] or worker.configured_maxconn
        for frontend in worker.runtime.frontends.values():
            frontend.maxconn = shm.fe_maxconn[frontend.obj]
            frontend.disabled = bool(shm.fe_disabled[frontend.obj])
        worker.apply_limits()

    def apply_shutdowns(self) -> None:
        current = self.shm.srv_shutdown
        for index, seen in enumerate(self.shutdown_seen):
            if current[index] != seen:
                self.shutdown_seen[index] = current[index]
                for client in list(self.worker.clients):
                    if client.on_server(index):
                        client.kill()

    def apply_clear(self) -> None:
        shm, slot = self.shm, self.worker.slot
        epoch = shm.control[layout.CTRL_CLEAR_EPOCH]
        if epoch == self.clear_seen:
            return
        self.clear_seen = epoch
        cells = CLEARED_MAX + (CLEARED_ALL if shm.control[layout.CTRL_CLEAR_ALL] == epoch else [])
        for obj in self.worker.runtime.counted():
            for cell in cells:
                obj.counters[obj.counter_base + cell] = 0
            if len(cells) > len(CLEARED_MAX):
                obj.t_samples = 0
        shm.stats_ack[slot] = epoch

    def apply_admin(self) -> None:
        """`set maxconn server` may have made room: queued streams retry (HAProxy's
        process_srv_queue after a maxconn change)."""
        version = self.shm.versions[layout.ADMIN_VERSION]
        if version == self.admin_seen:
            return
        self.admin_seen = version
        for backend in self.worker.runtime.backends.values():
            for server in backend.servers:
                if (server.queue or backend.queue) and server.has_room():
                    backend.on_slot_freed(server)


class ControlChannel:
    """The worker's end of its socketpair with the master: JSON lines each way."""

    def __init__(self, worker: Worker, sock: socket.socket) -> None:
        self.worker = worker
        self.sock = sock
        self.inbox = b""
        self.outbox = bytearray()
        self.mask = 0
        self.asked: dict[int, Callable[[str | None], None]] = {}
        self.next_id = 1
        self.closed = False

    def start(self) -> None:
        self.sock.setblocking(False)
        self.set_mask(READ)
        self.send({"hello": 1})

    def set_mask(self, mask: int) -> None:
        loop = self.worker.loop
        if mask and not self.mask:
            loop.register(self.sock, mask, self.on_event)
        elif mask and mask != self.mask:
            loop.modify(self.sock, mask, self.on_event)
        elif not mask and self.mask:
            loop.unregister(self.sock)
        self.mask = mask

    # -- both directions ------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        self.outbox += encode(message)
        self.flush()

    def flush(self) -> None:
        if not send_some(self.sock, self.outbox):
            self.close()
            return
        self.set_mask(READ | WRITE if self.outbox else READ)

    def on_event(self, mask: int) -> None:
        if mask & WRITE:
            self.flush()
        if mask & READ and not self.closed:
            self.read()

    def read(self) -> None:
        messages, pending = read_messages(self.sock, self.inbox, MAX_LINE)
        for message in messages:
            self.receive(message)
        if pending is GONE:
            self.close()
        else:
            self.inbox = pending

    def receive(self, message: dict) -> None:
        if "cmd" in message:
            self.send({"id": message.get("id"), **answer(self.worker, message)})
            return
        callback = self.asked.pop(message.get("id", -1), None)
        if callback is not None:
            text = message.get("answer")
            callback(text if isinstance(text, str) else None)

    # -- asking the master ----------------------------------------------------------------

    def ask(self, line: str, callback: Callable[[str | None], None]) -> None:
        """Run `line` in the master's runtime API (admin level); `callback` gets its
        answer, or None when the master cannot answer."""
        if self.closed:
            callback(None)
            return
        ident, self.next_id = self.next_id, self.next_id + 1
        self.asked[ident] = callback
        self.send({"id": ident, "cmd": "cli", "line": line})
        self.worker.loop.call_later(ASK_TIMEOUT, self.give_up, ident)

    def give_up(self, ident: int) -> None:
        callback = self.asked.pop(ident, None)
        if callback is not None:
            callback(None)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.set_mask(0)
        self.sock.close()
        asked, self.asked = self.asked, {}
        for callback in asked.values():
            callback(None)


def answer(worker: Worker, message: dict[str, Any]) -> dict[str, Any]:
    """The reply to one of the master's requests."""
    command = message.get("cmd")
    if command == "show sess":
        return {"lines": [describe(worker, client) for client in list(worker.clients)]}
    if command == "shutdown session":
        wanted = message.get("session")
        for client in list(worker.clients):
            if session_id(worker, client) == wanted:
                client.kill()
                return {"found": True}
        return {"found": False}
    return {"error": f"unknown request {command!r}"}


def session_id(worker: Worker, client: ClientConn) -> int:
    """generation << 40 | slot << 32 | the connection's number (lb.runtime_api.channels)."""
    return worker.generation << 40 | worker.slot << 32 | (client.serial & 0xFFFFFFFF)


def describe(worker: Worker, client: ClientConn) -> str:
    """HAProxy's `show sess` summary line of one client connection."""
    facts = client.facts
    family = "tcpv6" if ":" in facts.client_ip else "unix" if not facts.client_port else "tcpv4"
    backend, server = client.target()
    age = human_time(int(worker.loop.now - client.accept_time))
    return (
        f"0x{session_id(worker, client):x}: proto={family} src={facts.client_ip}:{facts.client_port} "
        f"fe={client.frontend.name} be={backend or '<NONE>'} srv={server or '<none>'} age={age}"
    )


def human_time(seconds: int) -> str:
    """HAProxy's human_time(): the two largest non-zero units of d/h/m/s ("1h5m", "2d", "0s")."""
    if seconds < 0:
        return "?"
    parts: list[str] = []
    for unit, size, modulo in (("d", 86400, None), ("h", 3600, 24), ("m", 60, 60)):
        value = seconds // size if modulo is None else seconds // size % modulo
        if value and len(parts) < 2:
            parts.append(f"{value}{unit}")
    if (len(parts) < 2 and seconds % 60) or not seconds:
        parts.append(f"{seconds % 60}s")
    return "".join(parts)
