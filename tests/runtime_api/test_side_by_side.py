"""lb's runtime API against HAProxy 2.6 on the same configuration and the same backends.

Proves that what operators' tools read is HAProxy's: error and status texts
byte for byte, levels answering "Permission denied" where HAProxy does,
`show stat` with HAProxy's 127 columns where every value lb fills is the one
HAProxy shows (timings aside) and no column lb leaves empty is one it could
fill, typed tags identical, `show servers state` line for line.  Runs only
where the Debian haproxy 2.6 binary is installed (.ci/run installs it).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from typing import Iterator

import pytest

from tests.runtime_api.lab import OPERATOR_LEVEL, SAME_ANSWERS, USER_LEVEL, Backends, Lab, cli, text
from tests.scenarios.http.httpkit import request
from tests.support import LbProcess, wait_until

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
pytestmark = pytest.mark.skipif(not os.access(HAPROXY, os.X_OK), reason="haproxy 2.6 is not installed")

# Columns whose value depends on timing or on each process's own history.
VOLATILE = {"lastchg", "downtime", "check_duration", "lastsess", "qtime", "ctime", "rtime", "ttime", "rate",
            "rate_max", "req_rate", "req_rate_max", "smax", "qmax", "bin", "bout", "chkfail"}  # fmt: skip
# Columns HAProxy fills that lb leaves empty on purpose (README "Statistics"): what lb cannot measure.
UNFILLED = {"comp_in", "comp_out", "comp_byp", "comp_rsp", "conn_rate", "conn_rate_max", "conn_tot", "dcon", "dses",
            "wrew", "connect", "reuse", "cache_lookups", "cache_hits", "srv_icur", "qtime_max", "ctime_max",
            "rtime_max", "ttime_max", "idle_conn_cur", "safe_conn_cur", "used_conn_cur", "need_conn_est",
            "agg_server_status", "agg_server_check_status", "agg_check_status", "scur", "hanafail",
            "ssl_sess", "ssl_reused_sess", "ssl_failed_handshake", "h2_headers_rcvd", "h2_data_rcvd",
            "h2_settings_rcvd", "h2_rst_stream_rcvd", "h2_goaway_rcvd", "h2_detected_conn_protocol_errors",
            "h2_detected_strm_protocol_errors", "h2_rst_stream_resp", "h2_goaway_resp", "h2_open_connections",
            "h2_backend_open_streams", "h2_total_connections", "h2_backend_total_streams", "h1_open_connections",
            "h1_open_streams", "h1_total_connections", "h1_total_streams", "h1_bytes_in", "h1_bytes_out",
            "h1_spliced_bytes_in", "h1_spliced_bytes_out"}  # fmt: skip
REQUESTS = 15  # roundrobin 10:5 gives s1 10 and s2 5 in both


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Lab]]:
    backends = Backends()
    labs = []
    haproxy_dir, lb_dir = tmp_path_factory.mktemp("haproxy"), tmp_path_factory.mktemp("lb")
    haproxy, lb_lab = Lab(haproxy_dir, backends), Lab(lb_dir, backends)
    (haproxy_dir / "h.cfg").write_text(haproxy.config())
    proc = subprocess.Popen([HAPROXY, "-db", "-f", str(haproxy_dir / "h.cfg")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    lb = LbProcess(lb_dir, lb_lab.config()).start()
    labs = [haproxy, lb_lab]
    try:
        for lab in labs:
            wait_until(lambda lab=lab: os.path.exists(lab.socket()), what="stats socket")
            wait_until(lambda lab=lab: "L4OK" in text(lab.socket(), "show stat"), what="first check")
            for _ in range(REQUESTS):
                assert request(lab.ports["fe"]).status == 200
        yield haproxy, lb_lab
    finally:
        lb.stop()
        proc.terminate()
        proc.wait(10)
        backends.close()


def rows_of(answer: str) -> list[dict[str, str]]:
    lines = answer.splitlines()
    names = lines[0][2:].rstrip(",").split(",")
    return [dict(zip(names, cells, strict=False)) for cells in csv.reader(io.StringIO("\n".join(lines[1:]))) if cells]


def settled_stat(lab: Lab) -> list[dict[str, str]]:
    """`show stat` once the requests sent are all counted (lb publishes once a second)."""
    def counted() -> list[dict[str, str]] | None:
        rows = rows_of(text(lab.socket(), "show stat"))
        backend = next(r for r in rows if r["pxname"] == "be" and r["svname"] == "BACKEND")
        return rows if backend["req_tot"] == str(REQUESTS) else None

    return wait_until(counted, what="counters")


def test_same_answers_byte_for_byte(pair: tuple[Lab, Lab]) -> None:
    haproxy, lb = pair
    for command in SAME_ANSWERS:
        assert cli(lb.socket(), command) == cli(haproxy.socket(), command), command


@pytest.mark.parametrize("level, commands", [("user", USER_LEVEL), ("operator", OPERATOR_LEVEL)])
def test_levels_answer_as_haproxy(pair: tuple[Lab, Lab], level: str, commands: list[str]) -> None:
    haproxy, lb = pair
    for command in commands:
        mine, theirs = cli(lb.socket(level), command), cli(haproxy.socket(level), command)
        if command.startswith("show env") and theirs != b"Permission denied\n\n":
            assert mine.startswith(b"PATH=") or b"=" in mine, command  # the environments differ
            continue
        assert mine == theirs, (level, command)


def test_show_stat_columns_and_values(pair: tuple[Lab, Lab]) -> None:
    haproxy, lb = pair
    mine, theirs = text(lb.socket(), "show stat"), text(haproxy.socket(), "show stat")
    assert mine.splitlines()[0] == theirs.splitlines()[0]  # the 127 names and the `-` separator
    lb_rows, ha_rows = settled_stat(lb), settled_stat(haproxy)
    assert [(r["pxname"], r["svname"]) for r in lb_rows] == [(r["pxname"], r["svname"]) for r in ha_rows]
    for mine_row, theirs_row in zip(lb_rows, ha_rows, strict=True):
        where = (mine_row["pxname"], mine_row["svname"])
        for name, value in mine_row.items():
            if name == "-":
                continue
            if value and name not in VOLATILE:
                assert value == theirs_row[name], (where, name, value, theirs_row[name])
            elif value:
                assert theirs_row[name], (where, name, "lb fills a column HAProxy leaves empty")
            elif theirs_row[name] and name not in UNFILLED:
                pytest.fail(f"{where} {name}: HAProxy shows {theirs_row[name]!r}, lb leaves it empty")


def test_show_stat_counts_the_same_traffic(pair: tuple[Lab, Lab]) -> None:
    haproxy, lb = pair
    for rows in (settled_stat(lb), settled_stat(haproxy)):
        by = {(r["pxname"], r["svname"]): r for r in rows}
        assert by[("fe", "FRONTEND")]["stot"] == by[("fe", "FRONTEND")]["req_tot"] == str(REQUESTS)
        assert by[("be", "s1")]["lbtot"] == "10" and by[("be", "s2")]["lbtot"] == "5"
        assert by[("be", "BACKEND")]["hrsp_2xx"] == str(REQUESTS)
        assert int(by[("fe", "FRONTEND")]["bout"]) > 0


def test_typed_tags_are_haproxys(pair: tuple[Lab, Lab]) -> None:
    haproxy, lb = pair
    settled_stat(lb)
    lines = text(haproxy.socket(), "show stat typed").splitlines()
    theirs = {line.split(":", 1)[0]: line.split(":")[1:3] for line in lines}
    for line in text(lb.socket(), "show stat typed").splitlines():
        key, tag, kind = line.split(":")[:3]
        assert theirs[key] == [tag, kind], line


def test_json_has_haproxys_shape(pair: tuple[Lab, Lab]) -> None:
    haproxy, lb = pair
    mine, theirs = json.loads(text(lb.socket(), "show stat json")), json.loads(text(haproxy.socket(), "show stat json"))
    assert len(mine) == len(theirs)
    first, reference = mine[0][0], theirs[0][0]
    assert first.keys() == reference.keys() and first == reference  # pxname of the first row, identical
    assert text(lb.socket(), "show stat 3 4 1 json").startswith('[[{"objType":"Server","proxyId":3,"id":1,')


def test_show_servers_state_line_for_line(pair: tuple[Lab, Lab]) -> None:
    haproxy, lb = pair
    def normalized(lab: Lab) -> list[list[str]]:
        lines = text(lab.socket(), "show servers state").splitlines()
        rows = [line.split() for line in lines[2:]]
        for row in rows:
            row[9] = "<age>"  # srv_time_since_last_change
        return [lines[0].split(), lines[1].split()] + rows

    assert normalized(lb) == normalized(haproxy)
    only_be = text(lb.socket(), "show servers state be").splitlines()[2:]
    assert only_be == text(lb.socket(), "show servers state").splitlines()[2:5]


def test_show_info_fields_are_a_subset_in_haproxys_order(pair: tuple[Lab, Lab]) -> None:
    haproxy, lb = pair
    theirs = [line.split(":")[0] for line in text(haproxy.socket(), "show info").splitlines()]
    mine = [line.split(":")[0] for line in text(lb.socket(), "show info").splitlines()]
    assert mine == [name for name in theirs if name in mine] and "Release_date" not in mine
    lines = text(haproxy.socket(), "show info typed").splitlines()
    typed = {line.split(":")[0].split(".", 1)[1]: line.split(":")[1] for line in lines}
    for line in text(lb.socket(), "show info typed").splitlines():
        key, tag = line.split(":")[:2]
        assert typed[key.split(".", 1)[1]] == tag, line


def test_runtime_changes_show_as_haproxy_shows_them(pair: tuple[Lab, Lab]) -> None:
    haproxy, lb = pair
    steps = ["set server be/s1 state drain", "set weight be/s2 50%", "set server be/s2 health stopping",
             "disable frontend fe"]  # fmt: skip
    for lab in pair:
        for command in steps:
            assert text(lab.socket(), command) == "", command
    def view(lab: Lab) -> list[tuple[str, ...]]:
        rows = rows_of(text(lab.socket(), "show stat"))
        return [(r["pxname"], r["svname"], r["status"], r["weight"], r["act"], r["bck"], r["uweight"]) for r in rows]

    wait_until(lambda: view(lb) == view(haproxy), timeout=5, what="the same statuses after the changes")
    assert text(lb.socket(), "get weight be/s2") == text(haproxy.socket(), "get weight be/s2") == "2 (initial 5)\n"
    for lab in pair:
        for command in ("set server be/s1 state ready", "set weight be/s2 100%", "set server be/s2 health up",
                        "enable frontend fe"):  # fmt: skip
            assert text(lab.socket(), command) == "", command
