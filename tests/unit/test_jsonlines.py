"""lb.jsonlines: the control channel's framing on a real socket pair (unit)."""

from __future__ import annotations

import socket

from lb.jsonlines import GONE, encode, read_messages, send_some


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


def test_send_some_drops_what_was_sent_and_says_when_the_socket_failed() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    outbox = bytearray(encode({"id": 1}))
    assert send_some(ours, outbox) is True and outbox == bytearray()
    assert read_messages(theirs, b"", 1 << 10)[0] == [{"id": 1}]
    big = bytearray(b"x" * (8 << 20))  # more than the socket buffer takes at once
    assert send_some(ours, big) is True and 0 < len(big) < 8 << 20
    theirs.close()
    ours.close()
    assert send_some(ours, bytearray(b"y")) is False  # a closed socket fails
