"""HTTP/2 streams through the features other modules built for HTTP/1 (issue 13): one real lb, `h2` clients.

- compression: a compressed response goes out as DATA frames, without
  Content-Length, byte-exact once decoded;
- stick tables: each stream is a request in the counters it tracks (a rate
  limit denies the sixth stream of one connection, the next streams go on),
  and the conn_cur a `tcp-request connection` rule tracks is released when
  the connection closes;
- `http-request silent-drop`: the connection goes without a frame;
- services and http-after-response: the Prometheus exporter and the stats
  page answer a stream, lb's own replies and servers' responses get the
  after-response rules.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Iterator

import pytest

from tests.runtime_api.lab import cli
from tests.scenarios.http.h2kit import H2Client
from tests.scenarios.http.origins import Origin, pattern_digest
from tests.support import LbProcess, free_port, wait_until


class Lab:
    def __init__(self, directory: Path) -> None:
        self.origin = Origin("o1")
        self.port = free_port()
        self.sock = str(directory / "admin.sock")
        self.lb = LbProcess(directory, f"""
global
    nbproc 2
    stats socket {self.sock} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{self.port} proto h2
    stick-table type ip size 10 expire 30s store http_req_cnt,http_req_rate(10s)
    tcp-request connection track-sc1 src table conns
    http-request track-sc0 src if {{ path_beg /limited/ }}
    http-request deny deny_status 429 if {{ path_beg /limited/ }} {{ sc_http_req_rate(0) gt 5 }}
    http-request silent-drop if {{ path_beg /drop }}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    http-request deny deny_status 403 if {{ path /denied }}
    http-after-response set-header x-after fe
    stats enable
    stats uri /stats
    compression algo gzip
    default_backend be
backend be
    server o1 127.0.0.1:{self.origin.port}
backend conns
    stick-table type ip size 10 expire 30s store conn_cur
""")  # fmt: skip

    def table(self, name: str) -> str:
        lines = cli(self.sock, f"show table {name}").decode().splitlines()[1:]
        return "\n".join(line.split(": ", 1)[1] for line in lines if line.startswith("0x"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("h2features"))
    lab.lb.start()
    yield lab
    lab.lb.stop()
    lab.origin.close()


def test_a_compressed_response_goes_out_as_data_frames(lab: Lab) -> None:
    with H2Client(lab.port) as client:
        gets = [client.request("GET", path, headers=[("accept-encoding", "gzip")])
                for path in ("/c/download/300000", "/c/chunked")]  # fmt: skip
        big, chunked = client.wait(*gets)
    for result in (big, chunked):
        fields = dict(result.headers)
        assert result.ended and result.status == 200
        assert fields[b"content-encoding"] == b"gzip" and fields[b"vary"] == b"Accept-Encoding"
        assert b"content-length" not in fields and b"transfer-encoding" not in fields
    assert hashlib.sha256(gzip.decompress(bytes(big.body))).hexdigest() == pattern_digest(300000)
    assert gzip.decompress(bytes(chunked.body)) == b"first,second part,third\n"


def test_streams_count_in_the_tracked_counters(lab: Lab) -> None:
    with H2Client(lab.port) as client:
        statuses = [client.get(f"/limited/{i}").status for i in range(8)]
        assert statuses == [200] * 5 + [429] * 3
        assert client.get("/free").status == 200  # the connection goes on
        assert lab.table("conns").endswith(" conn_cur=1")
    wait_until(lambda: lab.table("conns").endswith(" conn_cur=0"), timeout=5, what="conn_cur released")
    assert " http_req_cnt=8 " in lab.table("fe")


def test_silent_drop_closes_the_connection_without_a_frame(lab: Lab) -> None:
    with H2Client(lab.port) as client:
        assert client.get("/before").status == 200
        stream = client.request("GET", "/drop")
        [result] = client.wait(stream, timeout=5)
        assert client.closed and client.goaway is None
        assert result.headers == [] and result.reset is None


def test_services_and_after_response_rules_answer_streams(lab: Lab) -> None:
    with H2Client(lab.port) as client:
        metrics, stats, denied, served = client.wait(*(client.request("GET", path) for path in
                                                       ("/metrics", "/stats;csv", "/denied", "/page")))  # fmt: skip
    assert metrics.status == 200 and b"haproxy_process_" in bytes(metrics.body)
    assert stats.status == 200 and bytes(stats.body).startswith(b"# pxname,svname,")
    assert denied.status == 403
    assert served.status == 200 and bytes(served.body) == b"o1 /page\n"
    for result in (metrics, stats, denied, served):
        assert dict(result.headers)[b"x-after"] == b"fe"
