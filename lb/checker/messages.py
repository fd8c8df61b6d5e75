"""Texts of health-check events, byte for byte HAProxy's: pure functions (checker).

src/check.c `check_append_info`, `set_server_check_status` and src/server.c
`srv_update_status` / `srv_append_more`:

    Health check for server be/s1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms, status: 0/2 DOWN.
    Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
    Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.
    backend 'be' has no server available!

Each builder returns a Message: what goes to stderr (`[WARNING]  (pid) : text`)
and what goes to the proxy's log targets, with the syslog level HAProxy uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lb.checker.health import display
from lb.checker.status import CONDPASS, status_of

_NAMED_ESCAPES = {"\t": "t", "\n": "n", "\r": "r", "\x1b": "e", '"': '"'}


@dataclass(frozen=True)
class Message:
    stderr_level: str  # "WARNING" | "ALERT"
    syslog_level: str  # "notice" | "alert" | "emerg"
    text: str  # stderr line body (and structlog `text`)
    syslog_text: str  # line sent to the proxy's log targets
    event: str  # structlog event name
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckFacts:
    """What a finished check tells about a server, as shown in messages."""

    status: int  # index in lb.checker.status.STATUSES
    code: int = 0
    info: str = ""
    duration: int = 0  # ms; negative: unknown (not shown)


@dataclass(frozen=True)
class Census:
    """Counts shown after a state change (`1 active and 0 backup servers left. ...`)."""

    active: int
    backup: int
    sessions: int = 0  # connections on the server, summed over worker columns
    requeued: int = 0
    queued: int = 0


def ascii_encode(text: str) -> str:
    """Non-printable characters and `"` escaped as HAProxy's chunk_asciiencode does."""
    out = []
    for char in text:
        if char in _NAMED_ESCAPES:
            out.append("\\" + _NAMED_ESCAPES[char])
        elif ord(char) < 32 or ord(char) >= 127:
            out.append(f"\\x{ord(char) & 0xFF:02x}")
        else:
            out.append(char)
    return "".join(out)


def check_info(facts: CheckFacts) -> str:
    """`, reason: ..., code: N, info: "...", check duration: Nms`."""
    status = status_of(facts.status)
    text = f", reason: {status.desc}"
    if status.shows_code:
        text += f", code: {facts.code}"
    if facts.info:
        text += f', info: "{ascii_encode(facts.info)}"'
    if facts.duration >= 0:
        text += f", check duration: {facts.duration}ms"
    return text


def health_check(backend: str, server: str, backup: bool, facts: CheckFacts,
                 health: int, rise: int, fall: int, drain: bool = False) -> Message:
    """The `option log-health-checks` line for one check that changed something."""
    status = status_of(facts.status)
    verdict = "succeeded" if status.passed else "failed"
    if status.result == CONDPASS:
        verdict = "conditionally succeeded"
    who = f"{'backup ' if backup else ''}server {backend}/{server}"
    text = f"Health check for {who} {verdict}{check_info(facts)}, status: {display(health, rise, fall, drain)}."
    fields = {"backend": backend, "server": server, "check_status": status.code, "code": facts.code,
              "duration_ms": facts.duration, "health": health}
    return Message("WARNING", "notice", text, text, "health_check", fields)


def _census_tail(census: Census, down: bool) -> str:
    backup_note = " Running on backup." if census.backup and not census.active else ""
    if down:
        return (f". {census.active} active and {census.backup} backup servers left.{backup_note}"
                f" {census.sessions} sessions active, {census.requeued} requeued, {census.queued} remaining in queue.")
    return (f". {census.active} active and {census.backup} backup servers online.{backup_note}"
            f" {census.requeued} sessions requeued, {census.queued} total in queue.")


def server_state(backend: str, server: str, backup: bool, up: bool,
                 facts: CheckFacts | None, census: Census) -> Message:
    """`Server be/s1 is DOWN, reason: ... . N active and M backup servers left. ...`.

    `facts` is None when `option log-health-checks` already told the reason
    (HAProxy then omits it from the state line).
    """
    state = "UP" if up else "DOWN"
    text = f"{'Backup ' if backup else ''}Server {backend}/{server} is {state}"
    if facts is not None:
        text += check_info(facts)
    text += _census_tail(census, down=not up)
    fields = {"backend": backend, "server": server, "state": state, "active": census.active,
              "backup": census.backup}
    return Message("WARNING", "notice" if up else "alert", text, text, "server_state", fields)


def backend_down(kind: str, backend: str) -> Message:
    """ALERT on stderr with quotes; the syslog line has none (HAProxy set_backend_down)."""
    return Message("ALERT", "emerg", f"{kind} '{backend}' has no server available!",
                   f"{kind} {backend} has no server available!", "backend_down", {"backend": backend})
