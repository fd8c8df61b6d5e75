"""The statistics model and its renderers on a seeded generation (any process; unit).

Proves the rows HAProxy's tools read: the 127 columns of HAProxy 2.6.12,
server status texts as HAProxy computes them from health and admin state,
backend weights and status, counters combined over workers and `carried`,
filters, and the CSV/typed/JSON/info layouts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lb.shm import layout
from lb.stats import combine
from lb.stats.fields import FIELD_NAMES, NFIELDS, NSTATIC
from lb.stats.info import ProcessFacts, info_fields, uptime_text
from lb.stats.render import StatFilter, csv_cell, csv_header, render_info, render_stat
from tests.stats.helpers import count, generation, rows, stat

BODY = """
frontend fe
    bind 127.0.0.1:1
    maxconn 500
    default_backend be
backend be
    cookie SRV insert
    server s1 127.0.0.1:2 check weight 10 cookie c1 maxqueue 7
    server s2 127.0.0.1:3 weight 5 maxconn 10
    server s3 127.0.0.1:4 backup disabled
listen tl
    mode tcp
    bind 127.0.0.1:5
    option socket-stats
    server t1 127.0.0.1:6
"""


def test_header_is_haproxy_2_6_12s() -> None:
    recorded = (Path(__file__).parent / "haproxy26_show_stat_header.txt").read_text()
    assert csv_header() == recorded
    assert (NFIELDS, NSTATIC, FIELD_NAMES[NSTATIC - 1], FIELD_NAMES[NSTATIC]) == (127, 103, "agg_check_status",
                                                                                   "ssl_sess")  # fmt: skip


def test_rows_in_config_order_with_haproxys_ids(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    table = rows(gen)
    assert list(table) == [("fe", "FRONTEND"), ("be", "s1"), ("be", "s2"), ("be", "s3"), ("be", "BACKEND"),
                           ("tl", "FRONTEND"), ("tl", "sock-1"), ("tl", "t1"), ("tl", "BACKEND")]  # fmt: skip
    assert [table[k]["iid"] for k in (("fe", "FRONTEND"), ("be", "s1"), ("tl", "t1"))] == ["2", "3", "4"]
    assert [table[("be", s)]["sid"] for s in ("s1", "s2", "s3")] == ["1", "2", "3"]
    assert [table[k]["type"] for k in (("fe", "FRONTEND"), ("be", "BACKEND"), ("be", "s1"), ("tl", "sock-1"))] == [
        "0", "1", "2", "3"]  # fmt: skip


def test_configuration_columns(tmp_path: Path) -> None:
    table = rows(generation(tmp_path, BODY))
    fe, s1, s2, s3, be = (table[k] for k in (("fe", "FRONTEND"), ("be", "s1"), ("be", "s2"), ("be", "s3"),
                                             ("be", "BACKEND")))  # fmt: skip
    assert (fe["slim"], fe["status"], fe["mode"], fe["rate_lim"]) == ("500", "OPEN", "http", "0")
    assert (s1["qlimit"], s1["cookie"], s1["addr"], s1["weight"], s1["act"], s1["bck"]) == ("7", "c1", "127.0.0.1:2",
                                                                                          "10", "1", "0")  # fmt: skip
    assert (s2["slim"], s2["status"], s2["check_status"]) == ("10", "no check", "")
    assert (s3["status"], s3["bck"], s3["act"]) == ("MAINT", "1", "0")
    expected = ("50", "15", "2", "SRV", "roundrobin", "UP")
    assert (be["slim"], be["weight"], be["act"], be["cookie"], be["algo"], be["status"]) == expected
    assert table[("tl", "BACKEND")]["slim"] == "100"  # fullconn: a tenth of the global maxconn of its frontend
    assert table[("tl", "sock-1")]["addr"] == "127.0.0.1:5"


def test_legends_only_for_operator_and_admin(tmp_path: Path) -> None:
    table = rows(generation(tmp_path, BODY), legends=False)
    assert table[("be", "s1")]["addr"] == table[("be", "s1")]["cookie"] == table[("be", "BACKEND")]["algo"] == ""


S1 = 0  # shm index of be/s1


@pytest.mark.parametrize("admin, up, health, disabled, text", [
    (layout.ADMIN_READY, layout.SRV_UP, 4, False, "UP"),
    (layout.ADMIN_READY, layout.SRV_UP, 2, False, "UP 1/3"),
    (layout.ADMIN_READY, layout.SRV_UP, 4, True, "no check"),
    (layout.ADMIN_DRAIN, layout.SRV_UP, 4, False, "DRAIN"),
    (layout.ADMIN_DRAIN, layout.SRV_UP, 3, False, "DRAIN 2/3"),
    (layout.ADMIN_MAINT, layout.SRV_UP, 4, False, "MAINT"),
    (layout.ADMIN_READY, layout.SRV_NOLB, 4, False, "NOLB"),
    (layout.ADMIN_READY, layout.SRV_NOLB, 3, False, "NOLB 2/3"),
    (layout.ADMIN_READY, layout.SRV_DOWN, 0, False, "DOWN"),
    (layout.ADMIN_READY, layout.SRV_DOWN, 1, False, "DOWN 1/2"),
    (layout.ADMIN_READY, layout.SRV_DOWN, 1, True, "DOWN"),
])  # fmt: skip
def test_server_status_texts(tmp_path: Path, admin: int, up: int, health: int, disabled: bool, text: str) -> None:
    gen = generation(tmp_path, BODY)
    shm = gen.shm
    shm.srv_admin[S1], shm.srv_up[S1], shm.srv_health[S1] = admin, up, health
    shm.srv_check_admin[S1] = layout.CHECK_DISABLED if disabled else 0
    assert rows(gen)[("be", "s1")]["status"] == text


def test_check_columns(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    shm = gen.shm
    shm.srv_status[S1], shm.srv_code[S1], shm.srv_duration[S1] = 13, 503, 7  # L7STS
    shm.srv_checks[S1] = (2 << 32) | 9
    shm.srv_downs[S1] = 1
    shm.set_server_info(S1, "HTTP status check returned code <503>")
    shm.srv_checking[S1] = 1
    s1 = rows(gen)[("be", "s1")]
    assert (s1["check_status"], s1["check_code"], s1["check_duration"], s1["check_desc"]) == (
        "* L7STS", "503", "7", "Layer7 wrong status")
    assert (s1["chkfail"], s1["chkdown"], s1["last_chk"], s1["check_rise"], s1["check_fall"]) == (
        "2", "1", "HTTP status check returned code <503>", "2", "3")
    shm.srv_admin[S1] = layout.ADMIN_MAINT  # paused checks: results hidden, counters kept
    s1 = rows(gen)[("be", "s1")]
    assert s1["check_status"] == "" and s1["chkfail"] == "2"


@pytest.mark.parametrize("change, weight, act, bck, status", [
    ({}, "15", "2", "0", "UP"),
    ({"srv_admin": (S1, layout.ADMIN_DRAIN)}, "5", "1", "0", "UP"),
    ({"srv_up": (S1, layout.SRV_NOLB)}, "5", "1", "0", "UP"),
    ({"srv_weight": (S1, 0), "srv_up": (1, layout.SRV_DOWN)}, "0", "0", "0", "DOWN"),
    ({"srv_up": (S1, layout.SRV_DOWN), "srv_admin": (1, layout.ADMIN_MAINT)}, "0", "0", "0", "DOWN"),
])  # fmt: skip
def test_backend_weights_and_status(tmp_path: Path, change: dict, weight: str, act: str, bck: str, status: str) -> None:
    gen = generation(tmp_path, BODY)
    for array, (index, value) in change.items():
        getattr(gen.shm, array)[index] = value
    be = rows(gen)[("be", "BACKEND")]
    assert (be["weight"], be["act"], be["bck"], be["status"]) == (weight, act, bck, status)


def test_backup_takes_over_when_no_active_is_left(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    gen.shm.srv_admin[2] = layout.ADMIN_READY  # s3, the backup, out of maintenance
    gen.shm.srv_up[0] = gen.shm.srv_up[1] = layout.SRV_DOWN
    be = rows(gen)[("be", "BACKEND")]
    assert (be["weight"], be["act"], be["bck"], be["status"]) == ("1", "0", "1", "UP")


def test_counters_sum_over_workers_and_carried(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    shm = gen.shm
    fe, s1 = 0, shm.server_obj(0)
    count(gen, 0, fe, "sessions", 4)
    count(gen, 1, fe, "sessions", 6)
    shm.carried[shm.carried_index(fe, "sessions")] = 100
    count(gen, 0, fe, "sessions_max", 3)
    count(gen, 1, fe, "sessions_max", 5)
    count(gen, 0, s1, "requests", 2)
    count(gen, 1, s1, "requests", 2)
    count(gen, 0, s1, "rtime", 20)  # 2 samples of 10 ms
    count(gen, 1, s1, "rtime", 60)  # 2 samples of 30 ms
    count(gen, 0, s1, "last_session", int(time.time()) - 5)
    table = rows(gen)
    assert (table[("fe", "FRONTEND")]["stot"], table[("fe", "FRONTEND")]["smax"]) == ("110", "5")
    assert table[("be", "s1")]["rtime"] == "20" and table[("be", "s1")]["req_tot"] == "4"
    assert 5 <= int(table[("be", "s1")]["lastsess"]) <= 7 and table[("be", "s2")]["lastsess"] == "-1"


def test_a_pure_backend_counted_in_its_proxy_row_still_shows(tmp_path: Path) -> None:
    """An engine predating backend rows counts a backend in its proxy row (lb.shm.layout)."""
    gen = generation(tmp_path, BODY)
    proxy_row = [p.name for p in gen.config.proxies()].index("be")
    count(gen, 0, proxy_row, "sessions", 3)
    count(gen, 1, gen.shm.backend_obj(0), "sessions", 2)
    assert rows(gen)[("be", "BACKEND")]["stot"] == "5"


def test_unacknowledged_clears_hide_worker_maxima(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    shm = gen.shm
    count(gen, 0, 0, "sessions_max", 9)
    count(gen, 1, 0, "sessions_max", 4)
    shm.control[layout.CTRL_CLEAR_EPOCH] = 1
    shm.stats_ack[1] = 1  # worker 2 applied the clear (its cell is what it counted since)
    assert rows(gen)[("fe", "FRONTEND")]["smax"] == "4"


def test_swrate_combination_weights_by_samples() -> None:
    n = layout.NCOUNTERS
    a, b = [0] * n, [0] * n
    a[layout.COUNTER["ttime"]], a[layout.COUNTER["time_samples"]] = 10 * 100, 100
    b[layout.COUNTER["ttime"]], b[layout.COUNTER["time_samples"]] = 40 * 300, 300
    merged = combine.combine([a, b], http=True)
    assert combine.average(merged, "ttime") == 33  # (10*100 + 40*300) / 400 = 32.5, rounded up as swrate_avg
    big = combine.combine([merged] * 4, http=True)
    assert big[layout.COUNTER["time_samples"]] == 1024 and combine.average(big, "ttime") == 33


def test_filters(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    gen.shm.srv_up[1] = layout.SRV_DOWN
    all_rows = stat(gen)
    def names(flt: StatFilter) -> list[str]:
        return [line.split(",")[1] for line in render_stat(all_rows, flt).splitlines()[1:]]

    assert names(StatFilter(iid=3, types=4, sid=-1, bound=True)) == ["s1", "s2", "s3"]
    assert names(StatFilter(iid=3, types=4, sid=2, bound=True)) == ["s2"]
    assert names(StatFilter(iid=-1, types=3, sid=-1, bound=True)) == ["FRONTEND", "BACKEND", "FRONTEND", "BACKEND"]
    assert names(StatFilter(iid=4, types=8, sid=-1, bound=True)) == ["sock-1"]
    assert names(StatFilter(hide_maint=True))[:4] == ["FRONTEND", "s1", "s2", "BACKEND"]
    up_only = render_stat(all_rows, StatFilter(hide_down=True))
    assert [line.split(",")[1] for line in up_only.splitlines()[1:5]] == ["FRONTEND", "s1", "BACKEND", "FRONTEND"]
    assert ",UP (1/3)," in up_only  # HAProxy's (up/total) under `up`


def test_typed_and_json_layouts(tmp_path: Path) -> None:
    rows_ = stat(generation(tmp_path, BODY))
    typed = render_stat(rows_, StatFilter(fmt="typed")).splitlines()
    assert typed[0] == "F.2.0.0.pxname.1:KNS:str:fe"
    assert "S.3.1.17.status.1:SGP:str:UP 1/3" in typed
    assert "S.3.1.18.weight.1:MaP:u32:10" in typed
    desc = render_stat(rows_, StatFilter(fmt="typed", desc=True)).splitlines()[0]
    assert desc == 'F.2.0.0.pxname.1:KNS:str:fe:"Proxy name"'
    parsed = json.loads(render_stat(rows_, StatFilter(fmt="json")))
    assert parsed[0][0] == {"objType": "Frontend", "proxyId": 2, "id": 0, "field": {"pos": 0, "name": "pxname"},
                            "processNum": 1, "tags": {"origin": "Key", "nature": "Name", "scope": "Service"},
                            "value": {"type": "str", "value": "fe"}}  # fmt: skip
    assert render_stat(rows_, StatFilter(iid=99, types=-1, sid=-1, bound=True, fmt="json")) == "[]\n"


def test_csv_quotes_as_haproxy() -> None:
    from lb.stats.fields import Field

    assert csv_cell(Field("MOP", "str", 'a,"b"')) == '"a,""b"""'
    assert csv_cell(Field("MOP", "str", "plain")) == "plain"
    assert csv_cell(Field("MCP", "u64", 12)) == "12"
    assert csv_cell(None) == ""


def test_show_info(tmp_path: Path) -> None:
    gen = generation(tmp_path, BODY)
    facts = ProcessFacts(pid=42, started=time.time() - 3661, now=time.time(), nworkers=2, stopping=False,
                         listeners=3, ulimit_n=4096, maxconn=900, hard_maxconn=1000)  # fmt: skip
    info = info_fields(gen.config, gen.shm, facts)
    text = render_info(info)
    assert text.startswith("Name: lb\nVersion: ") and "Nbproc: 2\nProcess_num: 1\nPid: 42\n" in text
    assert "Uptime: 0d 1h01m01s\n" in text and "Maxconn: 900\nHard_maxconn: 1000\n" in text
    assert render_info(info, "typed").splitlines()[0] == "0.Name.1:POS:str:lb"
    assert json.loads(render_info(info, "json"))[5]["field"] == {"pos": 6, "name": "Pid"}  # no Release_date
    assert uptime_text(90061) == "1d 1h01m01s"


def test_maxima_are_never_below_what_is_open_now(tmp_path: Path) -> None:
    """Workers publish their maxima once a second; connections open now are already a maximum."""
    gen = generation(tmp_path, BODY)
    shm = gen.shm
    shm.feconn[0 * shm.nproxies + 0] = 2  # worker 1: two connections on fe, none published as a maximum yet
    shm.feconn[1 * shm.nproxies + 0] = 1
    shm.conns[0 * shm.nservers + 0] = 3  # s1
    count(gen, 0, 0, "sessions_max", 1)
    table = rows(gen)
    assert (table[("fe", "FRONTEND")]["scur"], table[("fe", "FRONTEND")]["smax"]) == ("3", "3")
    assert (table[("be", "s1")]["scur"], table[("be", "s1")]["smax"]) == ("3", "3")
