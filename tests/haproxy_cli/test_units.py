"""The pieces under lb-haproxy: fd@ binds, socket takeover, systemd notification (unit; sockets in-process)."""

from __future__ import annotations

import os
import socket

import pytest

from lb import takeover
from lb.config.types import parse_inherited_fd


def test_inherited_fd_reads_the_sockets_own_address() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        fd, host, port, family = parse_inherited_fd(f"fd@{sock.fileno()}")
        assert (fd, host, port, family) == (sock.fileno(), "127.0.0.1", sock.getsockname()[1], socket.AF_INET)


@pytest.mark.parametrize("text, message", [
    ("fd@abc", "file descriptor 'abc' is not a valid integer in 'fd@abc'"),
    ("fd@", "file descriptor '' is not a valid integer in 'fd@'"),
    ("fd@987654", "cannot use file descriptor '987654' : Bad file descriptor."),
])  # fmt: skip
def test_inherited_fd_errors_are_haproxys(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_inherited_fd(text)
    assert str(raised.value) == message


def test_inherited_fd_must_be_a_stream_socket() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(ValueError, match="is of the wrong type"):
            parse_inherited_fd(f"fd@{sock.fileno()}")


def test_takeover_copies_the_listening_sockets_it_is_asked_for() -> None:
    wanted_sock = socket.create_server(("127.0.0.1", 0))
    other_sock = socket.create_server(("127.0.0.1", 0))
    connected = socket.create_connection(wanted_sock.getsockname())  # not a listener: never taken
    key = (int(socket.AF_INET), "127.0.0.1", wanted_sock.getsockname()[1])
    try:
        taken, problems = takeover.take_listeners([os.getpid()], {key})
        assert problems == []
        assert list(taken) == [key] and len(taken[key]) == 1
        copy = taken[key][0]
        assert os.fstat(copy.fileno()).st_ino == os.fstat(wanted_sock.fileno()).st_ino  # the same socket
        copy.close()
    finally:
        for sock in (wanted_sock, other_sock, connected):
            sock.close()


def test_takeover_of_a_missing_process_is_reported() -> None:
    taken, problems = takeover.take_listeners([2**22 + 12345], {(2, "", 80)})
    assert taken == {} and len(problems) == 1 and "cannot take the listeners of process" in problems[0]


def test_any_address_key_matches_lb_binds() -> None:
    with socket.create_server(("0.0.0.0", 0)) as sock:
        assert takeover.listener_key(sock) == (int(socket.AF_INET), "", sock.getsockname()[1])
