"""Runtime API commands on stick tables: show table, clear table, set table (master).

Thin registrations of lb.sticktables.cli, which holds HAProxy's texts; the
tables are the active generation's (lb.sticktables.regions.TableSet).
"""

from __future__ import annotations

from lb.runtime_api.commands import LEVEL_OPERATOR, Request, command
from lb.sticktables import cli


def _level(req: Request) -> str:
    return "operator" if req.session.level >= LEVEL_OPERATOR else "user"


@command("clear", "table", usage="clear table <table> [<filter>]*         : "
         "remove an entry from a table (filter: data/key)")  # fmt: skip
def cmd_clear_table(req: Request) -> str:
    return cli.clear_table(req.state.current().tables, req.args[2:], _level(req))


@command("set", "table", usage="set table <table> key <k> [data.* <v>]* : update or create a table entry's data")
def cmd_set_table(req: Request) -> str:
    return cli.set_table(req.state.current().tables, req.args[2:], _level(req))


@command("show", "table", usage="show table <table> [<filter>]*          : "
         "report table usage stats or dump this table's contents (filter: data/key)")  # fmt: skip
def cmd_show_table(req: Request) -> str:
    return cli.show_table(req.state.current().tables, req.args[2:], _level(req))
