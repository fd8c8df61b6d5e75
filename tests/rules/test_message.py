"""Request/Response heads: lookups with HAProxy's fetch semantics, edits, serialization."""

from __future__ import annotations

import pytest

from lb.rules.message import Request, Response, origin_form, path_of_target, pick_occurrence, split_target, split_values

HEADERS = [("Host", "ex.com"), ("X-M", "a, b"), ("x-m", "c"), ("Accept", '"x,y", z')]


def request(uri: str = "/p?q=1", headers: list | None = None) -> Request:
    return Request("GET", uri, "1.1", list(HEADERS if headers is None else headers))


@pytest.mark.parametrize("uri,path,query", [
    ("/p?q=1", "/p", "q=1"),
    ("/p?", "/p", ""),
    ("/p", "/p", None),
    ("/a?b?c", "/a", "b?c"),
    ("http://ex.com/a/b?x", "/a/b", "x"),
    ("http://ex.com", "", None),
    ("http://ex.com?x", "", "x"),
    ("*", None, None),
    ("ex.com:443", None, None),
])  # fmt: skip
def test_path_and_query(uri: str, path: str | None, query: str | None) -> None:
    req = request(uri)
    assert (req.path, req.query) == (path, query)


@pytest.mark.parametrize("method,name,expected", [
    ("header", "x-m", "c"),  # req.hdr: last value of the last occurrence
    ("header", "Accept", "z"),
    ("header", "missing", None),
    ("fheader", "X-M", "c"),  # req.fhdr: the whole last line
    ("fheader", "accept", '"x,y", z'),
    ("first", "x-m", "a, b"),
    ("first_value", "X-M", "a"),
    ("get_all", "X-M", ["a, b", "c"]),
    ("values", "x-m", ["a", "b", "c"]),  # what the ACL hdr() criteria try
    ("values", "accept", ['"x,y"', "z"]),
    ("values", "none", []),
])  # fmt: skip
def test_lookups(method: str, name: str, expected: object) -> None:
    assert getattr(request(), method)(name) == expected


@pytest.mark.parametrize("value,parts", [
    ("a", ["a"]), ("a, b ,c", ["a", "b", "c"]), ("a,,b", ["a", "", "b"]), ('"a,b", c', ['"a,b"', "c"]),
    ('"a\\",b", c', ['"a\\",b"', "c"]),
])  # fmt: skip
def test_split_values(value: str, parts: list[str]) -> None:
    assert split_values(value) == parts


@pytest.mark.parametrize("items,occ,expected", [
    (["a", "b", "c"], 1, "a"), (["a", "b", "c"], -1, "c"), (["a", "b", "c"], -2, "b"), (["a", "b", "c"], 0, "c"),
    (["a"], 2, None), (["a"], -2, None), ([], -1, None),
])  # fmt: skip
def test_pick_occurrence(items: list[str], occ: int, expected: str | None) -> None:
    assert pick_occurrence(items, occ) == expected


def test_set_header_removes_every_occurrence_then_appends() -> None:
    req = request()
    req.set_header("X-M", "new")
    assert req.headers == [("Host", "ex.com"), ("Accept", '"x,y", z'), ("X-M", "new")]


def test_add_del_replace() -> None:
    req = request()
    req.add_header("X-M", "d")
    assert req.get_all("x-m") == ["a, b", "c", "d"]
    assert req.del_header("X-m") == 3 and not req.has("x-m")
    req.replace_header("Host", "other")
    req.replace_header("New", "v")
    assert req.headers == [("Host", "other"), ("Accept", '"x,y", z'), ("New", "v")]


@pytest.mark.parametrize("uri,new,expected", [
    ("/a?x=1", "/b", "/b?x=1"),
    ("/a", "/b", "/b"),
    ("http://h/a?q", "/b", "http://h/b?q"),
    ("http://h", "/b", "http://h/b"),
])  # fmt: skip
def test_set_path_keeps_authority_and_query(uri: str, new: str, expected: str) -> None:
    req = request(uri)
    req.set_path(new)
    assert req.uri == expected and req.path == new


@pytest.mark.parametrize("uri,query,expected", [("/a?x=1", "y=2", "/a?y=2"), ("/a", "y", "/a?y"), ("/a?x", "", "/a?")])
def test_set_query(uri: str, query: str, expected: str) -> None:
    req = request(uri)
    req.set_query(query)
    assert req.uri == expected


def test_set_pathq_and_uri_and_method() -> None:
    req = request("http://h/a?x")
    req.set_pathq("/b")
    assert req.uri == "http://h/b" and req.query is None
    req.set_uri("/c?d")
    req.set_method("POST")
    assert (req.method, req.path, req.query) == ("POST", "/c", "d")


@pytest.mark.parametrize("edit", [
    lambda r: r.add_header("X-New", "1"),
    lambda r: r.del_header("x-m"),
    lambda r: r.set_header("Host", "ex.com"),  # same value, moved to the end
    lambda r: r.replace_header("Accept", "z"),
    lambda r: r.set_uri("/other"),
    lambda r: r.set_method("POST"),
    lambda r: r.set_query("q=2"),
])  # fmt: skip
def test_as_received_turns_false_on_any_edit(edit) -> None:
    req = request()
    assert req.as_received()
    edit(req)
    assert not req.as_received()


def test_as_received_survives_lookups_and_a_removal_of_an_absent_header() -> None:
    req = request()
    req.values("x-m"), req.path, req.del_header("absent")
    assert req.as_received()


def test_head_bytes_lowercase_names_keep_order_and_values() -> None:
    req = Request("get", "/x?y", "1.0", [("Host", "Ex.COM"), ("X-Empty", ""), ("User-Agent", "A B")])
    assert req.head_bytes() == b"get /x?y HTTP/1.0\r\nhost: Ex.COM\r\nx-empty: \r\nuser-agent: A B\r\n\r\n"


def test_response_head_and_status() -> None:
    resp = Response(200, "Fine", "1.0", [("Content-Length", "2"), ("Set-Cookie", "a=b")])
    assert resp.head_bytes() == b"HTTP/1.0 200 Fine\r\ncontent-length: 2\r\nset-cookie: a=b\r\n\r\n"
    resp.set_status(302)
    assert resp.head_bytes().startswith(b"HTTP/1.0 302 Moved Temporarily\r\n")  # 2.6's reason for 302
    resp.set_status(299, "Custom")
    assert (resp.status, resp.reason) == (299, "Custom")
    assert Response(404).reason == "Not Found" and Response(499).reason == "client has closed connection"


@pytest.mark.parametrize("target,path", [("/a", "/a"), ("https://h:8/a/b", "/a/b"), ("h:443", None), ("*", None)])
def test_path_of_target(target: str, path: str | None) -> None:
    assert path_of_target(target) == path


@pytest.mark.parametrize("uri,parts", [
    ("/a?b", ("", "/a?b")), ("http://h/a?b", ("http://h", "/a?b")), ("http://h?b", ("http://h", "?b")), ("*", ("", "")),
    ("http://h?x=/y", ("http://h", "?x=/y")),  # a slash in the query does not end the authority
])  # fmt: skip
def test_split_target(uri: str, parts: tuple[str, str]) -> None:
    assert split_target(uri) == parts


ORIGIN_FORMS = [("http://h", "/"), ("http://h?x=1", "/?x=1"), ("http://h?x=/y", "/?x=/y"), ("HTTPS://h:1/p?q", "/p?q"),
                ("/p?q", "/p?q"), ("ftp://x/y", "ftp://x/y"), ("*", "*")]  # fmt: skip


@pytest.mark.parametrize("uri,expected", ORIGIN_FORMS)
def test_origin_form_of_an_http2_target(uri: str, expected: str) -> None:
    assert origin_form(uri) == expected
