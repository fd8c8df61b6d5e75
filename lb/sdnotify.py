"""systemd's readiness protocol, sd_notify(3), in the standard library (master).

Under a `Type=notify` unit systemd passes `$NOTIFY_SOCKET`, a unix datagram
socket (a path, or `@name` in the abstract namespace), and waits for the
service to say `READY=1` before it considers the start done and runs what is
ordered after it.  lb's master says so once its first generation is active
(every worker booted on its sockets), `RELOADING=1` while a newer generation
boots and `READY=1` again once it is active or given up, and `STOPPING=1`
when it stops.  Without `$NOTIFY_SOCKET` nothing is sent.

`ReadinessNotifier.update()` is called by the master after each pass of its
loop; it derives the state from the generations and sends only changes.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any

from lb.generation import ACTIVE, STARTING


def notify(fields: Iterable[str], environ: Mapping[str, str] | None = None) -> bool:
    """Send `KEY=value` fields to `$NOTIFY_SOCKET`; False when unset or unreachable.

    Never raises: a supervisor that went away must not take the master with it.
    """
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False  # unset, or a transport lb does not speak (vsock:)
    target = "\0" + address[1:] if address[0] == "@" else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall("\n".join(fields).encode())
    except OSError:
        return False
    return True


def readiness_state(generations: Iterable[Any], stopping: bool) -> str | None:
    """"ready", "reloading", "stopping", or None while the first generation boots."""
    states = {generation.state for generation in generations}
    if stopping:
        return "stopping"
    if ACTIVE in states:
        return "reloading" if STARTING in states else "ready"
    return None


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in µs: systemd ≥ 253 wants it beside RELOADING=1 (Type=notify-reload)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class ReadinessNotifier:
    """Sends each change of the master's readiness state once."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ
        self.state: str | None = None

    def update(self, generations: Iterable[Any], stopping: bool) -> None:
        generations = list(generations)
        state = readiness_state(generations, stopping)
        if state is None or state == self.state:
            return
        self.state = state
        active = [g.number for g in generations if g.state == ACTIVE]
        if state == "ready":
            fields = ["READY=1", f"STATUS=generation {max(active)} active", f"MAINPID={os.getpid()}"]
        elif state == "reloading":
            fields = ["RELOADING=1", f"MONOTONIC_USEC={monotonic_usec()}", "STATUS=reloading"]
        else:
            fields = ["STOPPING=1", "STATUS=stopping"]
        notify(fields, self.environ)
