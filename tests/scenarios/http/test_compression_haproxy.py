"""Compression side by side with HAProxy 2.6 on the same origin (tests only; needs /usr/sbin/haproxy).

lb (2 workers) and HAProxy run the same configuration (compkit.CONFIG) in
front of one CannedOrigin; each request goes to both.  Compared: status,
every header field in order (the date aside), the body once decoded, the
trailers, what the origin received (offload), and the httplog line (%B
included: HAProxy counts the response as the server sent it, not as
compressed).  Compressed bytes themselves differ: Debian's HAProxy
compresses with libslz, lb with zlib.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator

import pytest

from lb.logs.compare import line_differences
from tests.logs.e2e_support import HAPROXY
from tests.scenarios.http.canned import CannedOrigin
from tests.scenarios.http.compkit import CONFIG, HAProxy, Reply, decoded, fetch, log_line, target
from tests.support import LbProcess, free_port

pytestmark = pytest.mark.skipif(HAPROXY is None, reason="haproxy 2.6 is not installed")
MARKERS = itertools.count()


class Pair:
    def __init__(self, lb: LbProcess, lb_port: int, haproxy: HAProxy, ha_port: int, origin: CannedOrigin) -> None:
        self.lb, self.lb_port, self.haproxy, self.ha_port, self.origin = lb, lb_port, haproxy, ha_port, origin

    def both(self, path: str, headers: dict[str, str], method: str = "GET", version: str = "1.1") \
            -> tuple[Reply, Reply, str]:  # fmt: skip
        """The same request to lb, then to HAProxy, each with its own marker; (ours, theirs, marker)."""
        marker = f"m{next(MARKERS)}"
        sep = "&" if "?" in path else "?"
        ours = fetch(self.lb_port, f"{path}{sep}lb={marker}", headers, method, version)
        theirs = fetch(self.ha_port, f"{path}{sep}ha={marker}", headers, method, version)
        return ours, theirs, marker


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    origin = CannedOrigin()
    lb_port, ha_port = free_port(), free_port()
    lb_config = CONFIG.format(global_extra="    nbproc 2", port=lb_port, plain_port=free_port(), origin=origin.port)
    ha_config = CONFIG.format(global_extra="", port=ha_port, plain_port=free_port(), origin=origin.port)
    lb = LbProcess(tmp_path_factory.mktemp("lb"), lb_config).start()
    haproxy = HAProxy(Path(tmp_path_factory.mktemp("haproxy")), ha_config, (ha_port,))
    yield Pair(lb, lb_port, haproxy, ha_port, origin)
    lb.stop()
    haproxy.stop()
    origin.close()


CASES = [
    target(), target(frame="chunked", pieces=3), target(frame="chunked", pieces=2, trailer=1),
    target(frame="chunked", size=0), target(size=0), target(size=100_000, pieces=9),
    target(type="text/html; charset=utf-8"), target(type="TEXT/HTML"), target(type="application/json"),
    target(type="image/png"), target(type="multipart/mixed"), target(type=""),
    target(status=201), target(status=203), target(status=206), target(status=404), target(status=204),
    target(status=304), target(frame="close"), target(frame="http10"),
    target(headers=('ETag: "abc"', "Vary: Cookie")), target(h='ETag:W/"abc"'), target(h="ETag:abc"),
    target(headers=('ETag: "a"', 'ETag: "b"')), target(h="Cache-Control:public, no-transform"),
    target(h="Content-Encoding:br"), target("/identity"), target("/identity", h='ETag:"i"'),
    target("/raw", type="text/csv"), target("/rules"), target("/rules", h="X-Etag-Rule:1"),
    target("/offload"),
]  # fmt: skip
ACCEPTS = ["gzip", "deflate, gzip", "gzip;q=0.2, deflate;q=0.3", "gzip;q=0", "*", "br", None]


def same(ours: Reply, theirs: Reply, raw_deflate: bool = False) -> None:
    assert (ours.status, ours.fields(), ours.trailers) == (theirs.status, theirs.fields(), theirs.trailers)
    if theirs.header("content-encoding") == "deflate" and theirs.body[:2] == b"\x1f\x8b":
        # HAProxy 2.6's libslz writes a gzip stream for an empty body sent as deflate: lb
        # sends an empty zlib stream, which is what deflate means
        assert decoded(ours) == b""
        return
    assert decoded(ours, raw_deflate) == decoded(theirs, raw_deflate)


@pytest.mark.parametrize("path", CASES)
def test_same_response_as_haproxy(pair: Pair, path: str) -> None:
    for accept in ACCEPTS:
        ours, theirs, _ = pair.both(path, {"Accept-Encoding": accept} if accept else {})
        same(ours, theirs, raw_deflate=path.startswith("/raw"))


@pytest.mark.parametrize("path", [target(), target(frame="chunked", pieces=3, trailer=1), target(status=404),
                                  target("/identity"), target("/rules", h="X-Etag-Rule:1"), target("/offload")])
def test_same_log_line_as_haproxy(pair: Pair, path: str) -> None:
    """%B is the response as the server sent it, compressed or not (HAProxy counts before its filter)."""
    for accept in ("gzip", None):
        _, _, marker = pair.both(path, {"Accept-Encoding": accept} if accept else {})
        ours, theirs = log_line(pair.lb.stdout_lines, f"lb={marker}"), log_line(pair.haproxy.lines, f"ha={marker}")
        problems = line_differences(ours.replace(f"lb={marker}", "X"), theirs.replace(f"ha={marker}", "X"))
        assert not problems, (problems, ours, theirs)


@pytest.mark.parametrize("headers, method, version", [
    ({"Accept-Encoding": "gzip"}, "HEAD", "1.1"),
    ({"Accept-Encoding": "gzip"}, "GET", "1.0"),
    ({"Accept-Encoding": "gzip", "User-Agent": "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"}, "GET", "1.1"),
    ({"Accept-Encoding": "gzip", "User-Agent": "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"}, "GET",
     "1.1"),
    ({"Accept-Encoding": "deflate;q=0.5", "accept-encoding": "gzip;q=0.6"}, "GET", "1.1"),
])  # fmt: skip
def test_same_decision_on_the_request(pair: Pair, headers: dict[str, str], method: str, version: str) -> None:
    ours, theirs, _ = pair.both(target(), headers, method, version)
    same(ours, theirs)


@pytest.mark.parametrize("accept", ["gzip", "br", "gzip;q=0", "identity"])
def test_offload_as_haproxy(pair: Pair, accept: str) -> None:
    """The origin receives the same request head from both (Accept-Encoding removed only when compressing)."""
    _, _, marker = pair.both(target("/offload"), {"Accept-Encoding": accept})
    [ours] = pair.origin.received(f"lb={marker}")
    [theirs] = pair.origin.received(f"ha={marker}")
    assert ours.all("accept-encoding") == theirs.all("accept-encoding")
    assert [n.lower() for n, _ in ours.headers] == [n.lower() for n, _ in theirs.headers]
