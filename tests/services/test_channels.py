"""The master's side of a worker's "cli" request on the control channel (master code; real socketpair).

A worker's stats page applies its admin form by sending
`{"id": N, "cmd": "cli", "line": ...}`; the master runs the line through the
runtime API at level admin and answers `{"id": N, "answer": text}` (null
when it refuses).  Here the worker's end is a plain socket of the pair and
the master's end is served by its selector, as in the master's loop.
"""

from __future__ import annotations

import json
import selectors
import socket
from pathlib import Path

import pytest

from lb.runtime_api.channels import WorkerChannel, run_worker_line
from lb.shm import layout
from tests.services.helpers import Lab

BODY = """
backend be
    server a 127.0.0.1:2
"""


class Pair:
    def __init__(self, lab: Lab, cli: bool = True) -> None:
        self.selector = selectors.DefaultSelector()
        self.master, self.worker = socket.socketpair()
        runner = (lambda line: run_worker_line(lab.state, line)) if cli else None
        self.channel = WorkerChannel(self.master, self.selector, 1, 0, runner)
        self.worker.settimeout(5)
        self.inbox = b""

    def pump(self, timeout: float = 1) -> None:
        for key, mask in self.selector.select(timeout=timeout):
            key.data(mask)

    def ask(self, message: dict) -> dict:
        self.worker.sendall(json.dumps(message).encode() + b"\n")
        while b"\n" not in self.inbox:
            self.pump()
            self.worker.setblocking(False)
            try:
                self.inbox += self.worker.recv(1 << 20)
            except BlockingIOError:
                pass
            finally:
                self.worker.setblocking(True)
        line, self.inbox = self.inbox.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        self.channel.close()
        self.worker.close()
        self.selector.close()


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path, BODY)


def test_cli_lines_run_at_admin_level(lab: Lab) -> None:
    pair = Pair(lab)
    try:
        assert pair.ask({"id": 7, "cmd": "cli", "line": "set server be/a state drain"}) == {"id": 7, "answer": ""}
        assert lab.shm.srv_admin[0] == layout.ADMIN_DRAIN
        assert pair.ask({"id": 8, "cmd": "cli", "line": "set server be/zz state drain"}) == {
            "id": 8, "answer": "No such server.\n"}
        answer = pair.ask({"id": 9, "cmd": "cli", "line": "show info typed"})["answer"]
        assert answer.startswith("0.Name.1:POS:str:lb\n") and not answer.endswith("\n\n")
    finally:
        pair.close()


def test_refused_requests_answer_null(lab: Lab) -> None:
    pair = Pair(lab)
    try:
        assert pair.ask({"id": 1, "cmd": "cli", "line": "show stat\nshow info"}) == {"id": 1, "answer": None}
        assert pair.ask({"id": 2, "cmd": "cli", "line": "show sess"}) == {"id": 2, "answer": None}  # waits for workers
        assert pair.ask({"id": 3, "cmd": "cli"}) == {"id": 3, "answer": None}
        assert pair.ask({"id": 4, "cmd": "other"}) == {"id": 4, "answer": None}
    finally:
        pair.close()
    pair = Pair(lab, cli=False)
    try:
        assert pair.ask({"id": 5, "cmd": "cli", "line": "show info"}) == {"id": 5, "answer": None}
    finally:
        pair.close()


def test_big_answers_wait_for_the_worker_to_read(lab: Lab) -> None:
    pair = Pair(lab)
    pair.master.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    try:
        for number in range(40):  # far more than the socket buffers hold while nobody reads
            pair.worker.sendall(json.dumps({"id": number, "cmd": "cli", "line": "help"}).encode() + b"\n")
        for _ in range(10):
            pair.pump(timeout=0.01)
        assert pair.channel.outbox  # kept, not lost
        answers = []
        while len(answers) < 40:
            pair.pump(timeout=0.01)
            pair.worker.setblocking(False)
            try:
                pair.inbox += pair.worker.recv(1 << 20)
            except BlockingIOError:
                pass
            pair.worker.setblocking(True)
            while b"\n" in pair.inbox:
                line, pair.inbox = pair.inbox.split(b"\n", 1)
                answers.append(json.loads(line))
        assert [a["id"] for a in answers] == list(range(40))
        assert all(a["answer"].startswith("The following commands are valid") for a in answers)
    finally:
        pair.close()
