"""Runtime API: `show sess` and `shutdown session`, answered with the workers' help (master).

The master asks every live worker over its channel (lb.runtime_api.channels)
and answers once all have answered or REQUEST_TIMEOUT has passed.  Lines are
the workers' own, in HAProxy's summary form (`0x...: proto=... src=...
fe=... be=... srv=... age=...`); a worker that could not answer is named
in a comment line, so an empty list is never mistaken for "no sessions".
"""

from __future__ import annotations

from lb.runtime_api.channels import Gathering, session_owner
from lb.runtime_api.commands import LEVEL_ADMIN, LEVEL_OPERATOR, CliError, Pending, Request, command


def parse_session_id(text: str) -> int:
    """strtoul(text, NULL, 0): 0x hex, 0 octal, else decimal; 0 when not a number."""
    text = text.strip()
    try:
        if text.lower().startswith("0x"):
            return int(text[2:], 16)
        if text.startswith("0") and len(text) > 1:
            return int(text[1:], 8)
        return int(text, 10)
    except ValueError:
        return 0


class SessionList(Pending):
    def __init__(self, gathering: Gathering, names: dict[tuple[int, int], str], target: int | None) -> None:
        self.gathering, self.names, self.target = gathering, names, target

    def ready(self) -> bool:
        return self.gathering.done()

    def result(self) -> str:
        lines: list[str] = []
        for answer in self.gathering.answers:
            lines += [str(line) for line in answer.get("lines", [])]
        if self.target is not None:
            lines = [line for line in lines if parse_session_id(line.split(":", 1)[0]) == self.target]
        silent = self.gathering.expected - len(self.gathering.answers)
        if silent:
            lines.append(f"# {silent} worker(s) could not list their sessions")
        return "".join(f"{line}\n" for line in lines)


@command("show", "sess",
         usage="show sess [id]                          : "
               "report the list of current sessions or dump this exact session")
def cmd_show_sess(req: Request) -> Pending:
    req.need(LEVEL_OPERATOR)
    target = parse_session_id(req.arg(2)) if req.arg(2) and req.arg(2) != "all" else None
    channels = [channel for generation in req.state.live() for channel in generation.channels.values()]
    names = {(c.generation, c.slot): f"worker {c.slot + 1} gen {c.generation}" for c in channels}
    return SessionList(Gathering(channels, {"cmd": "show sess"}), names, target)


class Shutdown(Pending):
    def __init__(self, gathering: Gathering) -> None:
        self.gathering = gathering

    def ready(self) -> bool:
        return self.gathering.done()

    def result(self) -> str:
        if any(answer.get("found") for answer in self.gathering.answers):
            return ""
        return "No such session (use 'show sess').\n"


@command("shutdown", "session", usage="shutdown session [id]                   : kill a specific session")
def cmd_shutdown_session(req: Request) -> Pending:
    req.need(LEVEL_ADMIN)
    session_id = parse_session_id(req.arg(2))
    if not session_id:
        raise CliError("Session pointer expected (use 'show sess').\n")
    generation_number, slot = session_owner(session_id)
    channels = [channel for generation in req.state.live() if generation.number == generation_number
                for s, channel in generation.channels.items() if s == slot]  # fmt: skip
    return Shutdown(Gathering(channels, {"cmd": "shutdown session", "session": session_id}))
