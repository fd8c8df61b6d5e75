"""The pidfile: written by the master, read by lbctl (master, cli).

Written atomically through a temporary file created with O_EXCL|O_NOFOLLOW
(lb.safefiles), in a directory other users cannot write.  A pid read back
is only a hint: before signalling it, lbctl checks that the process is
this configuration's master (lb.control.verify_master), since a stale
pidfile may name a pid the kernel gave to another program since.
"""

from __future__ import annotations

import os

from lb.safefiles import check_directory, write_atomically
from lb.util import pid_alive


def write(path: str, pid: int) -> None:
    """Write `pid` (LbError when the directory is unsafe or the file cannot be made)."""
    check_directory(path, "pidfile")
    write_atomically(path, f"{pid}\n".encode())


def read_pid(path: str) -> int | None:
    """The number in `path`, alive or not; None when there is no readable pid."""
    try:
        with open(path) as fh:
            pid = int(fh.read().strip() or 0)
    except (OSError, ValueError):
        return None
    return pid if pid > 0 else None


def read(path: str) -> int | None:
    """The pid in `path` if the file exists and that process is alive."""
    pid = read_pid(path)
    return pid if pid is not None and pid_alive(pid) else None


def remove(path: str, pid: int) -> None:
    """Remove the file only if it still names `pid` (a newer master may own it)."""
    try:
        with open(path) as fh:
            if int(fh.read().strip() or 0) != pid:
                return
        os.unlink(path)
    except (OSError, ValueError):
        pass
