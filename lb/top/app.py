"""`lbctl top`: a live full-screen view of a running lb (or HAProxy), in the spirit of hatop (cli).

A textual App on top of lb.top.model: every `interval` seconds it asks the
stats socket for `show stat`, redraws the table (frontends, then each backend
and its servers), and writes each health transition to the event log below
it.  Keys act on the selected server through the same socket:
`d` drain, `r` ready, `m` maint (`set server <be>/<srv> state ...`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Header, RichLog, Static

from lb.errors import LbError
from lb.top import client
from lb.top.model import HEADERS, Line, StatRow, build_lines, parse_stat, server_command, state_style, transitions

Ask = Callable[[str, str], str]  # (address, command) -> answer


class TopApp(App[None]):
    TITLE = "lbctl top"
    CSS = """
    #stats { height: 1fr; }
    #events { height: 8; border-top: solid $primary; }
    #message { height: 1; padding: 0 1; }
    """
    BINDINGS = [
        Binding("d", "set_state('drain')", "Drain"),
        Binding("r", "set_state('ready')", "Ready"),
        Binding("m", "set_state('maint')", "Maint"),
        Binding("l", "toggle_listeners", "Listeners"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),  # as in top(1), not textual's copy
    ]

    def __init__(self, address: str, interval: float = 2.0, ask: Ask = client.query) -> None:
        super().__init__()
        self.address = address
        self.interval = interval
        self.ask = ask
        self.rows: list[StatRow] = []
        self.lines: list[Line] = []
        self.taken_at = 0.0
        self.show_listeners = False
        self.message = ""
        self.unreachable = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="stats", cursor_type="row")
        yield RichLog(id="events", max_lines=500)
        yield Static(id="message")
        yield Footer()

    async def on_mount(self) -> None:
        self.sub_title = self.address
        self.query_one("#stats", DataTable).add_columns(*HEADERS)
        await self.refresh_stats()
        self.set_interval(self.interval, self.refresh_stats)

    # -- data ----------------------------------------------------------------------------

    async def refresh_stats(self) -> None:
        try:
            rows = parse_stat(await asyncio.to_thread(self.ask, self.address, "show stat"))
        except (LbError, ValueError) as exc:
            self.say(f"Error: {exc}", error=True)
            self.unreachable = True
            return
        try:
            self.show(rows)
        except NoMatches:  # the app closed while the answer was on its way
            return

    def show(self, rows: list[StatRow]) -> None:
        if self.unreachable:  # the socket answers again: its error line goes
            self.unreachable = False
            self.say("")
        now = time.monotonic()
        log = self.query_one("#events", RichLog)
        for change in transitions(self.rows, rows):
            log.write(Text(f"{time.strftime('%H:%M:%S')} {change}", style=state_style(change.split()[-1])))
        self.lines = build_lines(rows, self.rows, now - self.taken_at if self.taken_at else 0.0, self.show_listeners)
        self.rows, self.taken_at = rows, now
        self.redraw()

    def redraw(self) -> None:
        table = self.query_one("#stats", DataTable)
        selected = self.selected_key()
        table.clear()
        for line in self.lines:
            table.add_row(*self.styled(line), key=self.key_of(line))
        keys = [self.key_of(line) for line in self.lines]
        if selected in keys:
            table.move_cursor(row=keys.index(selected))

    @staticmethod
    def key_of(line: Line) -> str:
        return f"{line.row.kind}:{line.row.proxy}/{line.row.name}"

    @staticmethod
    def styled(line: Line) -> list[Text]:
        cells = [Text(cell) for cell in line.cells]
        cells[1].stylize(state_style(line.cells[1]))
        if not line.is_server:
            cells[0].stylize("bold")
        return cells

    def selected_line(self) -> Line | None:
        row = self.query_one("#stats", DataTable).cursor_row
        return self.lines[row] if 0 <= row < len(self.lines) else None

    def selected_key(self) -> str | None:
        line = self.selected_line()
        return self.key_of(line) if line else None

    # -- actions -------------------------------------------------------------------------

    async def action_set_state(self, state: str) -> None:
        line = self.selected_line()
        try:
            if line is None:
                raise ValueError("nothing selected")
            command = server_command(line, state)
            answer = (await asyncio.to_thread(self.ask, self.address, command)).strip()
        except (LbError, ValueError) as exc:
            self.say(f"Error: {exc}", error=True)
            return
        self.say(f"Error: {answer}" if answer else f"{command}: done", error=bool(answer))
        await self.refresh_stats()

    async def action_toggle_listeners(self) -> None:
        self.show_listeners = not self.show_listeners
        await self.refresh_stats()

    def say(self, message: str, error: bool = False) -> None:
        self.message = message
        self.query_one("#message", Static).update(Text(message, style="bold red" if error else "green"))
