"""systemd's readiness protocol for `lb-haproxy -Ws` (master).

With `Type=notify`, systemd waits for `READY=1` on the datagram socket
named by `$NOTIFY_SOCKET` before it considers the service started, and
`ExecReload` may rely on `RELOADING=1` ... `READY=1` around a reload
(sd_notify(3)).  HAProxy's master sends READY=1 once its workers are up,
RELOADING=1 when it reloads and STOPPING=1 when it stops; lb's does the
same.  Without `$NOTIFY_SOCKET` (not started by systemd) nothing is sent.
"""

from __future__ import annotations

import os
import socket


def notify(state: str, environ: dict[str, str] | None = None) -> bool:
    """Send `state` (e.g. "READY=1\\nMAINPID=42") to systemd; False when there is no socket or it fails.

    An address starting with `@` is in the abstract namespace."""
    path = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET", "")
    if not path or path[0] not in "/@":
        return False
    address = "\0" + path[1:] if path[0] == "@" else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), address)
    except OSError:
        return False
    return True


def ready(pid: int) -> bool:
    return notify(f"READY=1\nMAINPID={pid}")


def reloading() -> bool:
    return notify("RELOADING=1")


def stopping() -> bool:
    return notify("STOPPING=1")
