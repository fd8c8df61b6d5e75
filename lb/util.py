"""Small process helpers shared by the master and its children (master, worker, checker)."""

from __future__ import annotations

import os
import signal
import socket
import time

try:
    import setproctitle as _setproctitle

    # Read once at import, before anything changes os.environ (setproctitle
    # reuses the environ area; gunicorn issue #3430).
    _setproctitle.getproctitle()
except ImportError:  # pragma: no cover - setproctitle is a dependency
    _setproctitle = None  # type: ignore[assignment]

PROCTITLE_PREFIX = "lb: "


def set_proctitle(title: str) -> None:
    """`lb: <title>` in ps/top; a no-op when setproctitle is missing."""
    if _setproctitle is not None:
        _setproctitle.setproctitle(PROCTITLE_PREFIX + title)


def monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


def reset_signals() -> None:
    """In a freshly forked child: default dispositions, no wakeup fd of the parent."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGQUIT, signal.SIGCHLD, signal.SIGTTIN, signal.SIGTTOU):  # fmt: skip
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def peer_address(addr: tuple) -> tuple[str, int]:
    """(ip, port) of an AF_INET/AF_INET6 sockaddr, IPv4-mapped IPv6 shown as IPv4."""
    host, port = addr[0], addr[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host, port


def pid_alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def tune_stream_socket(sock: socket.socket) -> None:
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def drop_privileges(user: str | None, group: str | None, chroot: str | None) -> None:
    """In a child of a root master: chroot, then group, then user (HAProxy's order).

    The master keeps its privileges so that a reload can read the
    configuration and bind new ports, as HAProxy's master does.
    """
    if os.getuid() != 0:
        return
    import grp
    import pwd

    uid = pwd.getpwnam(user).pw_uid if user else None
    gid = grp.getgrnam(group).gr_gid if group else (pwd.getpwnam(user).pw_gid if user else None)
    if chroot:
        os.chroot(chroot)
        os.chdir("/")
    if gid is not None:
        os.setgroups([])
        os.setgid(gid)
    if uid is not None:
        os.setuid(uid)


def detach() -> None:
    """The daemon's second step, in the child of its first fork: a new session, a
    second fork whose parent exits (so the daemon can never get a terminal back),
    and stdin/stdout/stderr on /dev/null."""
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
