"""The worker's event loop: timers, stop, I/O callbacks, failing callbacks (worker, checker)."""

from __future__ import annotations

import selectors
import socket
from typing import Any, Iterator

import pytest

from workers.loop import EventLoop

pytestmark = pytest.mark.timeout(10)
Pair = tuple[socket.socket, socket.socket]
Capture = pytest.CaptureFixture[str]


@pytest.fixture
def loop() -> Iterator[EventLoop]:
    ev = EventLoop()
    yield ev
    ev.close()


def run_until_stopped(loop: EventLoop) -> None:
    """Run with a safety stop far away, so a broken stop() cannot hang the test."""
    guard = loop.call_later(5.0, loop.stop)
    loop.run(idle_cap=0.05)
    guard.cancel()


def test_timers_fire_in_time_order_then_insertion_order(loop: EventLoop) -> None:
    fired: list[str] = []
    loop.call_later(0.02, fired.append, "c")
    loop.call_later(0.01, fired.append, "b")
    loop.call_later(0.02, fired.append, "d")  # same deadline as "c": scheduled later, fires later
    loop.call_at(loop.now - 1.0, fired.append, "a")  # already due
    loop.call_later(0.03, loop.stop)
    run_until_stopped(loop)
    assert fired == ["a", "b", "c", "d"]


def test_cancelled_timer_never_fires(loop: EventLoop) -> None:
    fired: list[str] = []
    timer = loop.call_later(0.0, fired.append, "cancelled")
    loop.call_later(0.0, fired.append, "kept")
    timer.cancel()
    loop.call_later(0.01, loop.stop)
    run_until_stopped(loop)
    assert fired == ["kept"]


def test_a_timer_fires_once(loop: EventLoop) -> None:
    fired: list[int] = []
    loop.call_later(0.0, fired.append, 1)
    loop.call_later(0.01, loop.stop)
    run_until_stopped(loop)
    loop.call_later(0.0, loop.stop)
    run_until_stopped(loop)
    assert fired == [1]


def test_call_later_is_relative_to_loop_now() -> None:
    ev = EventLoop()
    ev.now = 1000.0  # the time read at the top of the iteration, not a fresh clock
    assert ev.call_later(2.5, print).when == 1002.5
    assert ev.call_at(7.0, print).when == 7.0
    ev.close()


def test_stop_ends_run_and_later_timers_stay_pending(loop: EventLoop) -> None:
    fired: list[str] = []
    loop.call_later(0.0, loop.stop)
    loop.call_later(60.0, fired.append, "later")
    loop.run(idle_cap=0.05)
    assert loop.running is False and fired == []


class Owner:
    """A stream-like object: its callbacks are bound methods, internal_error ends it."""

    def __init__(self, loop: EventLoop) -> None:
        self.loop = loop
        self.errors = 0
        self.sock: socket.socket | None = None

    def explode(self, *args: Any) -> None:
        raise RuntimeError("bug in a stream callback")

    def internal_error(self) -> None:
        self.errors += 1
        if self.sock is not None:
            self.loop.unregister(self.sock)


def test_raising_timer_calls_owner_internal_error_and_loop_goes_on(loop: EventLoop, capsys: Capture) -> None:
    owner = Owner(loop)
    fired: list[str] = []
    loop.call_later(0.0, owner.explode)
    loop.call_later(0.01, fired.append, "after")
    loop.call_later(0.02, loop.stop)
    run_until_stopped(loop)
    assert owner.errors == 1 and fired == ["after"]
    assert "bug in a stream callback" in capsys.readouterr().err


def test_raising_plain_timer_function_does_not_stop_the_loop(loop: EventLoop, capsys: Capture) -> None:
    fired: list[str] = []

    def broken() -> None:
        raise ValueError("plain function")

    loop.call_later(0.0, broken)
    loop.call_later(0.01, fired.append, "after")
    loop.call_later(0.02, loop.stop)
    run_until_stopped(loop)
    assert fired == ["after"]
    capsys.readouterr()


@pytest.fixture
def pair() -> Iterator[Pair]:
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_io_callback_gets_the_mask(loop: EventLoop, pair: Pair) -> None:
    a, b = pair
    got: list[tuple[int, bytes]] = []

    def on_readable(mask: int) -> None:
        got.append((mask, a.recv(100)))
        loop.stop()

    loop.register(a, selectors.EVENT_READ, on_readable)
    b.sendall(b"ping")
    run_until_stopped(loop)
    assert got == [(selectors.EVENT_READ, b"ping")]


def test_modify_changes_events_and_callback(loop: EventLoop, pair: Pair) -> None:
    a, _b = pair
    got: list[str] = []

    def on_writable(mask: int) -> None:
        got.append("write" if mask & selectors.EVENT_WRITE else "?")
        loop.unregister(a)
        loop.stop()

    loop.register(a, selectors.EVENT_READ, lambda mask: got.append("read"))
    loop.modify(a, selectors.EVENT_WRITE, on_writable)
    run_until_stopped(loop)
    assert got == ["write"]


def test_raising_io_callback_ends_only_that_stream(loop: EventLoop, pair: Pair, capsys: Capture) -> None:
    a, b = pair
    owner = Owner(loop)
    owner.sock = a
    loop.register(a, selectors.EVENT_READ, owner.explode)
    b.sendall(b"x")
    fired: list[str] = []
    loop.call_later(0.01, fired.append, "timer")
    loop.call_later(0.02, loop.stop)
    run_until_stopped(loop)
    assert owner.errors == 1 and fired == ["timer"]
    assert a not in [key.fileobj for key in loop.selector.get_map().values()]
    capsys.readouterr()


def test_raising_io_function_without_owner_is_unregistered(loop: EventLoop, pair: Pair, capsys: Capture) -> None:
    a, b = pair
    calls: list[int] = []

    def broken(mask: int) -> None:
        calls.append(mask)
        raise OSError("boom")

    loop.register(a, selectors.EVENT_READ, broken)
    b.sendall(b"x")  # stays unread: a loop that kept `a` registered would call it again and again
    loop.call_later(0.05, loop.stop)
    run_until_stopped(loop)
    assert calls == [selectors.EVENT_READ]
    capsys.readouterr()


def test_unregister_twice_is_harmless(loop: EventLoop, pair: Pair) -> None:
    a, _b = pair
    loop.register(a, selectors.EVENT_READ, print)
    loop.unregister(a)
    loop.unregister(a)
    assert len(loop.selector.get_map()) == 0


def test_an_event_of_a_registration_removed_in_the_same_iteration_is_not_delivered(loop: EventLoop) -> None:
    """Both sockets are readable in one `select`; whichever runs first unregisters the
    other (a listener stopped by the stop signal's callback): the other's event is stale."""
    pairs = [socket.socketpair() for _ in range(2)]
    try:
        calls: list[int] = []
        for number, (reader, writer) in enumerate(pairs):
            writer.send(b"x")

            def on_ready(mask: int, number: int = number) -> None:
                calls.append(number)
                pairs[number][0].recv(1)
                loop.unregister(pairs[1 - number][0])
                loop.stop()

            loop.register(reader, selectors.EVENT_READ, on_ready)
        run_until_stopped(loop)
        assert len(calls) == 1
        # registered again, the descriptor is heard at the next turn (level-triggered)
        other = pairs[1 - calls[0]][0]
        loop.register(other, selectors.EVENT_READ, lambda mask: (calls.append(9), loop.stop()))
        run_until_stopped(loop)
        assert calls[1:] == [9]
    finally:
        for reader, writer in pairs:
            reader.close()
            writer.close()
