"""lb.top.model: HAProxy's `show stat` CSV into what `lbctl top` shows (unit).

The CSV below is HAProxy 2.6.12's own answer (a frontend, a backend with one
server drained and one down), cut to the columns top reads plus a few more.
"""

from __future__ import annotations

import pytest

from lb.top.model import (
    base_state,
    build_lines,
    duration,
    last_check,
    parse_stat,
    server_command,
    transitions,
)

HEADER = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,"
          "status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,"
          "type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,"
          "hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,"
          "comp_out,comp_byp,comp_rsp,lastsess,last_chk,\n")  # fmt: skip
ROWS = [
    "fe,FRONTEND,,,0,1,9985,1,82,522,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,1,0,1,,,,0,1,0,0,0,0,,1,1,1,,,0,0,0,0,,,",
    "be,a,0,0,0,1,,10,82,522,,0,,0,0,0,0,DRAIN,1,1,0,0,0,27,0,,1,3,1,,1,,2,1,,1,L7OK,200,2,0,1,0,0,0,0,,,,1,0,0,,,,,0,,",
    "be,b,0,0,0,0,,0,0,0,,0,,3,0,0,0,DOWN,1,1,0,1,1,28,1,,1,3,2,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,"
    "Connection refused,",
    "be,BACKEND,0,0,0,1,999,10,82,522,0,0,,3,0,0,0,UP,1,1,0,,0,1,0,,1,3,0,,1,,1,1,,1,,,,0,1,0,0,7,0,,,,1,0,0,0,0,0,0,0,,",
]  # fmt: skip
CSV = HEADER + "\n".join(ROWS) + "\n\n"


def test_parse_reads_every_row_by_field_name() -> None:
    rows = parse_stat(CSV)
    assert [(r.proxy, r.name, r.kind, r.get("status")) for r in rows] == [
        ("fe", "FRONTEND", "frontend", "OPEN"), ("be", "a", "server", "DRAIN"),
        ("be", "b", "server", "DOWN"), ("be", "BACKEND", "backend", "UP"),
    ]  # fmt: skip
    assert rows[2].get("last_chk") == "Connection refused"
    assert rows[3].number("econ") == 3 and rows[0].number("econ") is None


@pytest.mark.parametrize("text", ["", "Unknown command.\n", "pxname,svname\n"])
def test_parse_refuses_what_is_not_show_stat(text: str) -> None:
    with pytest.raises(ValueError):
        parse_stat(text)


def test_lines_put_each_backend_before_its_servers() -> None:
    lines = build_lines(parse_stat(CSV))
    assert [line.cells[0] for line in lines] == ["fe frontend", "be backend", "  a", "  b"]
    server_b = lines[3].cells
    assert server_b[1:5] == ("DOWN", "L4CON Connection refused", "1", "0")
    assert server_b[10] == "3" and server_b[13] == "28s"  # econ, lastchg
    assert lines[1].cells[12] == "7"  # hrsp_5xx of the backend


def test_rate_comes_from_the_growth_between_two_snapshots() -> None:
    before = parse_stat(CSV)
    after = parse_stat(CSV.replace("be,a,0,0,0,1,,10,", "be,a,0,0,0,1,,30,"))
    lines = build_lines(after, before, elapsed=4.0)
    assert lines[2].cells[7] == "5.0"  # (30 - 10) / 4 s
    assert build_lines(after)[2].cells[7] == "1"  # first snapshot: HAProxy's own `rate`


@pytest.mark.parametrize(("status", "base"), [("UP", "UP"), ("UP 1/3", "UP"), ("DOWN 1/2", "DOWN"),
                                              ("MAINT (via be/x)", "MAINT"), ("no check", "no check")])  # fmt: skip
def test_base_state(status: str, base: str) -> None:
    assert base_state(status) == base


def test_transitions_name_what_changed_and_why() -> None:
    before = parse_stat(CSV)
    text = CSV.replace(",DRAIN,", ",UP 1/3,").replace(",DOWN,1,1,0,1,1,28", ",MAINT,1,1,0,1,1,28")
    after = parse_stat(text.replace(",3,0,0,0,UP,", ",3,0,0,0,DOWN,"))
    assert transitions(before, after) == [
        "be/a DRAIN -> UP (L7OK/200 in 2ms)",
        "be/b DOWN -> MAINT (L4CON Connection refused)",
        "backend be UP -> DOWN",
    ]
    assert transitions(before, before) == []


def test_durations_and_checks_read_like_the_stats_page() -> None:
    assert [duration(s) for s in (None, 5, 65, 7260, 97200)] == ["", "5s", "1m05s", "2h01m", "1d03h"]
    rows = parse_stat(CSV)
    assert (last_check(rows[0]), last_check(rows[1])) == ("", "L7OK/200 in 2ms")


def test_server_command_only_for_server_lines() -> None:
    lines = build_lines(parse_stat(CSV))
    assert server_command(lines[2], "drain") == "set server be/a state drain"
    with pytest.raises(ValueError):
        server_command(lines[1], "maint")
