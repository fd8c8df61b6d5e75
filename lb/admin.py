"""lbctl status and lbctl server: the runtime API for people who don't want socat (cli).

Both speak to the master through the configuration's first suitable stats
socket (lb.stats.client), or, when the configuration has none, through the
master's control socket (lb.controlsock "cli" request, at level admin).

    lbctl status -f lb.cfg [--json]
    lbctl server drain|ready|maint BACKEND/SERVER -f lb.cfg
    lbctl server weight BACKEND/SERVER VALUE -f lb.cfg
"""

from __future__ import annotations

import json
import sys

import lb.config
from lb import controlsock
from lb.errors import EXIT_GENERIC, EXIT_NOT_RUNNING, EXIT_OK, LbError
from lb.stats.client import parse_csv, query, socket_of

COLUMNS = ("NAME", "STATUS", "WEIGHT", "CUR", "MAX", "TOTAL", "ERRORS", "LAST CHECK")
SERVER_COMMANDS = {"drain": "state drain", "ready": "state ready", "maint": "state maint", "weight": "weight"}


class NoMaster(LbError):
    exit_status = EXIT_NOT_RUNNING


def run_command(paths: list[str], command: str, level: str, timeout: float = 5.0) -> str:
    """One runtime API command against this configuration's master."""
    config = lb.config.load(paths)
    address = socket_of(config, level)
    if address is not None:
        return query(address, command, timeout)
    reply = controlsock.ask(paths, {"cmd": "cli", "line": command}, timeout=timeout)
    if reply is None:
        raise NoMaster(f"no running master found for {', '.join(paths)} (no stats socket, no control socket).")
    output = str(reply.get("output", ""))
    return output[:-1] if output.endswith("\n") else output


def errors_of(row: dict[str, str]) -> int:
    return sum(int(row.get(name) or 0) for name in ("ereq", "econ", "eresp"))


def last_check(row: dict[str, str]) -> str:
    status = row.get("check_status", "")
    if not status:
        return ""
    detail = row.get("last_chk") or row.get("check_desc", "")
    code = f" {row['check_code']}" if row.get("check_code") else ""
    took = f" in {row['check_duration']}ms" if row.get("check_duration") else ""
    return f"{status}{code}{took}" + (f" ({detail})" if detail else "")


def status_rows(rows: list[dict[str, str]]) -> list[dict]:
    """One entry per row, each backend before its servers (HAProxy lists it after them)."""
    out: list[dict] = []
    servers: list[dict] = []
    for row in rows:
        kind = {"FRONTEND": "frontend", "BACKEND": "backend"}.get(row["svname"], "server")
        name = row["pxname"] if kind != "server" else f"{row['pxname']}/{row['svname']}"
        item = {"type": kind, "name": name, "status": row.get("status", ""), "weight": row.get("weight", ""),
                    "scur": row.get("scur", ""), "smax": row.get("smax", ""), "stot": row.get("stot", ""),
                    "errors": errors_of(row), "last_check": last_check(row)}  # fmt: skip
        if kind == "server":
            servers.append(item)
            continue
        out.append(item)
        if kind == "backend":
            out += [s for s in servers if s["name"].startswith(row["pxname"] + "/")]
            servers = [s for s in servers if not s["name"].startswith(row["pxname"] + "/")]
    return out + servers


def render_table(items: list[dict]) -> str:
    lines = [COLUMNS]
    for item in items:
        indent = "  " if item["type"] == "server" else ""
        lines.append((indent + item["name"], item["status"], item["weight"], item["scur"], item["smax"],
                      item["stot"], str(item["errors"]), item["last_check"]))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS) - 1)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1]
                     for line in lines).rstrip() + "\n"  # fmt: skip


def status(paths: list[str], as_json: bool) -> int:
    try:
        rows = parse_csv(run_command(paths, "show stat", "user"))
    except LbError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_status
    items = status_rows(rows)
    sys.stdout.write(json.dumps(items, indent=2) + "\n" if as_json else render_table(items))
    return EXIT_OK


def server(paths: list[str], action: str, target: str, value: str | None) -> int:
    if action == "weight" and not value:
        print("Error: 'lbctl server weight' needs a VALUE (an absolute weight 0-256 or a percentage like 50%).",
              file=sys.stderr)  # fmt: skip
        return EXIT_GENERIC
    command = f"set server {target} {SERVER_COMMANDS[action]}" + (f" {value}" if action == "weight" else "")
    try:
        answer = run_command(paths, command, "admin")
    except LbError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_status
    if answer.strip():
        print(f"Error: {answer.strip()}", file=sys.stderr)
        return EXIT_GENERIC
    print(f"{target}: {SERVER_COMMANDS[action]}" + (f" {value}" if action == "weight" else ""))
    return EXIT_OK
