"""The master's control socket: how `lbctl stop|reload|status` reach it (master, cli).

Not configured by the user: a UNIX socket in lb's private runtime directory
(lb.safefiles.runtime_dir), named after the configuration paths as the
default pidfile is, mode 0600.  Only its owner can create a file there, so
a peer answering on that path is this configuration's master; the client
also checks the peer's credentials (SO_PEERCRED) and the paths it reports.

Protocol: one JSON object per line in, one JSON object per line out, then
the master closes.  Requests:

  {"cmd": "hello"}                 -> {"ok": true, "pid", "paths", "generation", "version", "started"}
  {"cmd": "reload"}                -> when the reload is over: {"ok": true, "generation", "previous", "diff"}
                                      or {"ok": false, "errors": [...], "generation"}
  {"cmd": "stop", "now": false}    -> {"ok": true, "pid"}; the master then stops (graceful unless now)
  {"cmd": "cli", "line": "..."}    -> {"ok": true, "output": "..."}: a runtime API command at level admin
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import time
from typing import Any

from lb import __version__
from lb.errors import LbError
from lb.safefiles import ensure_private_dir, runtime_dir
from lb.sockserver import Spec

MAX_REQUEST = 65536
TIMEOUT_MS = 60_000  # a reload may take this long to answer


def config_digest(paths: list[str]) -> str:
    return hashlib.sha1("\0".join(os.path.abspath(p) for p in paths).encode()).hexdigest()[:10]


def control_path(paths: list[str]) -> str:
    return os.path.join(runtime_dir(), f"lb-{config_digest(paths)}.sock")


def control_spec(paths: list[str]) -> Spec:
    ensure_private_dir(runtime_dir())
    return Spec(key=("control",), family="unix", path=control_path(paths), mode=0o600, maxconn=16,
                check_dir=False)  # fmt: skip


class Reply:
    """A reload's answer, filled by the master when the reload is over."""

    def __init__(self) -> None:
        self.answer: dict | None = None


class ControlProtocol:
    """One client of the control socket (master side)."""

    def __init__(self, master: Any) -> None:
        self.master = master
        self.buffer = b""
        self.closing = False
        self.eof = False
        self.timeout_ms = TIMEOUT_MS
        self.reply: Reply | None = None

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def waiting(self) -> bool:
        """A reload is running: read nothing more; the server polls `run()` until it answers."""
        return self.reply is not None

    def run(self) -> bytes:
        if self.reply is not None:
            if self.reply.answer is None:
                return b""
            return self.finish(self.reply.answer)
        line, sep, _rest = self.buffer.partition(b"\n")
        if not sep:
            if len(self.buffer) > MAX_REQUEST or self.eof:
                self.closing = True
            return b""
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            return self.finish({"ok": False, "errors": ["malformed request"]})
        return self.handle(request)

    def handle(self, request: dict) -> bytes:
        master, cmd = self.master, request.get("cmd")
        if cmd == "hello":
            return self.finish(master.describe())
        if cmd == "stop":
            master.request_stop(bool(request.get("now")))
            return self.finish({"ok": True, "pid": master.pid})
        if cmd == "reload":
            self.reply = Reply()
            master.request_reload(self.reply)
            return self.run()
        if cmd == "cli":
            return self.finish({"ok": True, "output": master.run_cli(str(request.get("line", "")))})
        return self.finish({"ok": False, "errors": [f"unknown command {cmd!r}"]})

    def finish(self, answer: dict) -> bytes:
        self.closing = True
        self.reply = None
        return json.dumps(answer).encode() + b"\n"


# -- client side (lbctl) ------------------------------------------------------------------------


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def ask(paths: list[str], request: dict, timeout: float = 10.0) -> dict | None:
    """Send one request to this configuration's master; None when no master listens there.

    Raises LbError when something answers that cannot be this configuration's master."""
    path = control_path(paths)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        except OSError as exc:
            raise LbError(f"cannot reach the master through {path}: {exc.strerror}.") from None
        if peer_uid(sock) not in (os.geteuid(), 0):
            raise LbError(f"refusing control socket {path}: it belongs to another user.")
        sock.sendall(json.dumps(request).encode() + b"\n")
        answer = read_line(sock, time.monotonic() + timeout)
    finally:
        sock.close()
    try:
        reply = json.loads(answer)
    except ValueError:
        raise LbError(f"the master's control socket {path} gave an unreadable answer.") from None
    if request.get("cmd") == "hello" and reply.get("paths") != [os.path.abspath(p) for p in paths]:
        raise LbError(f"control socket {path} answers for another configuration.")
    return reply


def read_line(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LbError("the master did not answer in time.")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise LbError("the master did not answer in time.") from None
        if not chunk:
            break
        data += chunk
    return data


def describe(master: Any) -> dict:
    active = master.active_generation()
    return {"ok": True, "pid": master.pid, "paths": [os.path.abspath(p) for p in master.paths],
            "generation": active.number if active else 0, "version": __version__, "started": master.started}
