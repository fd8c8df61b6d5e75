"""Master <-> worker request channels, for commands that need the workers' streams (master).

`show sess` and `shutdown session` concern streams only a worker knows.
Each worker gets one end of a socketpair made by the master before the fork
(`Generation.spawn_worker` stores it as `Worker.control_channel`); the
master keeps the other end on its selector.  Protocol, one JSON object per
line each way:

    worker -> master   {"hello": 1}        once its loop runs: it answers requests
    master -> worker   {"id": 7, "cmd": "show sess"}
    worker -> master   {"id": 7, "lines": ["0x1000000002a: proto=tcpv4 src=... fe=... be=... srv=..."]}
    master -> worker   {"id": 8, "cmd": "shutdown session", "session": 1099511627818}
    worker -> master   {"id": 8, "found": true}

A session id names its worker: generation << 40 | slot << 32 | a number the
worker chose (32 bits), printed as HAProxy prints stream pointers (0x...).
A worker that never said hello is not asked (an engine without the hook);
one that does not answer within REQUEST_TIMEOUT is left out of the answer.
"""

from __future__ import annotations

import selectors
import socket
import time
from typing import Any, Callable

from lb.jsonlines import GONE, encode, read_messages, send_some
from lb.runtime_api import commands
from lb.runtime_api.session import Session

REQUEST_TIMEOUT = 1.0
MAX_LINE = 1 << 22  # a worker's answer (every session of a busy worker) fits in 4 MB
MAX_OUTBOX = 1 << 24  # answers a worker does not read: past this, the channel is closed
Cli = Callable[[str], "str | None"]  # one command line -> its answer text (None: refused)


def session_owner(session_id: int) -> tuple[int, int]:
    """(generation, slot) of the worker that owns a session id."""
    return session_id >> 40, (session_id >> 32) & 0xFF


class WorkerChannel:
    def __init__(self, sock: socket.socket, selector: selectors.BaseSelector, generation: int, slot: int,
                 cli: Cli | None = None) -> None:  # fmt: skip
        self.sock, self.selector = sock, selector
        self.generation, self.slot = generation, slot
        self.cli = cli  # runs a worker's "cli" request; None: refused
        self.capable = False  # the worker said hello
        self.buffer = b""
        self.outbox = bytearray()  # messages not sent yet (the socket buffer was full)
        self.events = selectors.EVENT_READ
        self.waiters: dict[int, Callable[[dict | None], None]] = {}
        self.next_id = 1
        self.closed = False
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, self.on_event)

    def request(self, message: dict, done: Callable[[dict | None], None]) -> None:
        """Send a request; `done` gets the answer, or None if the worker cannot answer."""
        if self.closed or not self.capable:
            done(None)
            return
        message = {**message, "id": self.next_id}
        self.waiters[self.next_id] = done
        self.next_id += 1
        self.send(message)  # queued behind any answer not sent yet

    def on_event(self, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self.flush()
        if mask & selectors.EVENT_READ and not self.closed:
            self.on_readable()

    def on_readable(self) -> None:
        messages, pending = read_messages(self.sock, self.buffer, MAX_LINE)
        for message in messages:
            self.receive(message)
        if pending is GONE:
            self.close()
        else:
            self.buffer = pending

    def receive(self, message: dict) -> None:
        if message.get("hello"):
            self.capable = True
            return
        if "cmd" in message:
            self.answer_request(message)
            return
        done = self.waiters.pop(message.get("id", -1), None)
        if done is not None:
            done(message)

    def answer_request(self, message: dict) -> None:
        """A worker's request: "cli" runs its line in the runtime API (see the module docstring)."""
        line = message.get("line")
        answer = None
        if message.get("cmd") == "cli" and isinstance(line, str) and "\n" not in line and self.cli is not None:
            answer = self.cli(line)
        self.send({"id": message.get("id"), "answer": answer})

    def send(self, message: dict) -> None:
        self.outbox += encode(message)
        if len(self.outbox) > MAX_OUTBOX:
            self.close()
            return
        self.flush()

    def flush(self) -> None:
        if self.closed:
            return
        if not send_some(self.sock, self.outbox):
            self.close()
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbox else 0)
        if events != self.events:
            self.events = events
            self.selector.modify(self.sock, events, self.on_event)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.selector.unregister(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()
        for done in self.waiters.values():
            done(None)
        self.waiters.clear()


class Gathering:
    """Answers of several workers to one request, ready when all came or time ran out."""

    def __init__(self, channels: list[WorkerChannel], message: dict, timeout: float = REQUEST_TIMEOUT) -> None:
        self.answers: list[dict] = []
        self.missing = 0
        self.deadline = time.monotonic() + timeout
        self.expected = len(channels)
        self.received = 0
        for channel in channels:
            channel.request(message, self.collect)

    def collect(self, answer: dict | None) -> None:
        self.received += 1
        if answer is None:
            self.missing += 1
        else:
            self.answers.append(answer)

    def done(self) -> bool:
        return self.received >= self.expected or time.monotonic() >= self.deadline


def attach(generation: Any, slot: int, master_end: socket.socket, selector: selectors.BaseSelector,
           cli: Cli | None = None) -> None:  # fmt: skip
    """Keep the master's end of a new worker's channel (replacing a dead worker's);
    `cli` runs the worker's command lines (the runtime API at level admin)."""
    old = generation.channels.get(slot)
    if old is not None:
        old.close()
    generation.channels[slot] = WorkerChannel(master_end, selector, generation.number, slot, cli)


def run_worker_line(state: Any, line: str) -> str | None:
    """A worker's "cli" line run as a stats socket client's at level admin: the
    answer text without the newline the non-interactive prompt adds after it,
    None for a command that would wait for the workers."""
    session = Session(commands.LEVEL_ADMIN, lambda s, args: commands.dispatch(s, args, state))
    session.feed(line.encode("latin-1", "replace") + b"\n")
    output = session.run().decode("latin-1")
    if session.waiting():
        return None
    return output[:-1] if output.endswith("\n") else output
