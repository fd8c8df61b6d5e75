"""Runtime files in places other users cannot tamper with (master, cli).

lb's own runtime files (the default pidfile, the master's control socket)
live in a directory only their owner can write: `$XDG_RUNTIME_DIR/lb`,
else `/run/lb` for root, else `/tmp/lb-<uid>`; it is created 0700 and
refused when it is a symlink, belongs to another user or is writable by
others.  Any pidfile or socket path, default or configured, is refused
when its directory is writable by other users (a world-writable `/tmp`
lets anyone plant a symlink or squat the name first).  Files are created
with O_EXCL|O_NOFOLLOW, so an existing name, symlink or not, is never
written through.
"""

from __future__ import annotations

import os
import secrets
import stat

from lb.errors import LbError


def runtime_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return os.path.join(base, "lb")
    if os.geteuid() == 0:
        return "/run/lb"
    return f"/tmp/lb-{os.geteuid()}"


def ensure_private_dir(path: str) -> str:
    """Create `path` 0700 if missing; refuse it unless it is a real directory of
    ours that no one else may write.  Returns the path."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise LbError(f"cannot create the runtime directory {path}: {exc.strerror}.") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise LbError(f"refusing runtime directory {path}: it is not a directory (a symlink?).")
    if info.st_uid != os.geteuid():
        raise LbError(f"refusing runtime directory {path}: it belongs to uid {info.st_uid}, not to us.")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise LbError(f"refusing runtime directory {path}: other users may write to it (mode "
                      f"{stat.S_IMODE(info.st_mode):04o}).")  # fmt: skip
    return path


def check_directory(path: str, what: str) -> None:
    """Refuse a file whose directory other users may write (a sticky /tmp included)."""
    directory = os.path.dirname(os.path.abspath(path)) or "/"
    try:
        info = os.stat(directory)
    except OSError as exc:
        raise LbError(f"{what} {path}: directory {directory}: {exc.strerror}.") from None
    if info.st_mode & stat.S_IWOTH:
        raise LbError(f"refusing {what} {path}: its directory {directory} is writable by other users "
                      f"(use a directory only its owner can write, such as {runtime_dir()}).")  # fmt: skip


def create_exclusive(path: str, mode: int = 0o644) -> int:
    """A new file's descriptor, or LbError when the name exists (symlink or not)."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise LbError(f"cannot create {path}: {exc.strerror}.") from None


def write_atomically(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write through a fresh temporary name in the same directory, then rename:
    readers see the old content or the new one, never half of it."""
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = create_exclusive(tmp, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


SUN_PATH_MAX = 107  # bytes of a UNIX socket's path (sun_path is 108 with its NUL)


def temporary_name(path: str) -> str:
    """A fresh name beside `path` for a socket bound then renamed into place: `path`
    with a suffix, or a short name in its directory when the suffix would take
    the name past what a UNIX socket accepts (the final path may use it all)."""
    token = secrets.token_hex(4)
    beside = f"{path}.{os.getpid()}.{token}.tmp"
    if len(os.fsencode(beside)) <= SUN_PATH_MAX:
        return beside
    return os.path.join(os.path.dirname(path), f".{token}.tmp")
