"""The helper that compares lb's lines with HAProxy's: run-dependent fields by shape, the rest exactly."""

from __future__ import annotations

import pytest

from lb.logs.compare import assert_same_line, line_differences
from tests.logs.recorded import scenario

HAPROXY = scenario("http_ok_capture")["lines"][0]


def variant(line: str, old: str, new: str) -> str:
    assert old in line
    return line.replace(old, new, 1)


def test_ports_dates_and_timers_may_differ() -> None:
    ours = HAPROXY.replace(HAPROXY.split()[0], "127.0.0.1:1")  # another client port
    ours = ours.replace(ours.split()[1], "[01/Jan/2027:00:00:00.000]")
    ours = ours.replace(" 0/0/0/0/1 ", " 0/0/0/3/9 ").replace(" 0/0/0/1/1 ", " 0/0/0/3/9 ")
    assert line_differences(ours, HAPROXY) == []
    assert_same_line(f"<134>Nov 26 17:39:44 lb[1]: {ours}", f"<134>Nov 26 17:00:00 haproxy[2]: {HAPROXY}")


@pytest.mark.parametrize(("old", "new", "problem"), [
    (" 200 ", " 503 ", "%ST: ours '503', haproxy '200'"),
    (" --NI ", " --VN ", "%tsc: ours '--VN', haproxy '--NI'"),
    ("{www.example.com}", "{www.example.org}", "%hr: ours '{www.example.org}'"),
    ("bk_http/web1", "bk_http/<NOSRV>", "%s: ours '<NOSRV>', haproxy 'web1'"),
])
def test_behaviour_differences_are_reported(old: str, new: str, problem: str) -> None:
    problems = line_differences(variant(HAPROXY, old, new), HAPROXY)
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_a_phase_reached_in_one_line_only() -> None:
    timers = HAPROXY.split()[4]
    ours = variant(HAPROXY, f" {timers} ", " 0/0/0/-1/1 ")
    assert line_differences(ours, HAPROXY) == [f"%Tr: ours '-1', haproxy '{timers.split('/')[3]}' "
                                               "(a phase reached in one only)"]


def test_loose_and_strict() -> None:
    ours = variant(HAPROXY, " 200 160 ", " 200 999 ")
    assert line_differences(ours, HAPROXY, loose={"B"}) == []
    assert line_differences(HAPROXY.replace(HAPROXY.split()[0], "127.0.0.1:1"), HAPROXY, strict={"cp"})


def test_format_priority_and_garbage() -> None:
    tcp = scenario("tcp_echo")["lines"][-1]
    assert line_differences(tcp, HAPROXY)[0] == "format: ours is 'tcplog', haproxy's is 'httplog'"
    assert line_differences(f"<131>{HAPROXY}", f"<134>{HAPROXY}") == ["syslog priority: ours <131>, haproxy <134>"]
    assert line_differences("garbage", HAPROXY)[0].startswith("ours is not a known log line")
    with pytest.raises(AssertionError, match="log lines differ"):
        assert_same_line("garbage", HAPROXY)
