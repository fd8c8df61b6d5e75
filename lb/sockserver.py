"""Line-protocol socket servers on the master's selectors loop (master).

Used by the stats sockets (lb.runtime_api) and the master's control socket
(lb.controlsock).  Nothing here may block the master: sockets are
non-blocking, a client's input is bounded by its protocol (which closes on
an overlong line), output is bounded by not reading more input while more
than OUTPUT_HIGH bytes wait to be sent, and a client silent or not reading
for its protocol's timeout is closed.  `maxconn` clients per listening
socket: past it the socket stops accepting (the kernel backlog holds the
rest), as HAProxy's listeners do.

A UNIX socket is bound under a temporary name, given its mode and owner,
then renamed over its path: a client never connects to a socket with the
wrong permissions, and a socket replacing another (a new master) takes its
place atomically.  The master keeps listening sockets across reloads; it
unlinks a socket's path when it closes it, if the path is still its own.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from lb.safefiles import check_directory, temporary_name

OUTPUT_HIGH = 1 << 20  # stop reading a client while this much output waits
READ_SIZE = 65536


class LineProtocol(Protocol):
    closing: bool
    eof: bool
    timeout_ms: int

    def feed(self, data: bytes) -> None: ...

    def run(self) -> bytes: ...

    def waiting(self) -> bool:
        """An answer is awaited from elsewhere: the server polls run() meanwhile."""
        ...


@dataclass(frozen=True)
class Spec:
    """A listening socket to open: a UNIX path or an inet address, and its policy."""

    key: tuple
    family: str  # "unix" | "ipv4" | "ipv6" | "fd" (inherited; the descriptor in `port`)
    path: str | None = None
    host: str = ""
    port: int = 0
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    maxconn: int = 10
    data: Any = None  # what the protocol factory needs (the stats socket's level...)
    check_dir: bool = True

    def describe(self) -> str:
        return self.path if self.family == "unix" else f"{self.family}@{self.host}:{self.port}"


def open_unix(spec: Spec) -> tuple[socket.socket, int]:
    """Bound and listening under `spec.path`; returns the socket and its inode."""
    path = spec.path or ""
    if spec.check_dir:
        check_directory(path, "socket")
    tmp = temporary_name(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(tmp)
        os.chmod(tmp, spec.mode if spec.mode is not None else 0o600)
        if spec.uid is not None or spec.gid is not None:
            os.chown(tmp, -1 if spec.uid is None else spec.uid, -1 if spec.gid is None else spec.gid)
        sock.listen(64)
        os.rename(tmp, path)
    except OSError:
        sock.close()
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    sock.setblocking(False)
    return sock, os.stat(path).st_ino


def open_inherited(fd: int) -> socket.socket:
    """`fd@N`: a copy of a listening socket this process inherited (its caller bound it)."""
    sock = socket.socket(fileno=os.dup(fd))
    sock.listen(64)
    sock.setblocking(False)
    return sock


def open_inet(spec: Spec) -> socket.socket:
    family = socket.AF_INET6 if spec.family == "ipv6" else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((spec.host, spec.port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class Listening:
    def __init__(self, spec: Spec, sock: socket.socket, inode: int = 0) -> None:
        self.spec, self.sock, self.inode = spec, sock, inode
        self.clients: set[Client] = set()
        self.accepting = False

    def unlink(self) -> None:
        """Remove the path if it is still this socket's (not a newer master's)."""
        if self.spec.family != "unix" or not self.spec.path:
            return
        try:
            if os.stat(self.spec.path).st_ino == self.inode:
                os.unlink(self.spec.path)
        except OSError:
            pass


class Client:
    def __init__(self, server: "SocketServer", listening: Listening, sock: socket.socket,
                 protocol: LineProtocol) -> None:  # fmt: skip
        self.server, self.listening, self.sock, self.protocol = server, listening, sock, protocol
        self.out = b""
        self.events = 0
        self.deadline = 0.0
        self.closed = False
        self.touch()

    def touch(self) -> None:
        self.deadline = time.monotonic() + self.protocol.timeout_ms / 1000

    def on_event(self, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            self.read()
        if not self.closed and mask & selectors.EVENT_WRITE:
            self.write()

    def read(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if data:
            self.protocol.feed(data)
        else:
            self.protocol.eof = True
        self.touch()
        self.advance()

    def advance(self) -> None:
        """Run the protocol and send what it answers (called on input and by polling)."""
        self.out += self.protocol.run()
        self.write()

    def write(self) -> None:
        while self.out:
            try:
                sent = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.close()
                return
            self.out = self.out[sent:]
            self.touch()
        if not self.out and self.protocol.closing:
            self.close()
            return
        self.update_events()

    def update_events(self) -> None:
        wanted = selectors.EVENT_WRITE if self.out else 0
        if len(self.out) < OUTPUT_HIGH and not self.protocol.waiting() and not self.protocol.closing:
            wanted |= selectors.EVENT_READ
        if self.protocol.eof:
            wanted &= ~selectors.EVENT_READ
        if wanted == self.events:
            return
        selector = self.server.selector
        if self.events and wanted:
            selector.modify(self.sock, wanted, self.on_event)
        elif wanted:
            selector.register(self.sock, wanted, self.on_event)
        else:
            selector.unregister(self.sock)
        self.events = wanted

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.events:
            self.server.selector.unregister(self.sock)
        self.sock.close()
        self.server.client_gone(self)


class SocketServer:
    """Listening sockets of one kind and their clients, on the master's selector."""

    def __init__(self, selector: selectors.BaseSelector, make_protocol: Callable[[Spec], LineProtocol]) -> None:
        self.selector = selector
        self.make_protocol = make_protocol
        self.listening: dict[tuple, Listening] = {}
        self.retired: list[Listening] = []  # closed, but with clients still being answered

    def open(self, specs: list[Spec]) -> list[str]:
        """Open the sockets of `specs` not open yet; on any failure close what this
        call opened and return the errors (nothing changes)."""
        opened, errors = [], []
        for spec in specs:
            if spec.key in self.listening:
                continue
            try:
                if spec.family == "unix":
                    sock, inode = open_unix(spec)
                elif spec.family == "fd":
                    sock, inode = open_inherited(spec.port), 0
                else:
                    sock, inode = open_inet(spec), 0
            except OSError as exc:
                errors.append(f"cannot bind socket {spec.describe()}: {exc.strerror or exc}")
                continue
            except Exception as exc:  # noqa: BLE001  lb.errors.LbError from an unsafe directory
                errors.append(str(exc))
                continue
            opened.append(Listening(spec, sock, inode))
        if errors:
            for item in opened:
                item.sock.close()
                item.unlink()
            return errors
        for item in opened:
            self.listening[item.spec.key] = item
            self.set_accepting(item, True)
        return []

    def update(self, specs: list[Spec]) -> None:
        """Keep the sockets of `specs` (their policy may change), close the others."""
        wanted = {spec.key: spec for spec in specs}
        for key in list(self.listening):
            if key not in wanted:
                self.close_listening(self.listening.pop(key))
            else:
                self.listening[key].spec = wanted[key]

    def set_accepting(self, item: Listening, on: bool) -> None:
        if on and not item.accepting:
            self.selector.register(item.sock, selectors.EVENT_READ, lambda mask, item=item: self.accept(item))
        elif not on and item.accepting:
            self.selector.unregister(item.sock)
        item.accepting = on

    def accept(self, item: Listening) -> None:
        while len(item.clients) < item.spec.maxconn:
            try:
                sock, _addr = item.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return  # no descriptor now: the connection waits in the backlog
                return
            sock.setblocking(False)
            client = Client(self, item, sock, self.make_protocol(item.spec))
            item.clients.add(client)
            client.update_events()
            client.advance()
        self.set_accepting(item, False)

    def client_gone(self, client: Client) -> None:
        item = client.listening
        item.clients.discard(client)
        if self.listening.get(item.spec.key) is item:
            self.set_accepting(item, True)
        elif item in self.retired and not item.clients:
            self.retired.remove(item)

    def poll(self) -> None:
        """Timeouts and answers that became ready (called by the master every pass)."""
        now = time.monotonic()
        for item in list(self.listening.values()) + list(self.retired):
            for client in list(item.clients):
                if client.protocol.waiting():
                    client.advance()
                if not client.closed and now >= client.deadline:
                    client.close()

    def next_deadline(self) -> float | None:
        deadlines = [c.deadline for item in self.listening.values() for c in item.clients]
        return min(deadlines) if deadlines else None

    def close_listening(self, item: Listening) -> None:
        """Stop accepting on `item` and unlink its path; its clients finish."""
        self.set_accepting(item, False)
        item.sock.close()
        item.unlink()
        if item.clients:
            self.retired.append(item)

    def close(self) -> None:
        for item in list(self.listening.values()):
            for client in list(item.clients):
                client.close()
            self.close_listening(item)
        self.listening.clear()
        for item in self.retired:
            for client in list(item.clients):
                client.close()
        self.retired = []
