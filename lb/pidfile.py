"""The pidfile: written by the master, read by lbctl (master, cli)."""

from __future__ import annotations

import os

from lb.util import pid_alive


def write(path: str, pid: int) -> None:
    """Write atomically, so a reader never sees a half-written pid."""
    tmp = f"{path}.{pid}.tmp"
    with open(tmp, "w") as fh:
        fh.write(f"{pid}\n")
    os.replace(tmp, path)


def read(path: str) -> int | None:
    """The pid in `path` if the file exists and that process is alive."""
    try:
        with open(path) as fh:
            pid = int(fh.read().strip() or 0)
    except (OSError, ValueError):
        return None
    return pid if pid > 0 and pid_alive(pid) else None


def remove(path: str, pid: int) -> None:
    """Remove the file only if it still names `pid` (a newer master may own it)."""
    try:
        with open(path) as fh:
            if int(fh.read().strip() or 0) != pid:
                return
        os.unlink(path)
    except (OSError, ValueError):
        pass
