"""Taking the listening sockets of the processes `-sf`/`-st` replace (master, before the first fork).

An old-style reload starts a new process and stops the old one once the
new one is up (`haproxy -f cfg -sf $(cat pidfile)`).  Binding alongside
with SO_REUSEPORT works, but the kernel resets the connections still
waiting in a listening socket's queue when its last descriptor closes, so
a busy reload would lose some.  Instead the new process takes a copy of
the old process's very sockets with pidfd_getfd(2) (Linux 5.6+, same user
or CAP_SYS_PTRACE): old and new then accept from the same queues, and when
the old process exits, nothing queued is lost.  HAProxy passes sockets
over its stats socket (`-x`, `expose-fd listeners`); this needs nothing
from the old process, lb or HAProxy alike.

When the kernel or the permissions refuse, `take_listeners` returns what
it could take and the caller binds the rest alongside (SO_REUSEPORT).
"""

from __future__ import annotations

import ctypes
import os
import socket
from typing import Iterable

Key = tuple[int, str, int]  # lb.listeners.Key: (family, host, port), host "" for IPv4 any
SYS_PIDFD_GETFD = 438  # the same number on every architecture Linux unified (x86-64, arm64 ...)


def _pidfd_getfd(pidfd: int, target_fd: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, target_fd, 0)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(fd)


def socket_fds(pid: int) -> list[int]:
    """The descriptors of `pid` that are sockets (from /proc, without touching them)."""
    found = []
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    for name in names:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                found.append(int(name))
        except (OSError, ValueError):
            continue
    return sorted(found)


def listener_key(sock: socket.socket) -> Key | None:
    """The ListenerSet key of a listening TCP socket, None for anything else."""
    if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        return None
    host, port = sock.getsockname()[:2]
    if host == "0.0.0.0":
        host = ""  # lb.config.types: the IPv4 any address is written ""
    return int(sock.family), host, port


def take_listeners(pids: Iterable[int], wanted: set[Key]) -> tuple[dict[Key, list[socket.socket]], list[str]]:
    """Copies of the listening sockets of `pids` whose address is in `wanted`.

    Returns the sockets by key (each socket once, however many processes
    or descriptors held it) and the problems met, one line per process."""
    taken: dict[Key, list[socket.socket]] = {}
    seen: set[int] = set()  # inode numbers: one socket, however many descriptors
    problems: list[str] = []
    for pid in pids:
        try:
            pidfd = os.pidfd_open(pid)
        except OSError as exc:
            problems.append(f"cannot take the listeners of process {pid}: {exc.strerror}")
            continue
        try:
            _take_from(pidfd, socket_fds(pid), wanted, taken, seen)
        except OSError as exc:
            problems.append(f"cannot take the listeners of process {pid}: {exc.strerror}")
        finally:
            os.close(pidfd)
    return taken, problems


def _take_from(pidfd: int, fds: list[int], wanted: set[Key], taken: dict[Key, list[socket.socket]],
               seen: set[int]) -> None:  # fmt: skip
    for target in fds:
        try:
            fd = _pidfd_getfd(pidfd, target)
        except OSError as exc:
            if exc.errno in (9, 22):  # EBADF/EINVAL: closed meanwhile, or not a socket any more
                continue
            raise
        sock = socket.socket(fileno=fd)
        inode = os.fstat(fd).st_ino
        key = listener_key(sock) if inode not in seen else None
        if key is None or key not in wanted:
            sock.close()
            continue
        seen.add(inode)
        sock.set_inheritable(True)
        taken.setdefault(key, []).append(sock)
