"""Reading configuration files within bounds (lb.config.reader), and what the parser reports.

HAProxy 2.6 side by side (`haproxy -c -f`): /dev/zero is refused with
`parsing [/dev/zero:1]: Stray NUL character at position 1.`; a NUL on the
last line is a `Missing LF on last line ... at position N.`.  The bounds
(line length, file size, time to read a pipe) are lb's own.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

import pytest

import lb.config
from lb.config.lexer import LexError, Line, lex
from lb.config.model import Location
from lb.config.reader import (
    CHUNK,
    END_EOF,
    END_LONG,
    END_NUL,
    MAX_LINE_BYTES,
    ConfigFile,
    LineReader,
    RawLine,
    ReadProblem,
)


def lines(text: str, **limits: int) -> list[RawLine | ReadProblem]:
    return list(LineReader.of_text(text, **limits))


def endless(pattern: bytes) -> tuple[Callable[[int], bytes], list[int]]:
    """A source that never ends (like /dev/zero); the list records each read's size."""
    sizes: list[int] = []

    def read(size: int) -> bytes:
        sizes.append(size)
        return (pattern * (size // len(pattern) + 1))[:size]

    return read, sizes


# -- lines -------------------------------------------------------------------------------


def test_lines_end_at_lf_and_the_last_one_may_miss_it() -> None:
    assert lines("a\nb c\nlast") == [RawLine(1, "a"), RawLine(2, "b c"), RawLine(3, "last", END_EOF, 5)]
    assert lines("") == [] and lines("\n\n") == [RawLine(1, ""), RawLine(2, "")]


def test_a_nul_cuts_its_line_and_stops_the_file_when_more_follows() -> None:
    assert lines("global\nabc\0def\nmaxconn 1\n") == [RawLine(1, "global"),
                                                     RawLine(2, "abc", END_NUL, 4, more=True)]  # fmt: skip


def test_a_nul_on_the_last_line_is_no_stray_nul() -> None:
    # haproxy -c: "global\nabc\0def\n" -> Missing LF on last line ... at position 4
    assert lines("global\nabc\0def\n")[1] == RawLine(2, "abc", END_NUL, 4, more=False)
    assert lines("global\n\0")[1] == RawLine(2, "", END_NUL, 1, more=False)


def test_bytes_that_are_not_utf8_are_kept() -> None:
    read = iter([b"a\xff\xfe b\n", b""])
    (line,) = LineReader(lambda size: next(read))
    assert line.text.encode("utf-8", "surrogateescape") == b"a\xff\xfe b"


def test_a_line_over_the_limit_is_skipped_and_the_next_ones_are_read() -> None:
    assert lines("x" * 10 + "\nok\n", max_line=10) == [RawLine(1, "x" * 10), RawLine(2, "ok")]
    assert lines("x" * 11 + "\nok\n", max_line=10) == [RawLine(1, "", END_LONG), RawLine(2, "ok")]
    assert lines("a\n" + "y" * 50, max_line=10) == [RawLine(1, "a"), RawLine(2, "", END_LONG)]


def test_a_file_over_the_limit_ends_with_a_problem_on_the_line_being_read() -> None:
    assert lines("a\n" * 3, max_file=6) == [RawLine(n, "a") for n in (1, 2, 3)]
    assert lines("a\n" * 10, max_file=7)[3:] == [ReadProblem(4, "file too large (more than 7 bytes), stopping now.")]


def test_an_endless_line_is_read_in_bounded_memory_up_to_the_file_limit() -> None:
    read, sizes = endless(b"x")
    held: list[int] = []
    reader = LineReader(lambda size: (held.append(len(reader.buf)), read(size))[1], max_line=1000,
                        max_file=50 * CHUNK)  # fmt: skip
    assert list(reader) == [ReadProblem(1, f"file too large (more than {50 * CHUNK} bytes), stopping now.")]
    assert sum(sizes) == 50 * CHUNK + 1  # every byte up to the limit, and one more to know
    assert max(held) <= 2 * CHUNK  # what is skipped is not kept


def test_an_endless_stream_of_nul_stops_at_its_first_byte() -> None:
    read, sizes = endless(b"\0")
    assert list(LineReader(read)) == [RawLine(1, "", END_NUL, 1, more=True)]
    assert sum(sizes) <= MAX_LINE_BYTES + 2 * CHUNK  # what fgets() would have read, not the whole device


# -- lexer: the diagnostics -----------------------------------------------------------


def test_lex_reports_a_long_line_and_goes_on() -> None:
    long_line = "x" * (MAX_LINE_BYTES + 1)
    items = list(lex(f"global\n{long_line}\n  maxconn 10\n", "f.cfg", {}))
    assert items[0] == Line(["global"], Location("f.cfg", 1))
    assert isinstance(items[1], LexError) and items[1].loc == Location("f.cfg", 2)
    assert str(items[1]) == f"line too long (more than {MAX_LINE_BYTES} bytes), skipping it."
    assert items[2] == Line(["maxconn", "10"], Location("f.cfg", 3))


def test_lex_reports_a_nul_on_the_last_line_as_haproxy() -> None:
    items = list(lex("global\nabc\0def\n", "f.cfg", {}))
    assert items[1] == Line(["abc"], Location("f.cfg", 2))
    assert str(items[2]) == "Missing LF on last line, file might have been truncated at position 4."


# -- files ---------------------------------------------------------------------------------


def test_a_directory_is_not_read_as_a_file(tmp_path: Path) -> None:
    # lb.config.files expands a directory into its *.cfg files before anything is opened
    with pytest.raises(IsADirectoryError):
        ConfigFile(str(tmp_path))


def test_dev_zero_is_refused_at_its_first_byte() -> None:
    with ConfigFile("/dev/zero") as source:
        assert list(source.lines()) == [RawLine(1, "", END_NUL, 1, more=True)]
        assert source.reader.total <= MAX_LINE_BYTES + 2 * CHUNK


def test_a_fifo_without_writer_times_out_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "cfg.fifo"
    os.mkfifo(fifo)
    with ConfigFile(str(fifo), timeout=0.2) as source:  # opening does not wait for a writer
        (problem,) = source.lines()
    assert problem == ReadProblem(1, "could not read the whole file within 0.2 seconds (a pipe, FIFO or device), "
                                     "stopping now.")  # fmt: skip


def _feed(fifo: Path, data: bytes, close: threading.Event | None = None) -> threading.Thread:
    def write() -> None:
        fd = os.open(fifo, os.O_WRONLY)
        os.write(fd, data)
        if close is not None:
            close.wait(30)
        os.close(fd)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_fifo_is_read_to_its_end(tmp_path: Path) -> None:
    fifo = tmp_path / "cfg.fifo"
    os.mkfifo(fifo)
    writer = _feed(fifo, b"global\n  maxconn 10\n")
    with ConfigFile(str(fifo), timeout=30) as source:
        assert [line.text for line in source.lines()] == ["global", "  maxconn 10"]  # type: ignore[union-attr]
    writer.join(5)


def test_a_fifo_left_open_gives_its_lines_then_times_out(tmp_path: Path) -> None:
    fifo = tmp_path / "cfg.fifo"
    os.mkfifo(fifo)
    release = threading.Event()
    writer = _feed(fifo, b"global\n  maxconn 10\n", release)
    try:
        with ConfigFile(str(fifo), timeout=0.5) as source:
            items = list(source.lines())
    finally:
        release.set()
        writer.join(5)
    assert [getattr(item, "text", None) for item in items[:2]] == ["global", "  maxconn 10"]
    assert isinstance(items[2], ReadProblem) and items[2].number == 3


# -- the parser: everything reported in one run ------------------------------------------------


def test_every_problem_of_a_file_with_a_long_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "long.cfg"
    path.write_bytes(b"global\n  maxconn x\n" + b"#" * (MAX_LINE_BYTES + 5) + b"\n  nbthread y\n  maxconn 10")
    config = lb.config.load(str(path))
    located = [(d.loc.line if d.loc else None, d.message) for d in config.alerts]
    assert located[0][0] == 2 and "maxconn" in located[0][1]
    assert located[1] == (3, f"line too long (more than {MAX_LINE_BYTES} bytes), skipping it.")
    assert located[2][0] == 4
    assert located[3] == (5, "Missing LF on last line, file might have been truncated at position 13.")
    assert located[4:] == [(None, f"Error(s) found in configuration file : {path}"),
                           (None, "Fatal errors found in configuration.")]  # fmt: skip
