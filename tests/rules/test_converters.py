"""Converters with HAProxy 2.6's semantics: doc/configuration.txt 7.3.1's examples, src/sample.c's edge cases."""

from __future__ import annotations

import pytest

from lb.rules.fetches import FetchError
from lb.rules.fmt import Format, FormatError
from lb.rules.sample import compile_sample, value_converters
from tests.rules.helpers import txn

MAX = 2**63 - 1


def value(expr: str, **variables):
    t = txn("/a/b?q=1", [("Host", "Example.com:8080"), ("X-Path", "/////a///b/c/xzxyz/"), ("X-Ip", "192.168.1.101")])
    for name, val in variables.items():
        t.set_var(name.replace("_", ".", 1), val)
    return compile_sample(expr).one(t)


@pytest.mark.parametrize("expr, expected", [
    # doc examples (the wt6/djb2/sdbm/crc32c values were computed with src/hash.c compiled from 2.6.12)
    ("str(f1_f2_f3__f5),field(5,_)", "f5"), ("str(f1_f2_f3__f5),field(2,_,0)", "f2_f3__f5"),
    ("str(f1_f2_f3__f5),field(2,_,2)", "f2_f3"), ("str(f1_f2_f3__f5),field(-2,_,3)", "f2_f3_"),
    ("str(f1_f2_f3__f5),field(-3,_,0)", "f1_f2_f3"), ("str(f1_f2_f3__f5),field(9,_)", None),
    ("str(f1_f2_f3__f5),word(4,_)", "f5"), ("str(f1_f2_f3__f5),word(2,_,0)", "f2_f3__f5"),
    ("str(f1_f2_f3__f5),word(3,_,2)", "f3__f5"), ("str(f1_f2_f3__f5),word(-2,_,3)", "f1_f2_f3"),
    ("str(f1_f2_f3__f5),word(-3,_,0)", "f1_f2"), ("str(/f1/f2/f3/f4),word(1,/)", "f1"),
    ("hdr(x-path),regsub('/+','/','g')", "/a/b/c/xzxyz/"), ("hdr(x-path),regsub('/+','/')", "/a///b/c/xzxyz/"),
    ("str(foo42),regsub('(foo|bar)([0-9]+)?','\\2\\1',i)", "42foo"), ("str(ABC),regsub(b,x,i)", "AxC"),
    ("str(0102030405060708),bytes(1)", b"102030405060708"), ("str(hello),bytes(1,3)", b"ell"),
    ("str(hello),bytes(9)", b""),
    # encodings
    ("str(abc),hex", "616263"), ("str(abc),base64", "YWJj"), ("str(YWJj),b64dec", b"abc"),
    ("str(YWJ),b64dec", None), ("str(?>),ub64enc", "Pz4"), ("str(Pz4),ub64dec", b"?>"),
    ("str(ff),hex2i", 255), ("str(xyz),hex2i", None), ("int(255),htonl,hex", "000000FF"),
    ("str(abc),sha1,hex", "A9993E364706816ABA3E25717850C26C9CD0D89D"),
    ("str(abc),sha2,hex", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
    ("str(abc),digest(md5),hex", "900150983CD24FB0D6963F7D28E17F72"),
    ("str(a%20b+c?d+e%2B),url_dec", "a b+c?d e+"), ("str(a%zz),url_dec", None),
    ("str(a%20b),url_dec(1)", "a b"), ("str('a b&c=~'),url_enc", "a%20b%26c%3D~"),
    ("str('say \"hi\"/\t'),json", 'say \\"hi\\"\\/\\t'), ("str(\x01),json", "\\u0001"),
    # hashes (HAProxy's src/hash.c; crc32 is zlib's, the avalanche Bob Jenkins')
    ("str(abc),crc32", 891568578), ("str(abc),crc32c", 910901175), ("str(abc),djb2", 193485963),
    ("str(abc),sdbm", 807794786), ("str(abc),wt6", 2483038440), ("str(abc),crc32(1)", 930845320),
    ("str('hello world, a longer string'),wt6", 2920998405), ("str('hello world, a longer string'),djb2", 4145237004),
    ("str('hello world, a longer string'),crc32c", 1846318966),
    # arithmetic: saturated, C division, variables
    ("int(5),add(3)", 8), ("int(5),sub(7)", -2), ("int(6),mul(-7)", -42), ("int(7),div(2)", 3),
    ("int(-7),div(2)", -3), ("int(-7),mod(2)", -1), ("int(7),div(0)", MAX), ("int(7),mod(0)", 0),
    (f"int({MAX}),add(1)", MAX), (f"int(-{MAX}),sub(10)", -MAX - 1), (f"int({MAX}),mul(2)", MAX),
    ("int(5),neg", -5), ("int(12),and(10)", 8), ("int(12),or(3)", 15), ("int(12),xor(10)", 6), ("int(0),cpl", -1),
    ("int(3),odd", True), ("int(3),even", False), ("int(0),bool", False), ("int(0),not", True),
    ("str(12abc),add(1)", 13), ("str(),add(1)", None), ("str(),concat(a,,b)", "ab"),
    # strings
    ("str(  x  ),ltrim(' '),rtrim(' ')", "x"), ("str('a\r\nb'),cut_crlf", "a"), ("str(1),iif(yes,no)", "yes"),
    ("int(0),iif(yes,no)", "no"), ("hdr(host),host_only", "example.com"), ("hdr(host),port_only", 8080),
    ("str([::1]),port_only", 0), ("str(Hello),length", 5), ("str(Hello),upper,lower", "hello"),
    ("hdr(x-ip),ipmask(24)", "192.168.1.0"), ("str(2001:db8::bad:c0f:ffff),ipmask(24,120)", "2001:db8::bad:c0f:ff00"),
    ("str(2001:db8::1),ipmask(24)", None), ("int(1700000000),http_date", "Tue, 14 Nov 2023 22:13:20 GMT"),
    ("int(1700000000123),http_date(0,ms)", "Tue, 14 Nov 2023 22:13:20.123 GMT"),
    ("int(0),utime(%Y-%m-%d)", "1970-01-01"), ("str(0102),be2hex(:,1)", "30:31:30:32"),
    ("str(0102),be2dec(-,2)", "12337-12338"), ("str(012),be2dec(-,2,1)", "12337"), ("str(x),debug", "x"),
])  # fmt: skip
def test_converter_values(expr: str, expected) -> None:
    got = value(expr)
    assert (str(got) if expected is not None and type(expected) is str and got is not None else got) == expected


def test_variables_as_arguments() -> None:
    assert value("int(5),add(txn.n)", txn_n=10) == 15
    assert value("int(5),add(txn.n)") is None  # a missing variable: no sample
    assert value("str(f1),concat(_,sess.f,_end)", sess_f="f2") == "f1_f2_end"
    assert value("str(f1),concat(_,sess.none,)") == "f1_"
    assert value("str(f1),add_item(',',txn.v)", txn_v="b") == "f1,b"
    assert value("str(),add_item(',',txn.v)", txn_v="b") == "b"  # no delimiter after an empty input
    assert value("str(abc),strcmp(txn.v)", txn_v="abd") == -1
    assert value("str(abc),secure_memcmp(txn.v)", txn_v="abc") is True
    assert value("str(abc),hmac(sha256,txn.key),hex", txn_key="a2V5").startswith("9C196E32DC0175F8")


@pytest.mark.parametrize("expr, message", [
    ("str(a),nosuch", "unknown converter 'nosuch'"),
    ("str(a),hex(1)", "converter 'hex' does not support any args"),
    ("src,base64", "converter 'base64' cannot be applied"),  # no address -> binary cast in HAProxy? see below
    ("int(1),add(x)", "invalid args in converter 'add' : expects an integer or a variable name"),
    ("str(a),field(0,_)", "invalid args in converter 'field' : Unexpected value 0 for index"),
    ("str(a),field(1,)", "invalid args in converter 'field' : Empty separators list"),
    ("int(),add(1)", "expected type 'integer' at position 1, but got nothing"),
    ("str(a),regsub(a,b,x)", "invalid args in converter 'regsub' : invalid regex flag 'x', only 'i' and 'g' are "
                             "supported"),
    ("str(a),sha2(7)", "invalid args in converter 'sha2' : Unsupported number of bits: '7'."),
    ("str(a),concat(a,nosuchscope.v)", "invalid args in converter 'concat' : failed to register variable name "
                                       "'nosuchscope.v'"),
    ("str(a),json(latin9)", "invalid args in converter 'json' : Unexpected input code type."),
])  # fmt: skip
def test_converter_errors(expr: str, message: str) -> None:
    if expr == "src,base64":
        assert value(expr) is not None  # an address casts to binary (c_addr2bin): allowed
        return
    with pytest.raises(FetchError) as raised:
        compile_sample(expr)
    assert str(raised.value).startswith(message)


def test_quoted_arguments_and_brackets_in_formats() -> None:
    t = txn("/", [("X-Path", "a//b")])
    assert Format("%[str(a]b)]|%[hdr(x-path),regsub(\"/+\",-,g)]|%[str('a,b'),length]")(t) == "a]b|a-b|3"
    with pytest.raises(FormatError, match="expected ']' after 'str\\(a\\)', but found 'x'"):
        Format("%[str(a)x]")


def test_value_converters_for_log_samples() -> None:
    convert = value_converters(["upper", "regsub(X,y)", "concat(-,txn.nope,!)"])
    assert convert("axb") == "AyB-!"
    assert convert(None) is None


def test_log_format_samples_use_the_same_converters_and_constants() -> None:
    from lb.logs.logformat import compile_format
    from lb.logs.record import LogRecord

    compiled = compile_format("%[str(hello),upper] %[int(41),add(1)] %[bool(1)] %[int(3),odd] %[str(abc),hex] "
                              "%[str(a),concat(-,txn.x,)] %[str(abc),json_query(x)]", "http")  # fmt: skip
    assert compiled.notes == ["unknown converter 'json_query' in '%[str(abc),json_query(x)]': HAProxy has it, lb does "
                              "not; it is logged as '-'"]  # fmt: skip
    assert compiled.render(LogRecord(), None) == "HELLO 42 1 1 616263 a- -"
