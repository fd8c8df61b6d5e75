"""Compare a log line lb wrote with the one HAProxy wrote for the same exchange (tests, tools).

Both lines are parsed with the same format (lb.logs.reader); fields that
differ between two runs by nature (ports, dates, timers, unique ids) only
have to have the same shape, everything else must be equal byte for byte.
A timer must still agree on whether the phase happened: `-1` against a
number is a difference, because it says the connection was not made or
the response never came.

    problems = line_differences(our_line, haproxy_line)
    assert not problems, problems
    assert_same_line(our_line, haproxy_line, loose={"B"})  # byte counts may differ too
"""

from __future__ import annotations

from collections.abc import Iterable

from lb.logs.reader import parse_line

# Fields whose value depends on the run, not on the behaviour.
VARYING = frozenset({
    "cp", "fp", "bp", "sp", "t", "tr", "T", "trg", "Tl", "trl", "Ts", "ms", "ID", "pid", "rt", "lc", "H",
})  # fmt: skip
TIMERS = frozenset({"Th", "Ti", "TR", "Tq", "Tw", "Tc", "Tr", "Td", "Ta", "Tt", "Tu"})


def _timer_class(text: str) -> str:
    value = text.lstrip("+")
    return "never" if value == "-1" else ("+" if text.startswith("+") else "ran")


def line_differences(ours: str, theirs: str, formats: tuple[str, ...] = (), loose: Iterable[str] = (),
                     strict: Iterable[str] = ()) -> list[str]:
    """What differs, one sentence per field (empty: the lines match).

    `loose`: more fields compared by shape only (e.g. {"B"} when the servers
    differ in header size); `strict`: fields of VARYING/TIMERS to compare exactly.
    """
    mine, reference = parse_line(ours, formats), parse_line(theirs, formats)
    if mine is None or reference is None:
        which = "ours" if mine is None else "haproxy's"
        return [f"{which} is not a known log line: {(ours if mine is None else theirs)!r}"]
    problems = []
    if mine.style != reference.style:
        problems.append(f"format: ours is {mine.style!r}, haproxy's is {reference.style!r}")
    if None not in (mine.header.priority, reference.header.priority) and mine.header.priority != reference.header.priority:
        problems.append(f"syslog priority: ours <{mine.header.priority}>, haproxy <{reference.header.priority}>")
    loose_set, strict_set = set(loose), set(strict)
    for name in dict.fromkeys([*reference.fields, *mine.fields]):
        a, b = mine.fields.get(name), reference.fields.get(name)
        if a is None or b is None:
            problems.append(f"%{name}: only in {'haproxy' if a is None else 'ours'}'s line")
        elif name in strict_set or (name not in VARYING and name not in TIMERS and name not in loose_set):
            if a != b:
                problems.append(f"%{name}: ours {a!r}, haproxy {b!r}")
        elif name in TIMERS and name not in loose_set and _timer_class(a) != _timer_class(b):
            problems.append(f"%{name}: ours {a!r}, haproxy {b!r} (a phase reached in one only)")
        elif name in VARYING and name not in loose_set and (a == "-") != (b == "-"):
            problems.append(f"%{name}: ours {a!r}, haproxy {b!r} (a value in one line only)")
    return problems


def assert_same_line(ours: str, theirs: str, **options: object) -> None:
    """AssertionError listing the differences, with both lines."""
    problems = line_differences(ours, theirs, **options)  # type: ignore[arg-type]
    if problems:
        raise AssertionError("log lines differ:\n  ours:    " + ours + "\n  haproxy: " + theirs + "\n  "
                             + "\n  ".join(problems))
