"""The stats page served in-process over a real generation (worker code; unit).

The page is called as the engine calls it, with a context whose
`ask_master` runs the line through the real runtime API at level admin
(tests.services.helpers): what the admin form changes is what `show stat`
then shows, and the page's exports are `show stat`'s bytes.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from lb.shm import layout
from lb.services.base import ServiceRequest
from lb.services.statspage import parse_view, target_of
from tests.services.helpers import Lab, basic, header
from tests.stats.helpers import count

BODY = """
frontend fe
    bind 127.0.0.1:1
    default_backend be
backend be
    server a 127.0.0.1:2 check
    server b 127.0.0.1:3 maxconn 10
    server c 127.0.0.1:4 backup disabled
backend other
    server o 127.0.0.1:5
listen stats
    bind 127.0.0.1:6
    stats enable
    stats uri /stats
    stats refresh 5s
    stats admin if { src 127.0.0.1 }
    stats show-legends
listen locked
    bind 127.0.0.1:7
    stats auth admin:secret
    stats auth viewer:view
    stats realm Lab\\ stats
    stats scope .
    stats scope be
listen guarded
    bind 127.0.0.1:8
    acl local src 127.0.0.1
    stats http-request deny unless local
    stats hide-version
    stats show-node lab1
    stats show-desc the lab
"""
A, B = 0, 1  # shm indexes of be/a, be/b


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path, BODY)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> float:
    """One clock for the page and the stats socket: their rows must be identical."""
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    return now


@pytest.mark.parametrize("method,uri,prefix,expected", [
    ("GET", "/stats", "/stats", True),
    ("GET", "/stats;csv;up", "/stats", True),
    ("HEAD", "/statsanything", "/stats", True),
    ("POST", "/stats", "/stats", True),
    ("PUT", "/stats", "/stats", False),
    ("GET", "/stat", "/stats", False),
    ("GET", "http://lb.example/stats?x", "/stats", True),
    ("GET", "/haproxy?stats", "/haproxy?stats", True),
    ("GET", "/haproxy?stats;csv", "/haproxy?stats", True),
    ("GET", "/haproxy", "/haproxy?stats", False),
])  # fmt: skip
def test_matches_the_uri_prefix(lab: Lab, method: str, uri: str, prefix: str, expected: bool) -> None:
    page = lab.page("stats")
    page.settings.uri = prefix
    assert page.matches(method, uri) is expected


def test_prefix_without_slash_compares_the_uri_as_received() -> None:
    assert target_of("http://h/stats", "/stats") == "/stats" and target_of("http://h/stats", "http") == "http://h/stats"


@pytest.mark.parametrize("options,refresh,expected", [
    ("", 5, ("html", False, False, False, "", "")),
    (";csv", 5, ("csv", False, False, False, "", "")),
    (";csv;json", 0, ("json", False, False, False, "", "")),
    (";typed", 0, ("typed", False, False, False, "", "")),
    (";json-schema", 0, ("json-schema", False, False, False, "", "")),
    (";up;no-maint;norefresh", 5, ("html", True, True, True, "", "")),
    (";norefresh", 0, ("html", False, False, False, "", "")),  # only with `stats refresh`
    (";st=DONE", 0, ("html", False, False, False, "DONE", "")),
    (";st=WHAT", 0, ("html", False, False, False, "UNKN", "")),
    (";st=DON", 0, ("html", False, False, False, "", "")),  # HAProxy wants 4 characters after ;st=
    ("?scope=be", 0, ("html", False, False, False, "", "be")),
    ("?scope=b", 0, ("html", False, False, False, "", "")),  # HAProxy's bound: 2 characters at least
    ("?scope=b;up", 0, ("html", True, False, False, "", "b")),
    ("?scope=be%20x", 0, ("html", False, False, False, "", "")),  # invalid characters clear the scope
    ("?scope=abcdefghijklmnopqrstuvwxyz", 0, ("html", False, False, False, "", "abcdefghijklmnopqrst")),
])  # fmt: skip
def test_view_options_as_haproxy_reads_them(options: str, refresh: int, expected: tuple) -> None:
    view = parse_view(options, refresh)
    assert (view.fmt, view.hide_down, view.hide_maint, view.no_refresh, view.status, view.scope) == expected


def test_html_page(lab: Lab) -> None:
    lab.shm.srv_admin[B] = layout.ADMIN_DRAIN
    count(lab.gen, 0, lab.shm.server_obj(A), "sessions", 31738)
    reply = lab.serve(lab.page("stats"), "/stats")
    html = reply.body.decode()
    assert reply.status == 200
    assert reply.headers == [("cache-control", "no-cache"), ("content-type", "text/html"), ("refresh", "5")]
    assert "<h1>lb version 0.1.0</h1>" in html and "<h2>Statistics Report for pid 4242</h2>" in html
    assert "<b>uptime = </b> 0d 1h02m05s<br>" in html  # show info's, from the master
    assert re.findall(r'<a class=px href="#([^"]+)">', html) == ["fe", "be", "other", "stats", "locked", "guarded"]
    assert '<tr class="active_going_down"><td><input class=\'be-checkbox\' type="checkbox" name="s" value="a">' in html
    assert '<tr class="active_draining">' in html and '<tr class="maintain">' in html
    assert "3<span class=\"rls\">1</span>738" in html  # HAProxy's digit grouping
    assert "<div class=tips>IPv4: 127.0.0.1:2, id: 1</div>" in html  # show-legends
    assert html.count('<form method="post">') == 2  # the backends with servers, for an admin
    assert '<input type="hidden" name="b" value="#3">' in html
    assert '<li><a href="/stats;norefresh">Disable refresh</a>' in html and html.endswith("</body></html>\n")


def test_html_without_admin_rights(lab: Lab) -> None:
    page = lab.page("stats")
    request = ServiceRequest("GET", "/stats", "1.1", [], b"", "10.0.0.1", "stats")
    replies: list = []
    page.respond(request, lab.context(), replies.append)
    assert "<form method=\"post\">" not in replies[0].body.decode() and "checkbox" not in replies[0].body.decode()


def test_exports_are_show_stats_bytes(lab: Lab, frozen: float) -> None:
    lab.shm.srv_up[A] = layout.SRV_DOWN
    count(lab.gen, 1, 0, "sessions", 7)
    page = lab.page("stats")
    for options, command in ((";csv", "show stat"), (";json", "show stat json"), (";typed", "show stat typed"),
                             (";csv;up", "show stat up"), (";csv;no-maint", "show stat no-maint")):  # fmt: skip
        reply = lab.serve(page, "/stats" + options)
        assert reply.body.decode() == lab.cli(command), options  # legends shown: show-legends, and admin level
    assert header(lab.serve(page, "/stats;json"), "content-type") == "application/json"
    assert header(lab.serve(page, "/stats;csv;norefresh"), "refresh") is None


def test_exports_without_legends_hide_addresses(lab: Lab) -> None:
    lab.page("stats").settings.show_legends = False
    csv = lab.serve(lab.page("stats"), "/stats;csv").body.decode()
    assert "127.0.0.1:2" not in csv and ",roundrobin," not in csv


def test_hide_down_and_maint(lab: Lab) -> None:
    lab.shm.srv_up[A], lab.shm.srv_health[A] = layout.SRV_DOWN, 0
    html = lab.serve(lab.page("stats"), "/stats;up").body.decode()
    assert 'value="a"' not in html and 'value="c"' not in html and 'value="b"' in html
    assert "UP (1/3)" in html and '<li><a href="/stats">Show all servers</a>' in html
    html = lab.serve(lab.page("stats"), "/stats;no-maint").body.decode()
    assert 'value="a"' in html and 'value="c"' not in html


def test_scopes(lab: Lab) -> None:
    page = lab.page("stats")
    html = page_names(lab.serve(page, "/stats?scope=OTH").body.decode())
    assert html == ["other"]  # the search is case-insensitive
    locked = lab.serve(lab.page("locked"), "/haproxy?stats", headers=basic("admin", "secret")).body.decode()
    assert page_names(locked) == ["be", "locked"]  # `stats scope be` and `stats scope .`
    csv = lab.serve(lab.page("locked"), "/haproxy?stats;csv", headers=basic("admin", "secret")).body.decode()
    assert {line.split(",")[0] for line in csv.splitlines()[1:]} == {"be", "locked"}


def page_names(html: str) -> list[str]:
    return re.findall(r'<a class=px href="#([^"]+)">', html)


def test_node_description_and_hidden_version(lab: Lab) -> None:
    html = lab.serve(lab.page("guarded"), "/haproxy?stats").body.decode()
    assert "<title>Statistics Report for lb on lab1</title>" in html
    assert "<h1>lb</h1>" in html and "<h2>Statistics Report for pid 4242 on lab1: the lab</h2>" in html


def test_head_json_schema_and_master_unreachable(lab: Lab) -> None:
    page = lab.page("stats")
    head = lab.serve(page, "/stats", "HEAD")
    assert (head.status, header(head, "content-type")) == (200, "text/html")  # the engine sends the head only
    assert head.body.startswith(b"<!DOCTYPE HTML")
    assert lab.serve(page, "/stats;json-schema").status == 501
    lab.master_answers = False  # the worker computes show info itself
    html = lab.serve(page, "/stats").body.decode()
    assert "<b>pid = </b> " in html and "nbproc = 2, nbthread = 1" in html


def test_auth(lab: Lab) -> None:
    page = lab.page("locked")
    for headers in ([], basic("admin", "wrong"), [("Authorization", "Basic !!!")], [("Authorization", "Bearer x")]):
        reply = lab.serve(page, "/haproxy?stats", headers=headers)
        assert reply.status == 401 and header(reply, "www-authenticate") == 'Basic realm="Lab stats"'
        assert reply.body == (b"<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access "
                              b"this content.\n</body></html>\n")  # fmt: skip
    assert lab.serve(page, "/haproxy?stats", headers=basic("viewer", "view")).status == 200
    verdict = page.check(build(lab, "locked", basic("admin", "secret")))
    assert verdict is None
    verdict = page.check(build(lab, "locked", []))
    assert (verdict.kind, verdict.status, verdict.term) == ("auth", 401, "LR")


def build(lab: Lab, proxy: str, headers: list[tuple[str, str]], client: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    from lb.services.statspage import build_txn

    request = ServiceRequest("GET", "/haproxy?stats", "1.1", headers, b"", client, proxy)
    return build_txn(request, lab.config.backends[proxy])


def test_stats_http_request_deny(lab: Lab) -> None:
    page = lab.page("guarded")
    verdict = page.check(build(lab, "guarded", [], client="10.0.0.9"))
    assert (verdict.kind, verdict.status, verdict.term) == ("deny", 403, "PR")
    assert page.check(build(lab, "guarded", [])) is None


def post(lab: Lab, body: str, uri: str = "/stats", client: str = "127.0.0.1", **extra) -> str:  # type: ignore[no-untyped-def]
    page = lab.page("stats")
    request = ServiceRequest("POST", uri, "1.1", [], body.encode(), client, "stats", **extra)
    replies: list = []
    page.respond(request, lab.context(), replies.append)
    (reply,) = replies
    assert (reply.status, reply.reason, reply.body) == (303, "See Other", b"")
    assert reply.headers[:2] == [("cache-control", "no-cache"), ("content-type", "text/plain")]
    return header(reply, "location") or ""


def test_admin_form_changes_servers_through_the_runtime_api(lab: Lab) -> None:
    assert post(lab, "s=a&s=b&action=drain&b=%233") == "/stats;st=DONE"
    assert (lab.shm.srv_admin[A], lab.shm.srv_admin[B]) == (layout.ADMIN_DRAIN, layout.ADMIN_DRAIN)
    assert lab.asked == ["set server be/b state drain", "set server be/a state drain"]  # HAProxy's order: last first
    assert post(lab, "b=be&action=maint&s=b") == "/stats;st=DONE"
    assert "MAINT" in lab.cli("show stat").splitlines()[3]
    assert post(lab, "s=a&s=zz&action=ready&b=%233", uri="/stats;up;norefresh?scope=be") == \
        "/stats;st=PART;up;norefresh?scope=be"  # fmt: skip
    assert lab.shm.srv_admin[A] == layout.ADMIN_READY


@pytest.mark.parametrize("body,code", [
    ("", "NONE"),
    ("s=a&action=drain", "NONE"),  # no backend: no server is applied
    ("s=zz&action=drain&b=%233", "ERRP"),  # HAProxy: unknown servers only is an error
    ("s=a&action=bogus&b=%233", "ERRP"),
    ("s=a&action=drain&b=nosuch", "ERRP"),
    ("s=a&action=drain&b=%2399", "ERRP"),
    ("s=b&action=dhlth&b=be", "NONE"),  # b has no check: the action does not apply
    ("s=a&action=dagent&b=be", "NONE"),  # no agent checks in lb
    ("s=a&action=hdown&b=be", "DONE"),
    ("s=c&action=enable&b=be", "DONE"),
    ("s=a&action=enable&b=be", "NONE"),  # not in maintenance: nothing to enable
    ("s=" + "x" * 2050 + "&action=drain&b=be", "ERRP"),
])  # fmt: skip
def test_admin_result_codes(lab: Lab, body: str, code: str) -> None:
    assert post(lab, body) == f"/stats;st={code}"


def test_admin_refused(lab: Lab) -> None:
    assert post(lab, "s=a&action=drain&b=be", client="10.1.1.1") == "/stats;st=DENY"
    assert post(lab, "s=a&action=drain&b=be", body_complete=False) == "/stats;st=EXCD"
    lab.master_answers = False
    assert post(lab, "s=a&action=drain&b=be") == "/stats;st=UNKN"
    assert lab.shm.srv_admin[A] == layout.ADMIN_READY


@pytest.mark.parametrize("code,text", [("DONE", "Action processed successfully."), ("NONE", "Nothing has changed."),
                                       ("DENY", "<b>Action denied.</b>"), ("UNKN", "Unexpected result.")])
def test_result_banners(lab: Lab, code: str, text: str) -> None:
    html = lab.serve(lab.page("stats"), f"/stats;st={code};up").body.decode()
    assert f'<a class=lfsb href="/stats;up" title="Remove this message">[X]</a> {text}</div>' in html
