"""The stats page's admin form: a POST turned into runtime API command lines (worker).

HAProxy's stats_process_http_post, with lb's runtime API doing the work:
the body `s=<server>&...&action=<action>&b=<backend>` (a form, `+` and
`%XX` decoded) is read from its end, so the last `b` and the last `action`
win, and every `s` is applied once both are known.  Each server an action
applies to becomes one command line, run in the master exactly as a stats
socket client's (ServiceContext.ask_master), and the outcome is HAProxy's
result code, shown by the page after its 303 redirect:

    NONE  no server named (or none the action applies to)
    DONE  every named server changed
    PART  some did: others are unknown (or the master refused)
    ERRP  none did, or the backend or the action is unknown, or a key is too long
    UNKN  the master could not be asked (lb: no answer on the control channel)

Actions HAProxy applies only to some servers are counted the same way:
health checks only where a check is configured, agent actions nowhere (lb
has no agent checks), `shutdown` only in an enabled backend, the legacy
`disable`/`enable`/`stop`/`start` only when they change the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lb.config.model import Config, Proxy, Server
from lb.shm import layout
from lb.stats.objects import proxy_ids

LINESIZE = 2048  # HAProxy's key buffer: a longer parameter is invalid
STATE_ACTIONS = {"ready": "state ready", "drain": "state drain", "maint": "state maint"}
HEALTH_ACTIONS = {"hrunn": "health up", "hnolb": "health stopping", "hdown": "health down"}
AGENT_ACTIONS = ("dagent", "eagent", "arunn", "adown")
LEGACY = ("disable", "enable", "stop", "start")
ACTIONS = (*STATE_ACTIONS, *HEALTH_ACTIONS, *AGENT_ACTIONS, *LEGACY, "dhlth", "ehlth", "shutdown")


@dataclass
class Posted:
    """What a POST asks: an error code, or the backend, action and server names."""

    error: str = ""  # "ERRP" when the body is refused as a whole
    backend: Proxy | None = None
    action: str = ""
    servers: list[str] = field(default_factory=list)  # in the order HAProxy applies them (last first)


def form_decode(text: str) -> str | None:
    """A form value: `+` is a space, `%XX` a byte; None for a malformed `%` (HAProxy's url_decode)."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "%":
            code = text[i + 1 : i + 3]
            if len(code) != 2 or any(c not in "0123456789abcdefABCDEF" for c in code):
                return None
            out.append(chr(int(code, 16)))
            i += 3
            continue
        out.append(" " if char == "+" else char)
        i += 1
    return "".join(out)


def find_backend(config: Config, name: str) -> Proxy | None:
    """`b=`: a backend name, or `#<id>` (HAProxy's proxy_be_by_name)."""
    if name.startswith("#"):
        ids = proxy_ids(config)
        digits = name[1:]
        wanted = int(digits) if digits.isdigit() else -1
        return next((p for p in config.backends.values() if ids.get(id(p)) == wanted and not p.disabled), None)
    backend = config.backends.get(name)
    return backend if backend is not None and not backend.disabled else None


def parse_post(body: bytes, config: Config) -> Posted:
    posted = Posted()
    params = body.decode("latin-1").split("&")
    for raw in reversed(params):
        if len(raw) + 1 > LINESIZE:
            return Posted(error="ERRP")
        raw_key, _eq, raw_value = raw.partition("=")
        key, value = form_decode(raw_key), form_decode(raw_value)
        if key is None or value is None:
            break  # HAProxy stops reading at a malformed escape
        if posted.backend is None and key == "b":
            posted.backend = find_backend(config, value)
            if posted.backend is None:
                return Posted(error="ERRP")
        elif not posted.action and key == "action":
            if value not in ACTIONS:
                return Posted(error="ERRP")
            posted.action = value
        elif key == "s":
            posted.servers.append(value)
    if posted.backend is None or not posted.action:
        posted.servers = []  # HAProxy applies servers only once both are known
    return posted


def command_line(action: str, backend: Proxy, server: Server, admin: int) -> str | None:
    """The runtime API line for one server, None when the action does not apply to it."""
    target = f"{backend.name}/{server.name}"
    if action in STATE_ACTIONS:
        return f"set server {target} {STATE_ACTIONS[action]}"
    if action in HEALTH_ACTIONS:
        return f"set server {target} {HEALTH_ACTIONS[action]}"
    if action in ("dhlth", "ehlth"):
        return f"{'disable' if action == 'dhlth' else 'enable'} health {target}" if server.check else None
    if action == "shutdown":
        return None if backend.disabled else f"shutdown sessions server {target}"
    legacy = {"disable": (admin != layout.ADMIN_MAINT, f"disable server {target}"),
              "enable": (admin == layout.ADMIN_MAINT, f"enable server {target}"),
              "stop": (admin != layout.ADMIN_DRAIN, f"set server {target} state drain"),
              "start": (admin == layout.ADMIN_DRAIN, f"set server {target} state ready")}  # fmt: skip
    applies, line = legacy.get(action, (False, ""))
    return line if applies else None  # agent actions: lb has no agent check to act on


def plan(posted: Posted, config: Config, admin_of: Callable[[Proxy, Server], int]) -> tuple[list[str], int]:
    """(command lines to run, servers named that are unknown)."""
    lines, unknown = [], 0
    backend = posted.backend
    if backend is None:
        return [], 0
    by_name = {server.name: server for server in backend.servers}
    for name in posted.servers:
        server = by_name.get(name)
        if server is None:
            unknown += 1
            continue
        line = command_line(posted.action, backend, server, admin_of(backend, server))
        if line is not None:
            lines.append(line)
    return lines, unknown


def outcome(total: int, altered: int, unreachable: bool) -> str:
    """HAProxy's result code once every line was answered."""
    if unreachable:
        return "UNKN"
    if total == 0:
        return "NONE"
    if altered == 0:
        return "ERRP"
    return "DONE" if altered == total else "PART"


class Apply:
    """Runs the lines through `ask` (all sent at once, answered in order) and reports the code."""

    def __init__(self, lines: list[str], unknown: int, ask: Callable, done: Callable[[str], None]) -> None:
        self.pending, self.total, self.altered = len(lines), len(lines) + unknown, 0
        self.unreachable, self.done = False, done
        if not lines:
            done(outcome(self.total, 0, False))
            return
        for line in lines:
            ask(line, self.answered)

    def answered(self, text: str | None) -> None:
        if text is None:
            self.unreachable = True
        elif text == "":
            self.altered += 1
        self.pending -= 1
        if self.pending == 0:
            self.done(outcome(self.total, self.altered, self.unreachable))
