"""Listening sockets, owned by the master for its whole life (master).

For each bind address the master keeps one SO_REUSEPORT socket per worker
slot, so the kernel spreads new connections over the slots.  A socket is
never closed while its address is configured: a worker that dies or is
replaced hands its slot's socket to its successor, so connections waiting
in that accept queue are served late, never reset.  When `nbproc` shrinks,
the extra sockets stay open and are shared out among the remaining
workers (socket j goes to worker j mod nbproc) for the same reason.
`bind fd@<n>` is the exception: one inherited socket, duplicated for
every slot.

Two frontends may bind the same address (HAProxy accepts it; the kernel
splits the connections between them): each occurrence of an address, in
config order, has sockets of its own, so that no socket is handed to a
worker twice.
"""

from __future__ import annotations

import os
import socket

from lb.config.model import Bind, Config

BACKLOG = 1024
Key = tuple[int, str, int]  # Bind.key: (family, host, port)
SocketKey = tuple[Key, int]  # and which occurrence of that address, in config order


def open_listening_socket(bind: Bind) -> socket.socket:
    if "fd" in bind.options:
        return inherited_socket(bind.options["fd"])
    sock = socket.socket(bind.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((bind.host or ("::" if bind.family == socket.AF_INET6 else "0.0.0.0"), bind.port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def inherited_socket(fd: int) -> socket.socket:
    """`bind fd@<n>`: a duplicate of the inherited listening socket.  Every
    worker slot gets its own duplicate of the one socket (one accept queue
    shared by the slots); the inherited descriptor itself stays open in the
    master, so that a reload parses `fd@<n>` again and finds it."""
    sock = socket.socket(fileno=os.dup(fd))
    try:
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class ListenerSet:
    def __init__(self) -> None:
        self.sockets: dict[SocketKey, list[socket.socket]] = {}

    @staticmethod
    def binds_of(config: Config) -> list[tuple[Bind, str]]:
        """(bind, frontend name) of every enabled frontend, in config order."""
        return [(bind, fe.name) for fe in config.frontends.values() if not fe.disabled for bind in fe.binds]

    @classmethod
    def keyed_binds(cls, config: Config) -> list[tuple[Bind, str, SocketKey]]:
        """`binds_of` with the key of each bind's own sockets."""
        seen: dict[Key, int] = {}
        keyed = []
        for bind, frontend in cls.binds_of(config):
            occurrence = seen[bind.key] = seen.get(bind.key, -1) + 1
            keyed.append((bind, frontend, (bind.key, occurrence)))
        return keyed

    def prepare(self, config: Config, nworkers: int) -> list[str]:
        """Open what `config` needs beyond what is open; on any failure close
        only what this call opened and return the errors (nothing changes)."""
        opened: list[tuple[SocketKey, socket.socket]] = []
        errors: list[str] = []
        for bind, frontend, key in self.keyed_binds(config):
            have = len(self.sockets.get(key, [])) + sum(1 for k, _ in opened if k == key)
            for _ in range(max(0, nworkers - have)):
                try:
                    opened.append((key, open_listening_socket(bind)))
                except OSError as exc:
                    errors.append(f"Starting frontend {frontend}: cannot bind socket (%s) [{bind}]" % exc.strerror)
                    break
        if errors:
            for _key, sock in opened:
                sock.close()
            return errors
        for key, sock in opened:
            self.sockets.setdefault(key, []).append(sock)
        return []

    def adopt(self, key: Key, sock: socket.socket) -> None:
        """Serve `key` on an already listening socket (one taken over from the
        process an `lb-haproxy -sf` replaces); `prepare` opens only the rest."""
        self.sockets.setdefault((key, 0), []).append(sock)

    def for_slot(self, config: Config, slot: int, nworkers: int) -> list[tuple[Bind, str, socket.socket]]:
        """The sockets worker `slot` accepts on: socket j of each bind where j % nworkers == slot."""
        mine = []
        for bind, frontend, key in self.keyed_binds(config):
            for j, sock in enumerate(self.sockets.get(key, [])):
                if j % nworkers == slot:
                    mine.append((bind, frontend, sock))
        return mine

    def release_unused(self, configs: list[Config]) -> list[SocketKey]:
        """Close sockets whose address no live generation uses any more."""
        used = {key for config in configs for _bind, _fe, key in self.keyed_binds(config)}
        closed = [key for key in self.sockets if key not in used]
        for key in closed:
            for sock in self.sockets.pop(key):
                sock.close()
        return closed

    def all_sockets(self) -> list[socket.socket]:
        return [sock for socks in self.sockets.values() for sock in socks]

    def close(self) -> None:
        for socks in self.sockets.values():
            for sock in socks:
                sock.close()
        self.sockets.clear()
