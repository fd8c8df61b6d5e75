"""The stats page and the Prometheus exporter on a real lb with 2 workers, real origins and clients.

Numbers are checked against the traffic actually sent (one connection per
request, so both workers serve) and against the stats socket's `show stat`
of the same lb; the admin form's drain is checked on real traffic (the
drained server gets no new request).  Skipped until the engine runs
lb.services (tests.services.e2e.engine_serves_services).
"""

from __future__ import annotations

import base64
import os
from typing import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.scenarios.http.origins import Origin
from tests.services.e2e import Setup, engine_serves_services, fetch, json_of, traffic, wait_checked
from tests.support import LbProcess, wait_until

pytestmark = pytest.mark.skipif(not engine_serves_services(), reason="the engine does not run lb.services yet")
VOLATILE = {"lastchg", "downtime", "lastsess", "check_duration", "rate", "rate_max", "req_rate", "req_rate_max",
            "qtime", "ctime", "rtime", "ttime", "smax", "bin", "bout", "stot", "req_tot", "hrsp_2xx", "intercepted",
            "scur", "last_chk", "chkfail", "check_status"}  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    origins = [Origin("web1"), Origin("web2")]
    setup = Setup(tmp_path_factory.mktemp("lb"), origins)
    lb = LbProcess(setup.dir, setup.config()).start()
    try:
        wait_until(lambda: os.path.exists(setup.socket), what="stats socket")
        wait_checked(setup)
        yield setup
    finally:
        lb.stop()
        for origin in origins:
            origin.close()


def test_page_shows_the_traffic_sent(lab: Setup) -> None:
    before = int(lab.stat()[("be", "a")]["stot"])
    traffic(lab.ports["fe"], 20)
    lab.settled(lambda table: int(table[("be", "a")]["stot"]) >= before + 10, "be/a counted")
    reply = fetch(lab.ports["stats"], "/stats")
    assert reply.status == 200
    assert [(k.lower(), v) for k, v in reply.headers if k.lower() in ("cache-control", "content-type", "refresh")] == [
        ("cache-control", "no-cache"), ("content-type", "text/html"), ("refresh", "10")]
    html = reply.body.decode()
    for name in ("fe", "be", "stats", "locked"):
        assert f'<a class=px href="#{name}">{name}</a>' in html
    assert 'name="s" value="a"' in html and 'name="s" value="b"' in html  # admin: the client is 127.0.0.1


def test_exports_agree_with_the_stats_socket(lab: Setup) -> None:
    traffic(lab.ports["fe"], 6)
    page = fetch(lab.ports["stats"], "/stats;csv;norefresh")
    assert page.status == 200 and page.header("content-type") == "text/plain" and page.header("refresh") is None
    socket_lines, page_lines = lab.cli("show stat").splitlines(), page.body.decode().splitlines()
    assert page_lines[0] == socket_lines[0]
    names = page_lines[0][2:].split(",")

    def stable(lines: list[str]) -> list[dict[str, str]]:
        return [{k: v for k, v in zip(names, line.split(","), strict=False) if k not in VOLATILE} for line in lines[1:]]

    assert stable(page_lines) == stable(socket_lines)
    rows = json_of(fetch(lab.ports["stats"], "/stats;json"))
    assert {row[0]["value"]["value"] for row in rows} == {"fe", "be", "stats", "locked"}


def test_auth(lab: Setup) -> None:
    reply = fetch(lab.ports["locked"], "/haproxy?stats")
    assert reply.status == 401 and reply.header("www-authenticate") == 'Basic realm="Lab stats"'
    token = base64.b64encode(b"admin:secret").decode()
    assert fetch(lab.ports["locked"], "/haproxy?stats", headers={"Authorization": f"Basic {token}"}).status == 200
    assert fetch(lab.ports["locked"], "/haproxy?stats;csv", headers={"Authorization": "Basic eDp5"}).status == 401


def test_admin_form_drains_a_server_for_real(lab: Setup) -> None:
    reply = fetch(lab.ports["stats"], "/stats;norefresh", "POST", b"s=b&action=drain&b=be")
    assert (reply.status, reply.header("location")) == (303, "/stats;st=DONE;norefresh")
    assert lab.stat()[("be", "b")]["status"] == "DRAIN"
    web2 = lab.origins[1]
    seen = len(web2.seen())
    traffic(lab.ports["fe"], 10)
    assert len(web2.seen()) == seen  # a drained server takes no new traffic
    html = fetch(lab.ports["stats"], "/stats;st=DONE").body.decode()
    assert "Action processed successfully." in html and '<tr class="active_draining">' in html
    reply = fetch(lab.ports["stats"], "/stats", "POST", b"s=b&action=ready&b=be")
    assert reply.header("location") == "/stats;st=DONE" and lab.stat()[("be", "b")]["status"] == "no check"


def test_exporter(lab: Setup) -> None:
    traffic(lab.ports["fe"], 4)
    lab.settled(lambda table: int(table[("fe", "FRONTEND")]["stot"]) > 0, "fe counted")
    reply = fetch(lab.ports["fe"], "/metrics")
    assert reply.status == 200 and reply.header("content-type") == "text/plain; version=0.0.4"
    families = {family.name: family for family in text_string_to_metric_families(reply.body.decode())}
    status = {sample.labels["state"]: sample.value for sample in families["haproxy_server_status"].samples
              if sample.labels["server"] == "a"}  # fmt: skip
    assert status == {"DOWN": 0, "UP": 1, "MAINT": 0, "DRAIN": 0, "NOLB": 0}
    table = lab.stat()
    sessions = {s.labels["proxy"]: s.value for s in families["haproxy_frontend_sessions"].samples}
    assert 0 < sessions["fe"] <= int(table[("fe", "FRONTEND")]["stot"]) + 1
    assert families["haproxy_process_nbproc"].samples[0].value == 2
    scoped = fetch(lab.ports["fe"], "/metrics?scope=backend").body.decode()
    assert {line.split()[2].split("_")[1] for line in scoped.splitlines() if line.startswith("# TYPE")} == {"backend"}
    assert fetch(lab.ports["fe"], "/metrics?scope=nope").status == 400

