"""lb's stats page and exporter against HAProxy 2.6's on the same configuration and origins.

What clients and scrapers read must be HAProxy's: status codes, reasons,
the stats page's headers, the 303 and its Location after an admin action,
the 401 page with its realm, the CSV header, the exporter's content type,
its 400 page, its metric names, types and labels (every HAProxy metric lb
does not print is one listed as left out).  Skipped until the engine runs
lb.services, and where the Debian haproxy 2.6 binary is not installed.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Iterator

import pytest

from lb.services import promex_metrics as pm
from tests.scenarios.http.origins import Origin
from tests.services.e2e import HAPROXY, Reply, Setup, engine_serves_services, fetch, traffic, wait_checked
from tests.support import LbProcess, wait_until

pytestmark = [pytest.mark.skipif(not engine_serves_services(), reason="the engine does not run lb.services yet"),
              pytest.mark.skipif(not os.access(HAPROXY, os.X_OK), reason="haproxy 2.6 is not installed")]
SHOWN = ("cache-control", "content-type", "refresh", "location", "www-authenticate")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Setup, Setup]]:
    origins = [Origin("web1"), Origin("web2")]
    haproxy, lb_setup = (Setup(tmp_path_factory.mktemp(name), origins) for name in ("haproxy", "lb"))
    (haproxy.dir / "h.cfg").write_text(haproxy.config())
    proc = subprocess.Popen([HAPROXY, "-db", "-f", str(haproxy.dir / "h.cfg")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    lb = LbProcess(lb_setup.dir, lb_setup.config()).start()
    try:
        for setup in (haproxy, lb_setup):
            wait_until(lambda setup=setup: os.path.exists(setup.socket), what="stats socket")
            wait_checked(setup)
            traffic(setup.ports["fe"], 4)
        yield haproxy, lb_setup
    finally:
        lb.stop()
        proc.terminate()
        proc.wait(10)
        for origin in origins:
            origin.close()


def shown(reply: Reply) -> tuple:
    return reply.status, reply.reason, [(k.lower(), v) for k, v in reply.headers if k.lower() in SHOWN]


@pytest.mark.parametrize("port,target,method,body,auth", [
    ("stats", "/stats", "GET", None, None),
    ("stats", "/stats;csv", "GET", None, None),
    ("stats", "/stats;json;norefresh", "GET", None, None),
    ("stats", "/stats;up;norefresh?scope=be", "POST", b"s=b&action=drain&b=%233", None),
    ("stats", "/stats", "POST", b"s=b&action=ready&b=be", None),
    ("stats", "/stats", "POST", b"s=zz&action=ready&b=be", None),
    ("stats", "/stats", "POST", b"s=a&action=bogus&b=be", None),
    ("stats", "/stats", "POST", b"", None),
    ("locked", "/haproxy?stats", "GET", None, None),
    ("locked", "/haproxy?stats", "GET", None, "Basic YWRtaW46c2VjcmV0"),
    ("locked", "/haproxy?stats", "POST", b"s=a&action=drain&b=be", "Basic YWRtaW46c2VjcmV0"),  # no admin rule
    ("fe", "/metrics", "GET", None, None),
    ("fe", "/metrics?scope=nope", "GET", None, None),
])  # fmt: skip
def test_same_status_and_headers(pair: tuple[Setup, Setup], port: str, target: str, method: str, body: bytes | None,
                                 auth: str | None) -> None:  # fmt: skip
    headers = {"Authorization": auth} if auth else None
    theirs, ours = (fetch(setup.ports[port], target, method, body, headers) for setup in pair)
    assert shown(ours) == shown(theirs)
    if theirs.status in (400, 401):
        assert ours.body == theirs.body


def test_same_csv_header(pair: tuple[Setup, Setup]) -> None:
    theirs, ours = (fetch(setup.ports["stats"], "/stats;csv").body.decode().splitlines() for setup in pair)
    assert ours[0] == theirs[0]
    assert [line.split(",")[:2] for line in ours[1:]] == [line.split(",")[:2] for line in theirs[1:]]


def families(text: str) -> dict[str, str]:
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def label_sets(text: str, name: str) -> set[str]:
    return {line.split(" ")[0] for line in text.splitlines() if line.startswith(name + "{")}


def test_same_metrics(pair: tuple[Setup, Setup]) -> None:
    theirs, ours = (fetch(setup.ports["fe"], "/metrics").body.decode() for setup in pair)
    their_families, our_families = families(theirs), families(ours)
    for name, kind in our_families.items():
        assert their_families.get(name) == kind, name
    missing = {name for name in their_families if name not in our_families}
    left_out = {f"haproxy_{scope}_{short}" for scope, names in pm.LEFT_OUT.items() for short in names}
    assert missing <= left_out
    for name in ("haproxy_server_status", "haproxy_backend_status", "haproxy_frontend_http_responses_total",
                 "haproxy_backend_agg_server_status", "haproxy_server_check_status", "haproxy_sticktable_size"):
        assert label_sets(ours, name) == label_sets(theirs, name), name
