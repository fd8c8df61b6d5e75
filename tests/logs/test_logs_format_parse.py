"""Parsing log-format strings: nodes, flags and HAProxy's error messages (data-driven)."""

from __future__ import annotations

import pytest

from lb.logs.aliases import OPT_ESC, OPT_HEXA, OPT_MANDATORY, OPT_QUOTE
from lb.logs.logformat import FormatError, compile_format, parse_format

# format -> HAProxy 2.6's text after "failed to parse log-format : " (recorded with haproxy -c)
ERRORS = [
    ("%ci %{+Q}", "parse argument modifier without variable name near '%{+Q}'"),
    ("%ci %[src", "missing ']' after 'src'"),
    ("%ci %5 x", "unexpected variable name near '5' at position 5 line : '%ci %5 x'. Maybe you want to write "
                 "a single '%', use the syntax '%%'"),
    ("%ci %", "truncated line after '%'"),
    ("%ci %zz", "no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to "
                "use '%%'"),
    ("%ci %[bogus] x", "failed to parse sample expression <bogus] x> : unknown fetch method 'bogus'"),
    ("%ci %[src x", "expected ']' after 'src', but found ' '"),
    ("%{+Q", "truncated line after '+Q'"),
    ("% x", "unexpected variable name near ' ' at position 1 line : '% x'. Maybe you want to write a single '%', "
            "use the syntax '%%'"),
]


@pytest.mark.parametrize(("fmt", "message"), ERRORS)
def test_haproxy_error_messages(fmt: str, message: str) -> None:
    with pytest.raises(FormatError) as error:
        parse_format(fmt)
    assert str(error.value) == message


def kinds(fmt: str) -> list[str]:
    out = []
    for node in parse_format(fmt):
        if node.kind == "alias":
            out.append(f"%{node.alias.name}:{node.opts}")  # type: ignore[union-attr]
        elif node.kind == "sample":
            out.append(f"[{node.sample.text}]:{node.opts}")  # type: ignore[union-attr]
        else:
            out.append(node.text if node.kind == "text" else "_")
    return out


M, Q, X, E = OPT_MANDATORY, OPT_QUOTE, OPT_HEXA, OPT_ESC
NODES = [
    ("%ci:%cp", [f"%ci:{M}", ":", f"%cp:{M}"]),
    ("a  b", ["a", "_", "_", "b"]),
    ("%{+Q}r %{-M}ID", [f"%r:{M | Q}", "_", "%ID:0"]),
    ("%{+Q}o %ci %{-Q}b %s", ["_", f"%ci:{M | Q}", "_", f"%b:{M}", "_", f"%s:{M | Q}"]),
    ("%{+X,+E,+bogus}ci", [f"%ci:{M | X | E}"]),
    ("%{+Q}[src] %[req.hdr(host),lower]", [f"[src]:{M | Q}", "_", f"[req.hdr(host),lower]:{M}"]),
    ("100%% %{+Q}HPO", ["100%", "_", f"%HPO:{M | Q}"]),
]


@pytest.mark.parametrize(("fmt", "expected"), NODES)
def test_nodes_and_flags(fmt: str, expected: list[str]) -> None:
    assert kinds(fmt) == expected


@pytest.mark.parametrize(("fmt", "mode", "http_only", "notes"), [
    ("%ci %HM %r %ST %[req.hdr(x)]", "tcp",
     [("format alias", "HM"), ("format alias", "r"), ("sample fetch", "req.hdr")], []),
    ("%ci %[ssl_fc_sni]", "http", [], ["sample fetch 'ssl_fc_sni' is not supported by lb; it is logged as '-'"]),
    ("%[src,hex]", "tcp", [], []),  # converters are lb.rules' (HAProxy's list)
    ("%[src,json_query(x)]", "tcp", [],
     ["unknown converter 'json_query' in '%[src,json_query(x)]': HAProxy has it, lb does not; it is logged as '-'"]),
])
def test_warnings_collected_at_compile(fmt: str, mode: str, http_only: list, notes: list) -> None:
    compiled = compile_format(fmt, mode)
    assert compiled.http_only == http_only
    assert compiled.notes == notes
