"""Where log messages go, without ever blocking the caller (worker, checker, master).

Three sinks, one send per message:

- UDP syslog: a connected, non-blocking datagram socket.  A full socket
  buffer (EAGAIN, ENOBUFS) drops the message and counts it; ICMP errors from
  a server that is not listening (ECONNREFUSED on the next send) are counted
  as errors and reported once.
- Unix datagram (`/dev/log`, `unix@path`): the same, connected lazily and
  reconnected (at most once a second) when the syslog daemon restarts.
- File descriptors (`stdout`, `stderr`, `fd@N`): one write per message, so a
  line is never split by another process's line as long as it fits in
  PIPE_BUF (4096 bytes on Linux; the default `len` is 1024).  Setting
  O_NONBLOCK on fd 1 itself would change the open file description shared
  with the master, the other workers and perhaps the user's terminal, so a
  pipe or terminal is reopened through /proc/self/fd/N: a private
  description made non-blocking, where a full pipe drops the message.  A
  socket is written with MSG_DONTWAIT.  A regular file is written as is
  (writes to files do not wait on a reader).  A message longer than PIPE_BUF
  that a pipe takes only in part is completed within 100 ms or cut; its
  newline is always written so the next line starts clean.

Sinks are opened in the process that sends (after fork), never inherited.
Whatever happens to a destination (it disappears, is full, refuses, its fd
is closed under us), `send` counts the message as dropped and returns.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import time

from lb.logs import failures

_DROP_ERRNOS = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS)
COMPLETE_WITHIN = 0.1  # seconds allowed to finish a message a pipe took in part


class Sink:
    """Counters shared by every sink; `send` never raises and never blocks.

    `dropped` counts every message that did not go out, whatever the
    reason; `errors` counts those of them lost to something else than a full
    buffer (no listener, a socket or fd gone, a bug), so `dropped - errors`
    is HAProxy's DroppedLogs.  The first loss of a sink is reported as an
    event, later ones at most once a minute (lb.logs.failures):
    HAProxy alerts once when a log server fails and counts a full one
    silently; lb reports both, without flooding.
    """

    def __init__(self, description: str) -> None:
        self.description = description
        self.sent = 0
        self.dropped = 0
        self.errors = 0

    def send(self, data: bytes) -> None:
        """Send one message; a failure is counted and reported, never raised."""
        try:
            self._send(data)
            self.sent += 1
        except OSError as exc:
            self._lost_to(exc)
        except Exception as exc:  # noqa: BLE001  a bug here must not reach the caller either
            self.lost(repr(exc))

    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _lost_to(self, exc: OSError) -> None:
        if exc.errno in _DROP_ERRNOS:
            self.lost("destination full", full=True)
        else:
            self.lost(exc.strerror or repr(exc))

    def lost(self, reason: str, full: bool = False) -> None:
        """Count one message lost to `reason` and report it without flooding."""
        self.dropped += 1
        self.errors += 0 if full else 1
        failures.report(("log send", self.description), "log send failed", "warning", target=self.description,
                        reason=reason, dropped=self.dropped)  # fmt: skip


class UdpSink(Sink):
    def __init__(self, host: str, port: int, family: int) -> None:
        super().__init__(f"udp@{host}:{port}")
        self.address = (host, port)
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # we never read it
        try:
            self.sock.connect(self.address)
            self.connected = True
        except OSError:  # no route yet: send unconnected, the route may come back
            self.connected = False

    def _send(self, data: bytes) -> None:
        if self.connected:
            self.sock.send(data)
        else:
            self.sock.sendto(data, self.address)

    def close(self) -> None:
        self.sock.close()


RETRY_EVERY = 1.0  # seconds between attempts to reach a unix log socket that went away


class UnixSink(Sink):
    def __init__(self, path: str) -> None:
        super().__init__(f"unix@{path}")
        self.path = path
        self.sock: socket.socket | None = None
        self.next_attempt = 0.0

    def _connect(self) -> socket.socket:
        now = time.monotonic()
        if now < self.next_attempt:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "not connected (next attempt within a second)")
        self.next_attempt = now + RETRY_EVERY
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        return sock

    def _send(self, data: bytes) -> None:
        sock = self.sock or self._connect()
        try:
            sock.send(data)
        except OSError as exc:
            if exc.errno not in _DROP_ERRNOS:  # the daemon went away: reconnect later
                self.close()
            raise

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class FdSink(Sink):
    def __init__(self, fd: int) -> None:
        super().__init__(f"fd@{fd}")
        self.fd = fd
        self.own_fd = -1
        self.sock: socket.socket | None = None
        self._open(fd)

    def _open(self, fd: int) -> None:
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            return
        if stat.S_ISSOCK(mode):
            self.sock = socket.socket(fileno=os.dup(fd))
        elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
            try:  # a private description of the same pipe or terminal, made non-blocking
                self.own_fd = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                self.own_fd = -1

    def _send(self, data: bytes) -> None:
        if self.sock is not None:
            self.sock.send(data, socket.MSG_DONTWAIT)
        elif self.own_fd >= 0:
            written = os.write(self.own_fd, data)
            if written < len(data):
                self._complete(memoryview(data)[written:])
        else:
            os.write(self.fd, data)

    def _complete(self, rest: memoryview) -> None:
        """Finish a message longer than PIPE_BUF, or cut it and end the line."""
        deadline = time.monotonic() + COMPLETE_WITHIN
        poller = select.poll()
        poller.register(self.own_fd, select.POLLOUT)
        while rest and time.monotonic() < deadline:
            if poller.poll(max(1, int((deadline - time.monotonic()) * 1000))):
                try:
                    rest = rest[os.write(self.own_fd, rest):]
                except BlockingIOError:
                    continue
        if rest:
            self.dropped += 1
            try:
                os.write(self.own_fd, b"\n")
            except OSError:
                pass

    def close(self) -> None:
        if self.own_fd >= 0:
            try:
                os.close(self.own_fd)
            except OSError:  # closed under us already
                pass
            self.own_fd = -1
        if self.sock is not None:
            self.sock.close()


def open_sink(kind: str, host: str = "", port: int = 0, family: int = socket.AF_INET, path: str = "",
              fd: int = -1) -> Sink:
    """A sink for one destination (UDP host:port, unix path or fd)."""
    if kind == "udp":
        return UdpSink(host, port, family)
    if kind == "unix":
        return UnixSink(path)
    return FdSink(fd)
