"""`help` and "Unknown command" answers: HAProxy's algorithm and help lines (master; unit).

HAProxy 2.6's own command table (from its `help`, recorded in
data/haproxy26_cli_usage.json with its answers to mistyped commands) run
through lb's usage_message must give HAProxy's answers byte for byte; and
every help line lb shows must be HAProxy's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lb.runtime_api import commands
from lb.runtime_api.commands import Command, fingerprint, usage_message

DATA = json.loads((Path(__file__).parent / "data" / "haproxy26_cli_usage.json").read_text())


def haproxy_table() -> list[Command]:
    table = []
    for line in DATA["help"].split("\n")[1:]:
        if not line.startswith("  ") or line.startswith(("  help [", "  prompt ", "  quit ")):
            continue
        usage = line[2:]
        head = "set severity-output" if usage.startswith("set severity") else usage.split(":")[0]
        words = []
        for word in head.split():
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", word):
                break
            words.append(word)
        table.append(Command(tuple(words), usage, lambda req: None))
    return table


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda case: case["line"] or "<empty>")
def test_haproxy_table_gives_haproxy_answers(case: dict) -> None:
    args = case["line"].split() or [""]
    assert usage_message(args, haproxy_table()) == case["answer"]


def test_lb_help_lines_are_haproxy_lines() -> None:
    commands.load_commands()
    theirs = set(DATA["help"].split("\n"))
    lines = usage_message(["help"]).split("\n")
    assert lines[0] == "The following commands are valid at this level:"
    assert lines[-4:] == [
        "  help [<command>]                        : list matching or all commands",
        "  prompt                                  : toggle interactive mode with prompt",
        "  quit                                    : disconnect",
        "",
    ]
    for line in lines[1:-1]:
        assert line in theirs, line
    assert lines[1:-4] == sorted(lines[1:-4])  # sorted by usage, as HAProxy's qsort


def test_fingerprint_counts_letter_pairs() -> None:
    table = fingerprint(["ab"])
    assert table[1] == table[2] == 1  # letters present
    assert table[32 * 28 + 1] == 1 and table[32 * 1 + 2] == 1 and table[32 * 2 + 28] == 1  # ^a, ab, b$
    assert sum(table) == 5
    assert fingerprint(["A9-"]) == fingerprint(["a0_"])  # case, digits and other characters fold


def test_unknown_command_suggests_the_nearest_lb_commands() -> None:
    commands.load_commands()
    answer = usage_message(["shwo", "stat"])
    assert answer.startswith("Unknown command, but maybe one of the following ones is a better match:\n")
    assert "  show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server\n" in answer
