"""The runtime API's line protocol without sockets (master; unit).

HAProxy's CLI framing (src/cli.c cli_io_handler): commands end at a newline
or an unescaped `;`, each answer is followed by the prompt ("\\n", or
"\\n> " interactive), one-shot connections close once what was sent is
answered, overlong lines close unanswered, NUL ends a line.
"""

from __future__ import annotations

import pytest

from lb.runtime_api.commands import Pending
from lb.runtime_api.session import Session, next_command, split_args


def echo_session(level: int = 3, max_line: int = 100) -> tuple[Session, list[list[str]]]:
    seen: list[list[str]] = []

    def dispatch(session: Session, args: list[str]) -> str | None:
        seen.append(args)
        if args[:1] == ["prompt"]:
            session.toggle_prompt()
            return None
        if args[:1] == ["quit"]:
            session.quit()
            return None
        return "|".join(args) + "\n"

    return Session(level, dispatch, max_line=max_line), seen


@pytest.mark.parametrize("line, words", [
    ("show stat", ["show", "stat"]),
    ("  show \t  stat  ", ["show", "stat"]),
    (r"get weight be/a\ b", ["get", "weight", "be/a b"]),
    (r"x \\y", ["x", "\\y"]),
    ("", []),
])  # fmt: skip
def test_split_args(line: str, words: list[str]) -> None:
    assert split_args(line) == words


def test_split_args_keeps_at_most_64_words() -> None:
    assert len(split_args(" ".join(["w"] * 80))) == 64


@pytest.mark.parametrize("buffer, command, used", [
    (b"show info\n", b"show info", 10),
    (b"a;b\n", b"a", 2),
    (b"a\\;b\n", b"a\\;b", 5),
    (b"crlf\r\n", b"crlf", 6),
    (b"partial", None, 0),
])  # fmt: skip
def test_next_command(buffer: bytes, command: bytes | None, used: int) -> None:
    assert next_command(buffer) == (command, used)


def test_one_shot_answers_everything_sent_then_closes() -> None:
    session, seen = echo_session()
    session.feed(b"show backend; show cli level\n")
    assert session.run() == b"show|backend\n\nshow|cli|level\n\n"
    assert session.closing and seen == [["show", "backend"], ["show", "cli", "level"]]


def test_a_partial_line_waits_for_its_end() -> None:
    session, _seen = echo_session()
    session.feed(b"show ba")
    assert session.run() == b"" and not session.closing
    session.feed(b"ckend\n")
    assert session.run() == b"show|backend\n\n" and session.closing


def test_prompt_mode_keeps_the_connection_and_quit_ends_it() -> None:
    session, _seen = echo_session()
    session.feed(b"prompt\n")
    assert session.run() == b"\n> " and not session.closing
    session.feed(b"x\n")
    assert session.run() == b"x\n\n> " and not session.closing
    session.feed(b"quit\n")
    assert session.run() == b"" and session.closing


def test_overlong_line_closes_without_an_answer() -> None:
    session, seen = echo_session(max_line=100)
    session.feed(b"x" * 101)
    assert session.run() == b"" and session.closing and not seen
    session, seen = echo_session(max_line=100)
    session.feed(b"y" * 100 + b"\n")  # the newline past the buffer
    assert session.run() == b"" and session.closing and not seen


def test_nul_ends_the_line_and_bytes_pass_through() -> None:
    session, seen = echo_session()
    session.feed(b"help\x00 more\n")
    session.run()
    assert seen == [["help"]]
    session, seen = echo_session()
    session.feed(b"\xff\xfe\n")
    assert session.run() == b"\xff\xfe\n\n"


def test_eof_with_a_partial_line_closes() -> None:
    session, seen = echo_session()
    session.feed(b"show info")
    session.eof = True
    assert session.run() == b"" and session.closing and not seen


def test_no_newline_after_user_dash() -> None:
    session = Session(3, lambda s, args: setattr(s, "no_lf", True))
    session.feed(b"user -\n")
    assert session.run() == b"" and session.closing


class Later(Pending):
    def __init__(self) -> None:
        self.answer: str | None = None

    def ready(self) -> bool:
        return self.answer is not None

    def result(self) -> str:
        return self.answer or ""


def test_a_pending_answer_holds_the_stream_in_order() -> None:
    later = Later()
    session = Session(3, lambda s, args: later if args == ["slow"] else "fast\n")
    session.feed(b"slow; fast\n")
    assert session.run() == b"" and session.waiting() and not session.closing
    later.answer = "slow\n"
    assert session.run() == b"slow\n\nfast\n\n" and session.closing
