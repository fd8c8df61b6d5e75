"""`.if` expressions, block nesting and message directives (src/cfgcond.c, readcfgfile())."""

from __future__ import annotations

import pytest

import lb.config.keywords  # noqa: F401  (the modules declaring features)
from lb.config.cfgcond import Blocks, CondError, evaluate, message_directive, version_tuple
from lb.config.model import LOC_PARSING_TIGHT, Diagnostic, Location

ENV = {"SET": "1", "EMPTY": "", "NAME": "prod"}
LOC = Location("f.cfg", 7)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", False),  # an empty condition is false
        ("1", True),
        ("0", False),
        ("42", True),
        ("-1", True),
        ("0x0", False),
        ("0x1f", True),
        ("010", True),
        ("!0", True),
        ("!!1", True),
        ("! 1", False),
        ("defined(SET)", True),
        ("defined(EMPTY)", True),  # defined even when empty
        ("defined(UNSET)", False),
        ("!defined(UNSET)", True),
        ("streq(prod,prod)", True),
        ("streq(prod, prod)", False),  # arguments are taken verbatim, blanks included
        ("streq('a,b',\"a,b\")", True),  # quotes protect commas
        ("strneq(a,b)", True),
        ("strneq(a,a)", False),
        ("feature(OPENSSL)", True),  # declared by lb.tls
        ("feature(openssl)", False),  # names are case-sensitive, as in HAProxy
        ("feature(LUA)", False),
        ("feature(THREAD)", False),  # lb runs processes
        ("feature(SSL)", False),  # a whole name, not a part of one
        ("version_atleast(2.4)", True),
        ("version_atleast(2.6)", True),
        ("version_atleast(2.6.12)", True),  # lb models HAProxy 2.6.12
        ("version_atleast(2.6.13)", False),
        ("version_atleast(2.6-dev0)", True),
        ("version_atleast(2.7)", False),
        ("version_before(2.7)", True),
        ("version_before(2.6)", False),
        ("1 && 0", False),
        ("1 && 1", True),
        ("0 || 1", True),
        ("0 || 0", False),
        ("1 || 0 && 0", True),  # && binds tighter than ||
        ("(1 || 0) && 0", False),
        ("defined(SET) && !defined(UNSET) && streq(prod,prod)", True),
        ("  1  ", True),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert evaluate(text, ENV) is expected


@pytest.mark.parametrize(
    "text, message, index",
    [
        ("foo(1)", "unparsable conditional expression 'foo(1)'", 0),
        ("1 x", "unexpected character 'x' at the end of conditional expression '1 x'", 2),
        ("(1", "expected ')' after conditional expression '(1'", 0),
        ("1 ||", "unparsable conditional sub-expression ''", 4),
        (
            "defined",
            "missing arguments (got 0/1), type 'string' expected in argument 0 of predicate 'defined' used in "
            "conditional expression",
            7,
        ),
        (
            "streq(a)",
            "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in "
            "conditional expression",
            7,
        ),
        (
            "streq(a,b,c)",
            "expected ')' before ',c)' in argument 2 of predicate 'streq' used in conditional expression",
            9,
        ),
    ],
)
def test_evaluate_errors(text: str, message: str, index: int) -> None:
    with pytest.raises(CondError) as info:
        evaluate(text, ENV)
    assert str(info.value) == message
    assert info.value.index == index


def test_feature_registry() -> None:
    """A module declaring a feature makes `.if feature()` see it; lb has the exporter (PROMEX)."""
    from lb import features

    assert evaluate("feature(PROMEX)", ENV) is True and "+PROMEX" in features.feature_list().split()
    assert evaluate("feature(QUIC)", ENV) is False
    features.provide("QUIC", "tests")
    try:
        assert evaluate("feature(QUIC)", ENV) is True
        assert "+QUIC" in features.feature_list().split()
    finally:
        features.withdraw("QUIC")
    assert "-QUIC" in features.feature_list().split()
    assert "+OPENSSL" in features.feature_list().split() and "-LUA" in features.feature_list().split()


def test_version_tuple() -> None:
    assert version_tuple("2.6.12-1+deb12u4") == (2, 6, 12)
    assert version_tuple("3.1") == (3, 1)
    assert version_tuple("dev") == ()


def _run(blocks: Blocks, lines: list[str]) -> tuple[list[str], list[str]]:
    """Feed lines; return (lines kept, diagnostics)."""
    kept, diags = [], []
    for n, line in enumerate(lines, start=1):
        words = line.split()
        if words[0] in (".if", ".elif", ".else", ".endif"):
            diags += [d.message for d in blocks.handle(words, Location("f.cfg", n))]
        elif blocks.active:
            kept.append(line)
    return kept, diags


@pytest.mark.parametrize(
    "lines, kept",
    [
        ([".if 1", "a", ".else", "b", ".endif", "c"], ["a", "c"]),
        ([".if 0", "a", ".else", "b", ".endif", "c"], ["b", "c"]),
        ([".if 0", "a", ".elif 1", "b", ".elif 1", "c", ".else", "d", ".endif"], ["b"]),
        ([".if 0", "a", ".elif 0", "b", ".else", "d", ".endif"], ["d"]),
        ([".if 1", "a", ".elif 1", "b", ".endif"], ["a"]),
        ([".if 1", ".if 0", "a", ".else", "b", ".endif", "c", ".endif"], ["b", "c"]),
        ([".if 0", ".if 1", "a", ".else", "b", ".endif", "c", ".endif", "d"], ["d"]),  # nested in a dropped block
        ([".if 0", ".if 1", ".elif 1", "a", ".endif", ".endif"], []),
        ([".if defined(SET) && streq(prod,prod)", "a", ".endif"], ["a"]),
    ],
)
def test_blocks_select_lines(lines: list[str], kept: list[str]) -> None:
    got, diags = _run(Blocks(ENV), lines)
    assert (got, diags) == (kept, [])


def test_block_errors() -> None:
    blocks = Blocks(ENV)
    _, diags = _run(blocks, [".else", ".elif 1", ".endif", ".if 1", ".else", ".else", ".elif 1", ".endif x", ".endif"])
    assert diags == [
        "lone '.else' with no matching '.if'.",
        "lone '.elif' with no matching '.if'.",
        "lone '.endif' with no matching '.if'.",
        "'.else' after '.else' is not permitted.",
        "'.elif' after '.else' is not permitted.",
        "Unexpected argument 'x' for '.endif'.",
    ]
    assert blocks.finish(LOC) == []


def test_bad_condition_is_reported_with_a_caret_and_drops_the_block() -> None:
    blocks = Blocks(ENV)
    [diag] = blocks.handle([".if", "defined(SET)", "&&", "nope"], LOC)
    assert diag == Diagnostic(
        "ALERT",
        "unparsable conditional expression 'nope' in '.if' at position 17:\n"
        "  .if defined(SET) && nope\n"
        "                      ^",
        LOC,
        LOC_PARSING_TIGHT,
    )
    assert not blocks.active


def test_elif_errors_say_elif() -> None:
    blocks = Blocks(ENV)
    blocks.handle([".if", "0"], LOC)
    [diag] = blocks.handle([".elif", "1", "x"], LOC)
    assert diag.message == (
        "unexpected character 'x' at the end of conditional expression '1 x' in '.elif' at position 3:\n"
        "  .elif 1 x\n"
        "          ^"
    )


def test_unterminated_if_is_reported_at_the_last_line() -> None:
    blocks = Blocks(ENV)
    blocks.handle([".if", "1"], Location("f.cfg", 3))
    end = Location("f.cfg", 9)
    assert [(d.message, d.loc) for d in blocks.finish(end)] == [("non-terminated '.if' block.", end)]
    blocks.handle([".endif"], Location("f.cfg", 4))
    assert blocks.finish(end) == []


def test_nesting_is_limited() -> None:
    blocks = Blocks(ENV)
    diags = [d for _ in range(10) for d in blocks.handle([".if", "1"], LOC)]
    assert [d.message for d in diags] == ["too many nested '.if', max is 10."]


@pytest.mark.parametrize(
    "words, severity, message",
    [
        ([".notice", "hello"], "NOTICE", "'hello'."),
        ([".warning", "a b"], "WARNING", "'a b'."),
        ([".diag", "d"], "DIAG", "'d'."),
        ([".alert", "stop"], "ALERT", "'stop'."),
        ([".warning", "a", "b"], "ALERT",
         "Unexpected argument 'b' for '.warning'. Use quotes if the message should contain spaces."),
        ([".include", "x"], "ALERT", "unknown directive '.include'."),
    ],
)  # fmt: skip
def test_message_directives(words: list[str], severity: str, message: str) -> None:
    assert message_directive(words, LOC) == Diagnostic(severity, message, LOC, LOC_PARSING_TIGHT)
