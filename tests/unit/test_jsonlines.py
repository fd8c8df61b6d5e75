"""lb.jsonlines: the control channel's framing on a real socket pair (unit)."""

from __future__ import annotations

import socket

from lb.jsonlines import GONE, encode, read_messages


def test_complete_lines_are_messages_and_the_rest_waits() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.sendall(encode({"id": 1}) + b"[1, 2]\nnot json\n" + encode({"id": 2}) + b'{"id"')
    messages, pending = read_messages(ours, b"", 1 << 10)
    assert messages == [{"id": 1}, {"id": 2}]  # a list and a broken line are skipped
    assert pending == b'{"id"'
    theirs.sendall(b": 3}\n")
    assert read_messages(ours, pending, 1 << 10) == ([{"id": 3}], b"")
    assert read_messages(ours, b"", 1 << 10) == ([], b"")  # nothing to read yet: not gone
    theirs.close()
    assert read_messages(ours, b"", 1 << 10) == ([], GONE)
    ours.close()


def test_a_line_past_the_limit_ends_the_channel() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.sendall(b"x" * 100)
    assert read_messages(ours, b"", 64) == ([], GONE)
    ours.close()
    theirs.close()
