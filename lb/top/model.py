"""What `lbctl top` shows, computed from HAProxy's `show stat` CSV (cli).

Pure functions, no I/O: `parse_stat()` reads the CSV (HAProxy's management
guide, section 9.1: a `# pxname,svname,...` header, one line per frontend,
listener, backend and server), `build_lines()` turns two snapshots into the
lines of the screen (rates from the counters' growth between them), and
`transitions()` lists the servers and backends whose state changed.
Works on HAProxy's CSV and on lb's, which is the same bytes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

TYPE_NAMES = {"0": "frontend", "1": "backend", "2": "server", "3": "listener"}
# Base states of HAProxy's `status` column, which may add a transition count
# (`UP 1/3`: up, 1 failed check of the 3 that take it down).
STATE_STYLES = {"UP": "green", "OPEN": "green", "DOWN": "red", "MAINT": "blue", "DRAIN": "yellow",
                "NOLB": "yellow", "no": "dim", "FULL": "magenta", "STOP": "red"}  # fmt: skip
COLUMNS = ("name", "status", "check", "weight", "cur", "max", "limit", "rate", "total",
           "err_req", "err_conn", "err_resp", "5xx", "since")  # fmt: skip
HEADERS = ("NAME", "STATUS", "LAST CHECK", "W", "CUR", "MAX", "LIM", "RATE/s", "TOTAL",
           "EREQ", "ECON", "ERESP", "5XX", "LASTCHG")  # fmt: skip


@dataclass(frozen=True)
class StatRow:
    """One line of `show stat`: the fields by their CSV names, all text."""

    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    @property
    def proxy(self) -> str:
        return self.get("pxname")

    @property
    def name(self) -> str:
        return self.get("svname")

    @property
    def kind(self) -> str:
        return TYPE_NAMES.get(self.get("type"), "")

    @property
    def key(self) -> tuple[str, str]:
        return (self.proxy, self.name)

    def number(self, name: str) -> int | None:
        text = self.get(name)
        return int(text) if text.lstrip("-").isdigit() else None


def parse_stat(text: str) -> list[StatRow]:
    """Rows of a `show stat` answer; ValueError if it is not the CSV."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# pxname,svname,"):
        raise ValueError(f"not a 'show stat' answer: {text[:80]!r}")
    header = lines[0][2:].split(",")
    rows = []
    for values in csv.reader(lines[1:]):
        rows.append(StatRow(dict(zip(header, values, strict=False))))
    return rows


def base_state(status: str) -> str:
    """`UP 1/3` -> `UP`, `MAINT (via be/s)` -> `MAINT`, `no check` -> `no check`."""
    return status if status == "no check" else status.split(" ", 1)[0]


def state_style(status: str) -> str:
    return STATE_STYLES.get(base_state(status).split(" ")[0], "")


def duration(seconds: int | None) -> str:
    """HAProxy's stats page style: `42s`, `3m05s`, `2h07m`, `1d03h`."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def last_check(row: StatRow) -> str:
    """`L7OK/200 in 2ms`, `L4CON Connection refused`, or empty without checks."""
    status = row.get("check_status").lstrip("* ")
    if not status:
        return ""
    code = row.get("check_code")
    text = f"{status}/{code}" if code else status
    if row.get("last_chk"):
        return f"{text} {row.get('last_chk')}"
    took = row.get("check_duration")
    return f"{text} in {took}ms" if took else text


def rate(row: StatRow, previous: StatRow | None, elapsed: float) -> str:
    """Sessions per second: growth of `stot` since the previous snapshot, else
    HAProxy's own `rate` (sessions over the last second)."""
    now, before = row.number("stot"), previous.number("stot") if previous else None
    if now is not None and before is not None and elapsed > 0 and now >= before:
        return f"{(now - before) / elapsed:.1f}"
    return row.get("rate")


@dataclass(frozen=True)
class Line:
    """One line of the screen: the row it shows and its cells by COLUMNS."""

    row: StatRow
    cells: tuple[str, ...]

    @property
    def is_server(self) -> bool:
        return self.row.kind == "server"


def cells_of(row: StatRow, previous: StatRow | None, elapsed: float) -> tuple[str, ...]:
    indent = "  " if row.kind in ("server", "listener") else ""
    name = f"{indent}{row.name}" if row.kind in ("server", "listener") else f"{row.proxy} {row.kind}"
    return (
        name, row.get("status"), last_check(row), row.get("weight"),
        row.get("scur"), row.get("smax"), row.get("slim"), rate(row, previous, elapsed), row.get("stot"),
        row.get("ereq"), row.get("econ"), row.get("eresp"), row.get("hrsp_5xx"),
        duration(row.number("lastchg")),
    )  # fmt: skip


def build_lines(rows: list[StatRow], previous: list[StatRow] | None = None, elapsed: float = 0.0,
                show_listeners: bool = False) -> list[Line]:  # fmt: skip
    """Frontends first, then each backend followed by its servers, in the
    socket's order; listeners only when asked for."""
    before = {row.key: row for row in previous or []}
    frontends = [r for r in rows if r.kind == "frontend" or (show_listeners and r.kind == "listener")]
    backends = [r for r in rows if r.kind == "backend"]
    lines = [Line(r, cells_of(r, before.get(r.key), elapsed)) for r in frontends]
    for backend in backends:
        lines.append(Line(backend, cells_of(backend, before.get(backend.key), elapsed)))
        for server in (r for r in rows if r.kind == "server" and r.proxy == backend.proxy):
            lines.append(Line(server, cells_of(server, before.get(server.key), elapsed)))
    return lines


def transitions(previous: list[StatRow], rows: list[StatRow]) -> list[str]:
    """`be/b UP -> DOWN (L4CON Connection refused)` for every server or backend
    whose base state changed between two snapshots."""
    before = {row.key: row for row in previous}
    changes = []
    for row in rows:
        old = before.get(row.key)
        if row.kind not in ("server", "backend") or old is None:
            continue
        was, now = base_state(old.get("status")), base_state(row.get("status"))
        if was != now:
            name = f"{row.proxy}/{row.name}" if row.kind == "server" else f"backend {row.proxy}"
            why = last_check(row) if row.kind == "server" else ""
            changes.append(f"{name} {was} -> {now}" + (f" ({why})" if why else ""))
    return changes


def server_command(line: Line, state: str) -> str:
    """The runtime API command setting the server of `line` to `state` (ready|drain|maint)."""
    if not line.is_server:
        raise ValueError("select a server line to change its state")
    return f"set server {line.row.proxy}/{line.row.name} state {state}"
