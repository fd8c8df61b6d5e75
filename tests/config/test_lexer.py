"""The lexer against HAProxy's parse_line() rules (configuration.txt 2.2, 2.3)."""

from __future__ import annotations

import pytest

from lb.config.lexer import MAX_LINE_ARGS, LexError, Line, caret_message, lex, sanitize_for_printing, split_words
from lb.config.model import Location

ENV = {"HOST": "127.0.0.1", "EMPTY": "", "LIST": " a  b c ", "PORT": "8080"}


@pytest.mark.parametrize(
    "line, words",
    [
        # blanks and comments
        ("bind :80", ["bind", ":80"]),
        ("   \t bind\t\t:80   ", ["bind", ":80"]),
        ("\fbind\v:80", ["bind", ":80"]),  # C isspace(): \f and \v separate words too
        ("# a comment", []),
        ("bind :80 # comment", ["bind", ":80"]),
        ("bind :80#comment", ["bind", ":80"]),  # '#' starts a comment even inside a word
        ("bind :80\rmaxconn 10", ["bind", ":80"]),  # '\r' ends the line
        ("", []),
        # backslash escapes outside quotes
        (r"a\ b", ["a b"]),
        (r"a\\b", ["a\\b"]),
        (r"a\#b", ["a#b"]),
        (r"a\'b", ["a'b"]),
        (r"a\"b", ['a"b']),
        (r"a\tb\nc\rd", ["a\tb\nc\rd"]),
        (r"\x41\x62", ["Ab"]),
        (r"a\$b", ["a\\$b"]),  # \$ is only an escape inside double quotes
        (r"a\qb", ["a\\qb"]),  # not an escape sequence: kept
        ("a\\", ["a\\"]),  # a trailing backslash is kept
        # strong quoting: nothing is interpreted
        ("'a b'", ["a b"]),
        (r"'a\ b'", ["a\\ b"]),
        ("'# not a comment'", ["# not a comment"]),
        ("'${HOST}'", ["${HOST}"]),
        ("'a\"b'", ['a"b']),
        # weak quoting: escapes and variables
        ('"a b"', ["a b"]),
        ('"a # b"', ["a # b"]),
        (r'"a\"b"', ['a"b']),
        (r'"a\$b"', ["a$b"]),
        ('"a\'b"', ["a'b"]),
        # quotes join the parts of one word
        ("\"abc\"'def'ghi", ["abcdefghi"]),
        ('x"y z"w', ["xy zw"]),
        # empty words
        ('a "" b', ["a", "", "b"]),
        ('a ""', ["a"]),  # an empty word at the end of the line does not count
        ("a ''  b", ["a", "", "b"]),
        # environment variables, only inside double quotes
        ('"${HOST}:${PORT}"', ["127.0.0.1:8080"]),
        ('"$HOST"', ["127.0.0.1"]),
        ('"$HOST:$PORT"', ["127.0.0.1:8080"]),
        ("${HOST}", ["${HOST}"]),
        ("$HOST", ["$HOST"]),
        ('"${UNSET}x"', ["x"]),  # unset: expands to nothing
        ('"${UNSET-def ault}"', ["def ault"]),
        ('"${HOST-def}"', ["127.0.0.1"]),
        ('x "${EMPTY-def}" y', ["x", "", "y"]),  # set but empty is not unset
        ('"${UNSET-}"x', ["x"]),
        ('"${LIST}"', [" a  b c "]),
        ('x "${LIST[*]}" y', ["x", "", "a", "b", "c", "", "y"]),  # HAProxy splits on each blank run
        ('"p${LIST[*]}q"', ["p", "a", "b", "c", "q"]),
        ('"${_X-1}"', ["1"]),
    ],
)
def test_split_words(line: str, words: list[str]) -> None:
    assert split_words(line, ENV) == words


def test_pseudo_variables() -> None:
    pseudo = {".LINE": "12", ".FILE": "lb.cfg", ".SECTION": "fe"}
    assert split_words('"${.FILE}:${.LINE} in ${.SECTION}"', {}, pseudo) == ["lb.cfg:12 in fe"]


def test_sixty_four_words_is_the_limit() -> None:
    assert len(split_words(" ".join(["w"] * MAX_LINE_ARGS), {})) == MAX_LINE_ARGS
    with pytest.raises(LexError) as info:
        split_words(" ".join(f"w{n}" for n in range(MAX_LINE_ARGS + 1)), {})
    # position of word 64 in HAProxy's output buffer (words joined by NULs), from 1
    position = sum(len(f"w{n}") + 1 for n in range(MAX_LINE_ARGS - 1)) + 1
    assert str(info.value) == f"too many words, truncating after word 64, position {position}: <w63>."


@pytest.mark.parametrize(
    "line, message",
    [
        (
            'bind "127.0.0.1:80',
            "unmatched quote at position 6:\n  bind \"127.0.0.1:80\n       ^",
        ),
        (
            "   bind '127",  # the position counts the leading blanks, the echo does not
            "unmatched quote at position 9:\n  bind '127\n       ^",
        ),
        (
            r"x \x4",
            "truncated or invalid hexadecimal sequence at position 3:\n  x \\x4\n    ^",
        ),
        (
            r"x \xZZ",
            "truncated or invalid hexadecimal sequence at position 3:\n  x \\xZZ\n    ^",
        ),
        (
            'x "$1"',
            "forbidden first char in environment variable name at position 5:\n  x \"$1\"\n      ^",
        ),
        (
            'x "100$"',
            "forbidden first char in environment variable name at position 8:\n  x \"100$\"\n         ^",
        ),
        (
            'x "${HOST"',
            "unmatched brace in environment variable name at position 5:\n  x \"${HOST\"\n      ^",
        ),
        (
            'x "${HOST-d"',
            "unmatched brace in environment variable name at position 5:\n  x \"${HOST-d\"\n      ^",
        ),
        (
            'x "${LIST[1]}"',
            "truncated or invalid word expansion sequence at position 10:\n  x \"${LIST[1]}\"\n           ^",
        ),
        (
            'x "${.NOPE}"',
            "forbidden first char in environment variable name at position 6:\n  x \"${.NOPE}\"\n       ^",
        ),
    ],
)
def test_split_errors_have_haproxy_text_and_caret(line: str, message: str) -> None:
    with pytest.raises(LexError) as info:
        split_words(line, ENV)
    assert str(info.value) == message


def test_non_printable_characters_are_shown_as_question_marks_and_blanks_as_spaces() -> None:
    # haproxy 2.6 -c echoes `log-tag "a<TAB>b<SOH>c<ESC>` as `log-tag "a b?c?`
    assert sanitize_for_printing("a\tb\x01c\x1b", 2) == ("a b?c?", 2)


def test_caret_positions_count_bytes_as_haproxy() -> None:
    # 'é' is two bytes: HAProxy echoes two '?' and counts both in the position
    assert caret_message("oops", "é'x", 1) == "oops at position 3:\n  ??'x\n    ^"
    assert caret_message("oops", "\udcff'x", 1) == "oops at position 2:\n  ?'x\n   ^"


def test_long_lines_are_cut_around_the_error() -> None:
    # haproxy 2.6 -c, error at position 112 of a 260-byte line:
    #   ...zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz "bwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...
    line = "log-tag " + "z" * 100 + ' "b' + "w" * 150
    shown, column = sanitize_for_printing(line, 109, 80)
    assert shown == "..." + "z" * 36 + ' "b' + "w" * 35 + "..." and column == 40 and shown[column] == '"'


def test_a_long_line_with_an_early_error_is_cut_without_dots() -> None:
    # haproxy 2.6 -c: `log-tag "ayyy...` (160 bytes) is echoed as its first 80 bytes
    line = 'log-tag "a' + "y" * 150
    assert sanitize_for_printing(line, 8, 80) == (line[:80], 8)


def test_caret_message_shape() -> None:
    assert caret_message("oops", "abc", 1, 2) == "oops at position 4:\n  abc\n   ^"


def test_lex_yields_lines_with_locations_and_skips_empty_ones() -> None:
    items = list(lex("global\n\n  # c\n  maxconn 10\n", "f.cfg", {}))
    assert items == [Line(["global"], Location("f.cfg", 1)), Line(["maxconn", "10"], Location("f.cfg", 4))]


def test_lex_skips_a_line_whose_first_word_is_empty() -> None:
    # HAProxy tests `!**args`: `"" x` is an empty line
    assert list(lex('"" x\n', "f.cfg", {})) == []


def test_lex_keeps_going_after_an_error() -> None:
    items = list(lex("a 'b\nc\n", "f.cfg", {}))
    assert isinstance(items[0], LexError) and items[0].loc == Location("f.cfg", 1)
    assert items[1] == Line(["c"], Location("f.cfg", 2))


def test_lex_counts_lines_on_lf_only() -> None:
    # a CR ends the words of a line but does not start a new line
    items = list(lex("a\r\nb\rc\n", "f.cfg", {}))
    assert items == [Line(["a"], Location("f.cfg", 1)), Line(["b"], Location("f.cfg", 2))]


def test_lex_reports_a_missing_lf_after_parsing_the_last_line() -> None:
    items = list(lex("a\nbcd", "f.cfg", {}))
    assert items[1] == Line(["bcd"], Location("f.cfg", 2))
    assert isinstance(items[2], LexError) and items[2].loc == Location("f.cfg", 2)
    assert str(items[2]) == "Missing LF on last line, file might have been truncated at position 4."


def test_lex_stops_at_a_stray_nul() -> None:
    items = list(lex("a\nb\x00c d\ne\n", "f.cfg", {}))
    assert items[:2] == [Line(["a"], Location("f.cfg", 1)), Line(["b"], Location("f.cfg", 2))]
    assert str(items[2]) == "Stray NUL character at position 2." and items[2].loc == Location("f.cfg", 2)
    assert len(items) == 3  # HAProxy stops reading the file there


def test_lex_sets_line_and_file_pseudo_variables() -> None:
    items = list(lex('x\ny "${.FILE}:${.LINE}"\n', "f.cfg", {}))
    assert items[1].words == ["y", "f.cfg:2"]


def test_split_words_uses_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LB_TEST_LEXER_VAR", "v")
    assert split_words('"${LB_TEST_LEXER_VAR}"') == ["v"]
