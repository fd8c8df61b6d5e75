"""Rule values: the log-format subset compiled by lb.rules.fmt."""

from __future__ import annotations

import pytest

from lb.rules.fetches import USE_RES
from lb.rules.fmt import Format, FormatError
from lb.rules.message import Response
from tests.rules.helpers import txn


def sample():
    t = txn("/P/a?k=v1&z=&k=v2", [("Host", "ex.com"), ("X-M", "a, b"), ("X-M", "c,d"), ("Cookie", "a=1; b=2; a=3")],
            src="127.0.0.1", src_port=4242, dst_port=8443, ssl=True)  # fmt: skip
    t.set_var("txn.num", 42)
    t.response = Response(404, None, "1.1", [("X-R", "r1, r2")])
    return t


@pytest.mark.parametrize("text,expected", [
    ("plain", "plain"), ("100%%", "100%"), ("", ""),
    ("%ci:%cp %fi:%fp", "127.0.0.1:4242 127.0.0.1:8443"), ("[%ID]", "[]"),
    ("%[src]", "127.0.0.1"), ("%[src_port]", "4242"), ("%[dst_port]", "8443"), ("%[ssl_fc]", "1"),
    ("%[req.hdr(host)]", "ex.com"), ("%[req.hdr(nosuch)]", ""), ("a%[req.hdr(nosuch)]b", "ab"),
    ("%[hdr(x-m)]|%[req.fhdr(x-m)]|%[req.hdr(x-m,1)]|%[req.hdr(x-m,-2)]", "d|c,d|a|c"),
    ("%[req.hdr_cnt(x-m)]|%[req.fhdr_cnt(x-m)]", "4|2"),
    ("%[req.cook(a)]|%[cook(b)]|%[req.cook_cnt(a)]|%[req.cook]", "3|2|2|1"),
    ("%[url]|%[path]|%[query]", "/P/a?k=v1&z=&k=v2|/P/a|k=v1&z=&k=v2"),
    ("%[url_param(k)]|%[urlp(z)]|%[method]|%[req.ver]", "v1||GET|1.1"),
    ("%[var(txn.num)] %[var(txn.none)]", "42 "), ("%[str(hello)]|%[int(-5)]", "hello|-5"),
    ("%[path,lower]|%[path,upper]|%[path,length]", "/p/a|/P/A|4"),
    ("%{+Q}[path]", "/P/a"), ("%[fe_name]", ""), ("%[pathq]", "/P/a?k=v1&z=&k=v2"),
    ("%[base]", "ex.com/P/a"),
])  # fmt: skip
def test_render(text: str, expected: str) -> None:
    assert Format(text)(sample()) == expected


def test_response_direction_makes_hdr_read_the_response() -> None:
    assert Format("%[hdr(x-r)] %[status]", USE_RES)(sample()) == "r2 404"
    assert Format("%[res.hdr(x-r,1)]")(sample()) == "r1"


def test_constants_are_detected() -> None:
    assert Format("a %% b").constant == "a % b"
    assert Format("%[src]").constant is None


@pytest.mark.parametrize("text,error", [
    ("%zz", "no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to use '%%'"),
    ("%[nosuch]", "failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'"),
    ("%[path", "missing ']' after 'path'"),
    ("%[path,nosuch]", "failed to parse sample expression <path,nosuch]> : unknown converter 'nosuch'"),
    ("%Ta", "format variable 'Ta' is only available in log lines, not in lb rule values"),
])  # fmt: skip
def test_errors(text: str, error: str) -> None:
    with pytest.raises(FormatError) as exc:
        Format(text)
    assert str(exc.value) == error
