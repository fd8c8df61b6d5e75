#!/usr/bin/env python3
"""Print a generation's server table from its shared memory (debug aid for developers; not an lb process).

The master's region is an anonymous mmap, so no other process can attach
to it from outside.  `dump(table, config)` is therefore a library function,
to call where the table is at hand: a debugger in the master, a test, a
temporary print in a worker.  Run as a script, it shows what a fresh
generation looks like for a configuration: a table shaped and seeded
exactly as the master does it (lb.generation.Generation.seed, which writes
admin state and weights, then calls lb.checker.seed_health):

    python tools/shmdump.py etc/lb.cfg
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lb.checker.status import status_of  # noqa: E402
from lb.config.model import Config  # noqa: E402
from lb.shm import layout  # noqa: E402
from lb.shm.table import ShmTable  # noqa: E402

ADMIN_NAMES = {layout.ADMIN_READY: "READY", layout.ADMIN_DRAIN: "DRAIN", layout.ADMIN_MAINT: "MAINT"}
SLOT_STATES = {layout.SLOT_FREE: "free", layout.SLOT_BOOTING: "booting", layout.SLOT_RUNNING: "running",
               layout.SLOT_STOPPING: "stopping"}  # fmt: skip
COLUMNS = ("backend/server", "up", "status", "health", "admin", "weight", "conns/slot", "queued")


def server_rows(table: ShmTable, config: Config) -> list[tuple[str, ...]]:
    """One row per server, in shm index order (Config.all_servers())."""
    rows = []
    for index, (backend, server) in enumerate(config.all_servers()):
        conns = [table.conns[slot * table.nservers + index] for slot in range(table.nslots)]
        admin = table.srv_admin[index]
        rows.append((
            f"{backend.name}/{server.name}", str(table.srv_up[index]), status_of(table.srv_status[index]).code,
            str(table.srv_health[index]), ADMIN_NAMES.get(admin, str(admin)), str(table.srv_weight[index]),
            " ".join(map(str, conns)), str(table.server_queued(index)),
        ))  # fmt: skip
    return rows


def slot_lines(table: ShmTable) -> list[str]:
    lines = []
    for slot in range(table.nslots):
        pid, _generation, heartbeat, state = table.slot(slot)
        lines.append(f"slot {slot}: pid {pid} {SLOT_STATES.get(state, str(state))} heartbeat {heartbeat} ms")
    return lines


def dump(table: ShmTable, config: Config) -> str:
    """The table as text: a summary line, process slots, then one line per server."""
    rows = [COLUMNS, *server_rows(table, config)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    table_lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    summary = (f"generation {table.generation}: {table.nslots} slots, {table.nservers} servers, "
               f"{table.nbackends} backends, {table.nproxies} proxies, {table.size} bytes")  # fmt: skip
    return "\n".join([summary, *slot_lines(table), *table_lines]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Show the shm server table of a fresh generation for a config.")
    parser.add_argument("config", nargs="+", help="configuration file(s), as for lbctl -f")
    args = parser.parse_args(argv)

    import lb.config
    from lb.config.diagnostics import format_diagnostic
    from lb.generation import Generation

    config = lb.config.load(args.config)
    if config.alerts:
        for diagnostic in config.alerts:
            print(format_diagnostic(diagnostic, os.getpid()), file=sys.stderr)
        return 1
    generation = Generation(1, config, os.getpid())
    generation.seed(None)
    sys.stdout.write(dump(generation.shm, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
