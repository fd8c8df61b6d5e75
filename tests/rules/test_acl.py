"""ACL criteria, flags, matching methods and operators, one table row each (cfg §7.1, §7.3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lb.rules.acl import AclError, parse_term
from lb.rules.addr import parse_ip
from lb.rules.message import Response
from tests.rules.helpers import txn

HEADERS = [
    ("Host", "WWW.Example.com:8080"), ("X-M", "a, b"), ("X-M", "c"), ("X-Num", "42"), ("X-Ip", "10.1.2.3:80"),
    ("Cookie", "a=1; SRV=s1; a=2"), ("Content-Length", "5"), ("User-Agent", "Mozilla/5.0 (X11, Linux)"),
]  # fmt: skip


def sample_txn():
    t = txn("/api/v1/img/logo.png?x=1&y=2&x=3&e=&flag", HEADERS, src="10.1.2.3", src_port=5555, dst_port=443,
            ssl=True)  # fmt: skip
    t.facts.sni = "www.example.com"
    t.set_var("txn.user", "bob")
    t.set_var("sess.n", 7)
    t.response = Response(404, None, "1.1", [("Set-Cookie", "S=v; path=/"), ("X-R", "1, 2")])
    return t


def check(words: str) -> bool:
    test, _fetch, _kw, _warn = parse_term(words.split())
    return test(sample_txn())


@pytest.mark.parametrize("words,expected", [
    # path and derivatives
    ("path /api/v1/img/logo.png", True), ("path /api", False),
    ("path_beg /api/ /static/", True), ("path_beg /static/ /assets/", False),
    ("path_end .png .jpg", True), ("path_end .gif", False),
    ("path_sub /v1/", True), ("path_sub /v2/", False),
    ("path_reg ^/api/v[0-9]+/", True), ("path_reg ^/v1", False),
    ("path_dir img", True), ("path_dir v1/img", True), ("path_dir im", False), ("path_dir /api", True),
    ("path_dom png", True), ("path_dom logo", True), ("path_dom og", False),
    ("path_len 20", True), ("path_len 1:19", False),
    # url
    ("url /api/v1/img/logo.png?x=1&y=2&x=3&e=&flag", True), ("url_beg /api/v1", True), ("url_end flag", True),
    ("url_sub y=2", True), ("url_reg [?&]y=2", True), ("url_reg ^/static", False),
    # query and url_param
    ("query -m found", True), ("query x=1&y=2&x=3&e=&flag", True), ("query -m sub y=2", True),
    ("url_param(x) 3", True), ("url_param(x) 1", True), ("urlp(y) 2", True), ("urlp(e) -m found", True),
    ("urlp(flag) -m found", False), ("urlp(z) -m found", False), ("urlp_beg(y) 2", True), ("urlp_reg(x) ^3$", True),
    ("urlp_len(x) 1", True),
    # headers: comma-split values, every occurrence tried; the name is case-insensitive
    ("hdr(host) WWW.Example.com:8080", True), ("hdr(host) www.example.com:8080", False),
    ("hdr(host) -i www.example.com:8080", True), ("hdr(x-m) b", True), ("hdr(x-m) a,", False),
    ("hdr(X-M,1) a", True), ("hdr(x-m,1) b", False), ("hdr(x-m,-1) c", True), ("hdr(x-m,2) b", True),
    ("hdr_beg(host) -i www.", True), ("hdr_end(host) :8080", True), ("hdr_sub(user-agent) Linux", True),
    ("hdr_reg(user-agent) ^Mozilla/[45]", True), ("hdr_dom(host) -i example.com", True),
    ("hdr_dom(host) -i example", True), ("hdr_dom(host) example.com", False), ("hdr_dom(host) -i ample.com", False),
    ("hdr_dir(user-agent) Mozilla", True), ("hdr_dir(user-agent) 5.0", False),
    ("hdr_len(x-num) 2", True), ("hdr_len(x-m) 1", True),
    ("hdr_cnt(x-m) eq 3", True), ("hdr_cnt(x-m) gt 3", False), ("req.hdr_cnt(x-m) 3", True),
    ("req.hdr_cnt(missing) 0", True), ("req.fhdr_cnt(x-m) 2", True), ("req.fhdr(x-m) a, b", False),
    ("req.fhdr(user-agent) -m sub 5.0 (X11, Linux)", True), ("req.hdr(x-m) c", True),
    ("hdr_val(x-num) gt 41", True), ("req.hdr_val(x-num) lt 42", False), ("hdr_ip(x-ip) 10.0.0.0/8", True),
    ("hdr(missing) -m found", False), ("hdr(host) -m found", True), ("hdr(x-m) -m len 1", True),
    # method, version
    ("method GET HEAD", True), ("method POST", False), ("method -i get", False), ("method -m str -i get", True),
    ("req.ver 1.1", True), ("req_ver 1.0", False),
    # connection
    ("src 10.0.0.0/8", True), ("src 10.1.2.3", True), ("src 192.168.0.0/16", False), ("src 10.1.0.3", False),
    ("src 10.1.2.0/255.255.255.0", True), ("src 10.1/8", True), ("src ::ffff:10.1.2.3", True),
    ("src 10/8", False),  # inet_aton(): 10/8 is 0.0.0.10/8, as HAProxy 2.6 reads it
    ("src ::ffff:0:0/96", True), ("src -m str 10.1.2.3", True), ("src -m beg 10.1.", True),
    ("src_port 5555", True), ("src_port 1024:65535", True), ("src_port :1023", False), ("src_port 5000:", True),
    ("dst_port 443", True), ("dst_port eq 80 443", True), ("dst_port ge 444", False), ("dst_port lt 444", True),
    ("dst_port le 443", True), ("dst_port gt 442", True), ("dst 127.0.0.1", True),
    ("ssl_fc", True), ("ssl_fc -m int 1", True), ("ssl_fc_sni -i WWW.EXAMPLE.COM", True),
    # cookies
    ("req.cook(SRV) s1", True), ("req.cook(srv) s1", False), ("cook(a) 1", True), ("cook(a) 2", True),
    ("req.cook(b) -m found", False), ("req.cook_cnt(a) eq 2", True), ("cook_cnt gt 2", True),
    ("req.cook_beg(SRV) s", True), ("cook_sub(a) 2", True), ("req.cook_val(a) 2", True),
    # variables
    ("var(txn.user) bob", True), ("var(txn.user) -m beg b", True), ("var(txn.nobody) -m found", False),
    ("var(sess.n) -m int 7", True), ("var(txn.nobody,bob) bob", True),
    # converters
    ("hdr(host),lower -m beg www.example", True), ("path,upper -m end .PNG", True), ("path,length 20", True),
    # constants and internals
    ("always_true", True), ("always_false", False), ("int(3) 3", True), ("str(ab) -m beg a", True),
    ("req.proto_http", True), ("wait_end", True),
    # response fetches (the sample Txn has a response too)
    ("status 404", True), ("status 200:299", False), ("res.hdr(x-r) 2", True), ("res.cook(S) v", True),
    ("res.hdr_cnt(x-r) 2", True), ("res.ver 1.1", True),
])  # fmt: skip
def test_criteria(words: str, expected: bool) -> None:
    assert check(words) is expected


@pytest.mark.parametrize("words,expected", [
    ("path -i /API/V1/IMG/LOGO.PNG", True),
    ("path /API/V1/IMG/LOGO.PNG -i /api/v1/img/logo.png", True),  # -i only applies after it: is a pattern here
    ("path_beg /API -i", False),
    ("path -- -i", False),
    ("path -m beg /api", True), ("path_end -m beg /api", True),  # -m replaces the implied method
    ("path -m found", True), ("query -m len 19", True), ("path -m reg -i ^/API", True),
    ("hdr(x-num) -m int 42", True), ("hdr(x-num) -m int gt 40", True), ("hdr(x-m) -m int 1", False),
    ("dst_port -m bool", True), ("int(0) -m bool", False), ("ssl_fc -m found", True),
    ("path -m dir img", True), ("path -m dom v1", True), ("path -m bin 2f617069", False),
    ("path -n -u 3 /api/v1/img/logo.png", True),
])  # fmt: skip
def test_flags(words: str, expected: bool) -> None:
    assert check(words) is expected


def test_patterns_from_files_and_case_per_file(tmp_path: Path) -> None:
    exact = tmp_path / "exact.lst"
    exact.write_text("# comment\n\n   /API/V1/IMG/LOGO.PNG\n/other\n")
    generic = tmp_path / "generic.lst"
    generic.write_text("/API/V1/IMG/LOGO.PNG\n")
    assert not check(f"path -f {exact}")
    assert check(f"path -i -f {exact}")
    assert check(f"path -f {exact} -i -f {generic}")
    nets = tmp_path / "nets.lst"
    nets.write_text("192.168.0.0/16\n10.0.0.0/8 trailing words are ignored\n")
    assert check(f"src -f {nets}")


@pytest.mark.parametrize("words,error", [
    ("foo_bar /x", "unknown fetch method 'foo_bar' in ACL expression 'foo_bar'"),
    ("path_reg (", "regex '(' is invalid (error=missing closing parenthesis, erroffset=1)"),
    ("path_reg [a", "regex '[a' is invalid (error=missing terminating ] for character class, erroffset=2)"),
    ("path_reg *", "regex '*' is invalid (error=quantifier does not follow a repeatable item, erroffset=0)"),
    ("path_reg a)", "regex 'a)' is invalid (error=unmatched closing parenthesis, erroffset=1)"),
    ("path_reg a{2,1}", "regex 'a{2,1}' is invalid (error=numbers out of order in {} quantifier, erroffset=5)"),
    ("path_reg [z-a]", "regex '[z-a]' is invalid (error=range out of order in character class, erroffset=3)"),
    ("src 1.2.3.400", "'1.2.3.400' is not a valid IPv4 or IPv6 address"),
    ("dst_port abc", "'abc' is not a number"),
    ("src_port 1:2:3", "'1:2:3' is not a valid number range"),
    ("path -m nosuch /x", "unknown matching method 'nosuch' when parsing ACL expression"),
    ("path -m", "unknown matching method '' when parsing ACL expression"),
    ("dst_port -x 80", "'-x' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'"),
    ("path -f /nonexistent/file.lst", "failed to open pattern file </nonexistent/file.lst>"),
    ("hdr(host,abc) /x", "ACL keyword 'hdr' : failed to parse 'abc' as type 'integer' at position 2"),
    ("", "missing fetch method in ACL expression ''"),
    ("path,nosuch /x", "unknown converter 'nosuch' in ACL expression 'path,nosuch'"),
])  # fmt: skip
def test_errors(words: str, error: str) -> None:
    with pytest.raises(AclError) as exc:
        parse_term(words.split())
    assert str(exc.value) == error


def test_var_name_error_names_scopes() -> None:
    with pytest.raises(AclError, match=r"invalid args in fetch method 'var' : invalid variable name 'foo'\. "
                       r"A variable name must be start by its scope"):  # fmt: skip
        parse_term(["var(foo)", "-m", "found"])


@pytest.mark.parametrize("words,warn", [
    ("path_beg", True), ("dst_port", True), ("ssl_fc", False), ("path -m found", False), ("path --", False),
    ("path -i", False),
])  # fmt: skip
def test_no_pattern_warning(words: str, warn: bool) -> None:
    test, _f, _k, warned = parse_term(words.split())
    assert warned is warn
    if words.startswith(("path_beg", "dst_port")):
        assert test(sample_txn()) is False  # no pattern: never matches


def test_absent_samples_never_match() -> None:
    t = txn("*", [], method="OPTIONS")
    for words in ("path -m found", "query -m found", "path_beg /", "url_param(x) -m found", "status 200"):
        test, *_ = parse_term(words.split())
        assert test(t) is False, words
    test, *_ = parse_term("url *".split())
    assert test(t)


def test_ipv6_client_against_v4_and_v6_patterns() -> None:
    t = txn(src="::ffff:192.168.1.9")
    for words, expected in (("src 192.168.0.0/16", True), ("src ::ffff:192.168.1.9", True), ("src ::1", False)):
        test, *_ = parse_term(words.split())
        assert test(t) is expected, words
    t6 = txn(src="2001:db8::5")
    test, *_ = parse_term("src 2001:db8::/32 10.0.0.0/8".split())
    assert test(t6) and parse_ip("2001:db8::5").v4 is None
