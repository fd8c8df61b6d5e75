"""Conditions: AND by juxtaposition, OR, negation, anonymous ACLs, predefined ACLs (cfg §7.2, §7.4)."""

from __future__ import annotations

import pytest

from lb.rules.acl import Acl, AclError, parse_term, predefined
from lb.rules.condition import compile_condition
from lb.rules.fetches import USE_RES
from tests.rules.helpers import txn

T, F = "always_true", "always_false"


def acl(name: str, *lines: str) -> Acl:
    out = Acl(name)
    for line in lines:
        test, fetch, kw, _w = parse_term(line.split())
        out.terms.append((test, fetch.use, kw))
    return out


ACLS = {"t": acl("t", T), "f": acl("f", F), "api": acl("api", "path_beg /api"),
        "ored": acl("ored", "path_beg /nope", "path_end .png")}  # fmt: skip


def run(text: str, polarity: str = "if", t=None) -> bool:
    cond = compile_condition(polarity, text.split(), ACLS.get)
    return cond.match(t or txn("/api/logo.png"))


@pytest.mark.parametrize("text,expected", [
    ("t", True), ("f", False), ("!t", False), ("!f", True), ("!!t", True),
    ("t t", True), ("t f", False), ("f t", False),
    ("t || f", True), ("f or t", True), ("f OR f", False), ("f || f || t", True),
    ("t f || t", True), ("f || t f", False), ("t !f || f", True),  # AND binds tighter than OR
    ("api", True), ("ored", True),  # repeated acl lines are ORed
    ("{ path_beg /api }", True), ("!{ path_beg /api }", False), ("! { path_beg /x }", True),
    ("{ path_beg /x } || { path_end .png }", True), ("{ path_beg /api } !f", True),
    ("TRUE", True), ("FALSE", False), ("METH_GET", True), ("METH_POST", False), ("HTTP_1.1", True),
    ("HTTP_URL_SLASH", True), ("HTTP_URL_ABS", False), ("LOCALHOST", False), ("HTTP", True),
    ("", False),  # no ACL at all: never matches
    ("t ||", True), ("!", False), ("t or or t", True),
])  # fmt: skip
def test_if(text: str, expected: bool) -> None:
    assert run(text) is expected


@pytest.mark.parametrize("text,expected", [("t", False), ("f", True), ("", True), ("t f", True), ("t || f", False)])
def test_unless_inverts(text: str, expected: bool) -> None:
    assert run(text, "unless") is expected


def test_predefined_method_and_version_acls() -> None:
    head = txn("/", method="HEAD", version="1.0", src="127.0.0.1")
    assert predefined("METH_GET").match_any(head)  # METH_GET is GET and HEAD
    assert predefined("METH_HEAD").match_any(head)
    assert predefined("HTTP_1.0").match_any(head)
    assert predefined("LOCALHOST").match_any(head)
    assert predefined("LOCALHOST").match_any(txn(src="::1"))
    assert predefined("HTTP_URL_ABS").match_any(txn("http://h/x"))
    assert predefined("HTTP_URL_STAR").match_any(txn("*", method="OPTIONS"))
    assert predefined("HTTP_CONTENT").match_any(txn(headers=[("Content-Length", "3")]))
    assert not predefined("HTTP_CONTENT").match_any(txn(headers=[("Content-Length", "0")]))
    assert not predefined("REQ_CONTENT").match_any(head) and predefined("NOPE") is None


def test_user_acl_shadows_predefined() -> None:
    cond = compile_condition("if", ["TRUE"], {"TRUE": ACLS["f"]}.get)
    assert cond.match(txn()) is False


@pytest.mark.parametrize("text,error", [
    ("nosuch", "no such ACL : 'nosuch'"),
    ("t }", "no such ACL : '}'"),
    ("{ path /x", "missing closing '}' in condition"),
    ("{ }", "missing fetch method in ACL expression ''"),
    ("{ nosuch_fetch /x }", "unknown fetch method 'nosuch_fetch' in ACL expression 'nosuch_fetch'"),
])  # fmt: skip
def test_errors(text: str, error: str) -> None:
    with pytest.raises(AclError) as exc:
        compile_condition("if", text.split(), ACLS.get)
    assert str(exc.value) == error


def test_direction_warnings_and_terms_that_cannot_match() -> None:
    warnings: list[tuple] = []
    both = acl("both", "path_beg /api", "status 200")
    lookup = {"req": ACLS["api"], "both": both}.get
    compile_condition("if", ["req"], lookup, USE_RES, "backend http-response header rule",
                      lambda *a: warnings.append(a))  # fmt: skip
    compile_condition("if", ["both"], lookup, USE_RES, "backend http-response header rule",
                      lambda *a: warnings.append(a))  # fmt: skip
    compile_condition("if", ["{", "path_beg", "/x", "}"], lookup, USE_RES, "frontend http-response header rule",
                      lambda *a: warnings.append(a))  # fmt: skip
    assert warnings == [
        ("acl 'req' will never match because it only involves keywords that are incompatible with "
         "'backend http-response header rule'",),
        ("anonymous acl will never match because it uses keyword 'path_beg' which is incompatible with "
         "'frontend http-response header rule'",),
    ]  # fmt: skip
    t = txn("/api")
    cond = compile_condition("if", ["req"], lookup, USE_RES)
    assert cond.match(t) is False  # a request-only ACL never matches in a response rule
