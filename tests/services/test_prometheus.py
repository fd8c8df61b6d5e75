"""The Prometheus exporter in-process over a real generation (worker code; unit).

The output is read back with prometheus_client's own text parser; its
metric names, types and help lines are checked against what HAProxy 2.6.12
prints (tests/services/data/haproxy26_metrics.txt): every metric of
HAProxy's is either printed by lb the same way or listed as left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lb.shm import layout
from lb.services import promex_metrics as pm
from lb.services.prometheus import PrometheusExporter, parse_query
from tests.services.helpers import Lab, header
from tests.stats.helpers import count, rows

REFERENCE = Path(__file__).parent / "data" / "haproxy26_metrics.txt"
BODY = """
frontend fe
    bind 127.0.0.1:1 name main
    option socket-stats
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be
frontend fetcp
    mode tcp
    bind 127.0.0.1:2
    default_backend betcp
backend be
    server a 127.0.0.1:3 check
    server b 127.0.0.1:4 maxconn 10 maxqueue 5
    server c 127.0.0.1:5 backup check
    server d 127.0.0.1:6 disabled
backend betcp
    mode tcp
    server t 127.0.0.1:3
"""
A, B, C, D = 0, 1, 2, 3
ALL = {"global", "frontend", "listener", "backend", "server", "sticktable"}


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path, BODY)


def scrape(lab: Lab, uri: str = "/metrics") -> str:
    reply = lab.serve(PrometheusExporter(), uri)
    assert reply.status == 200 and reply.headers == [("cache-control", "no-cache"),
                                                      ("content-type", "text/plain; version=0.0.4")]  # fmt: skip
    return reply.body.decode()


def families(text: str) -> dict[str, tuple[str, str]]:
    """name -> (type, help) as HELP/TYPE lines say (prometheus_client drops `_total` from counter names)."""
    helps = dict(re.findall(r"^# HELP (\S+) (.*)$", text, re.M))
    return {name: (kind, helps[name]) for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.mark.parametrize("query,expected", [
    (None, (ALL, False)),
    ("", (ALL, False)),
    ("scope=backend", ({"backend"}, False)),
    ("scope=backend&scope=server&no-maint", ({"backend", "server"}, True)),
    ("scope=", (set(), False)),
    ("scope=backend&scope=", (set(), False)),  # an empty scope clears what came before
    ("scope=&scope=global", ({"global"}, False)),
    ("scope=*", (ALL, False)),
    ("scope=sticktable", ({"sticktable"}, False)),
    ("scope=backend#scope=server", ({"backend"}, False)),
    ("other=1&scope=fr%6Fntend", ({"frontend"}, False)),
    ("scope=bogus", None),
    ("scope", None),
    ("scope=a=b", None),
    ("scope=%zz", None),
])  # fmt: skip
def test_query(query: str | None, expected: tuple | None) -> None:
    assert parse_query(query) == expected


def test_bad_query_is_haproxys_400(lab: Lab) -> None:
    reply = lab.serve(PrometheusExporter(), "/metrics?scope=bogus")
    assert (reply.status, reply.reason, reply.close, header(reply, "content-type")) == (400, "Bad request", True,
                                                                                      "text/html")  # fmt: skip
    assert reply.body == (b"<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n"
                          b"</body></html>\n")


def test_head_is_answered_like_get(lab: Lab) -> None:
    """The engine sends the head only (lb.services.base): the service answers HEAD as GET."""
    reply = lab.serve(PrometheusExporter(), "/metrics", "HEAD")
    assert reply.status == 200 and reply.body.startswith(b"# HELP haproxy_process_nbthread ")


def test_names_types_and_help_are_haproxys(lab: Lab) -> None:
    reference = families(REFERENCE.read_text())
    lab.shm.srv_status[A] = 3  # L4OK: a finished check has a duration
    ours = families(scrape(lab))
    for name, described in ours.items():
        assert reference.get(name) == described, name
    for name in reference:
        scope, short = name.split("_", 2)[1:]
        assert (name in ours) != (short in pm.LEFT_OUT[scope]), name
    assert all(f"haproxy_{scope}_{short}" in reference for scope, names in pm.LEFT_OUT.items() for short in names)


def test_same_order_as_haproxy(lab: Lab) -> None:
    reference = list(families(REFERENCE.read_text()))
    lab.shm.srv_status[A] = 3
    ours = list(families(scrape(lab)))
    assert ours == [name for name in reference if name in ours]


def test_parsed_by_prometheus_and_equal_to_show_stat(lab: Lab) -> None:
    count(lab.gen, 0, 0, "sessions", 5)
    count(lab.gen, 1, 0, "sessions", 2)
    count(lab.gen, 0, lab.shm.server_obj(A), "hrsp_2xx", 4)
    count(lab.gen, 0, lab.shm.server_obj(A), "rtime", 30)  # 3 samples of 10 ms
    count(lab.gen, 0, lab.shm.server_obj(A), "requests", 3)
    table = rows(lab.gen)
    values = samples(scrape(lab))
    fe = (("proxy", "fe"),)
    assert values[("haproxy_frontend_sessions_total", fe)] == 7 == int(table[("fe", "FRONTEND")]["stot"])
    assert values[("haproxy_server_http_responses_total", (("code", "2xx"), ("proxy", "be"), ("server", "a")))] == 4
    assert values[("haproxy_server_response_time_average_seconds", (("proxy", "be"), ("server", "a")))] == 0.01
    assert values[("haproxy_server_limit_sessions", (("proxy", "be"), ("server", "b")))] == 10
    assert values[("haproxy_server_queue_limit", (("proxy", "be"), ("server", "b")))] == 5
    nan = values[("haproxy_server_limit_sessions", (("proxy", "be"), ("server", "a")))]
    assert nan != nan  # no maxconn: NaN, as HAProxy
    assert values[("haproxy_process_uptime_seconds", ())] == 3725  # show info's, from the master
    assert values[("haproxy_process_build_info", (("version", "0.1.0"),))] == 1
    assert values[("haproxy_listener_sessions_total", (("listener", "main"), ("proxy", "fe")))] == 0


def test_states(lab: Lab) -> None:
    lab.shm.srv_admin[B] = layout.ADMIN_DRAIN
    lab.shm.srv_up[C], lab.shm.srv_health[C], lab.shm.srv_status[C] = layout.SRV_DOWN, 0, 5  # L4CON
    lab.shm.srv_status[A] = 3  # L4OK
    values = samples(scrape(lab))

    def state(metric: str, labels: tuple) -> str:
        up = [dict(key[1])["state"] for key, value in values.items()
              if key[0] == metric and all(pair in key[1] for pair in labels) and value == 1]  # fmt: skip
        assert len(up) == 1, up
        return up[0]

    assert [state("haproxy_server_status", (("server", s),)) for s in "abcd"] == ["UP", "DRAIN", "DOWN", "MAINT"]
    assert state("haproxy_server_check_status", (("server", "a"),)) == "L4OK"
    assert state("haproxy_backend_status", (("proxy", "be"),)) == "UP"
    assert state("haproxy_frontend_status", (("proxy", "fetcp"),)) == "UP"
    assert state("haproxy_listener_status", (("listener", "main"),)) == "OPEN"
    agg = {dict(key[1])["state"]: value for key, value in values.items()
           if key[0] == "haproxy_backend_agg_server_status" and ("proxy", "be") in key[1]}  # fmt: skip
    assert agg == {"DOWN": 1, "UP": 1, "MAINT": 1, "DRAIN": 1, "NOLB": 0}
    checks = {dict(key[1])["state"]: value for key, value in values.items()
              if key[0] == "haproxy_backend_agg_check_status" and ("proxy", "be") in key[1] and value}  # fmt: skip
    assert checks == {"L4OK": 1, "L4CON": 1}
    servers_with_check = {dict(key[1])["server"] for key in values if key[0] == "haproxy_server_check_status"}
    assert servers_with_check == {"a", "c"}  # b has no check, d's is paused (maintenance)


def test_http_metrics_only_for_http_proxies(lab: Lab) -> None:
    text = scrape(lab)
    assert 'haproxy_frontend_http_requests_total{proxy="fe"}' in text
    assert 'proxy="fetcp",code=' not in text and 'haproxy_backend_http_requests_total{proxy="betcp"}' not in text
    assert 'haproxy_frontend_sessions_total{proxy="fetcp"} 0' in text


def test_scopes_and_no_maint(lab: Lab) -> None:
    text = scrape(lab, "/metrics?scope=server&no-maint")
    assert {name.split("_")[1] for name in families(text)} == {"server"}
    assert 'server="d"' not in text and 'server="a"' in text
    assert scrape(lab, "/metrics?scope=") == ""
    assert lab.asked == []  # no process metrics asked: no show info
    text = scrape(lab, "/metrics?scope=global")
    assert {name.split("_")[1] for name in families(text)} == {"process"} and lab.asked == ["show info typed"]


def test_process_metrics_without_the_master(lab: Lab) -> None:
    lab.master_answers = False
    values = samples(scrape(lab, "/metrics?scope=global"))
    assert values[("haproxy_process_nbproc", ())] == 2 and values[("haproxy_process_max_connections", ())] == 1000


def test_no_aggregates_for_a_backend_without_servers(tmp_path: Path) -> None:
    lab = Lab(tmp_path, BODY + "listen stats\n    bind 127.0.0.1:9\n    stats enable\n")
    text = scrape(lab, "/metrics?scope=backend")
    assert 'haproxy_backend_status{proxy="stats",state="UP"} 1' in text
    assert 'agg_server_status{proxy="stats"' not in text and 'agg_check_status{proxy="stats"' not in text
    assert 'agg_server_status{proxy="be",state="UP"}' in text


def test_stick_tables_are_show_tables(tmp_path: Path) -> None:
    lab = Lab(tmp_path, BODY + """backend bt
    stick-table type string len 32 size 200
backend ipt
    stick-table type ip size 1k expire 10s store http_req_rate(10s)
""")
    lab.cli("set table bt key alice")
    text = scrape(lab, "/metrics?scope=sticktable")
    assert text == (
        "# HELP haproxy_sticktable_size Stick table size.\n# TYPE haproxy_sticktable_size gauge\n"
        'haproxy_sticktable_size{name="ipt",type="ip"} 1024\nhaproxy_sticktable_size{name="bt",type="string"} 200\n'
        "# HELP haproxy_sticktable_used Number of entries used in this stick table.\n"
        "# TYPE haproxy_sticktable_used gauge\n"
        'haproxy_sticktable_used{name="ipt",type="ip"} 0\nhaproxy_sticktable_used{name="bt",type="string"} 1\n')
    # (last declared first, as HAProxy lists its tables in `show table` and in the exporter)
    assert lab.asked[-1] == "show table"
    assert scrape(lab).endswith(text)  # the last section of a full scrape, as HAProxy's


def test_no_table_no_question(lab: Lab) -> None:
    scrape(lab, "/metrics?scope=sticktable")
    assert lab.asked == []
