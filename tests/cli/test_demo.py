"""`lbctl demo` as a person runs it: real processes, stopped by Ctrl-C, SIGTERM or SIGHUP.

Each run checks what the person sees (requests answered, every lb event
once, no `<BADREQ>` line from a readiness probe, no traceback) and what the
demo leaves behind: its temporary directory removed, its children (the
applications, lb's master and workers) gone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support import REPO, children_of, wait_until


class Demo:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "lb", "demo", "--interval", "0.05"], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=lambda s=stream, ls=lines: ls.extend(iter(s.readline, "")), daemon=True).start()

    def requests_answered(self) -> int:
        return sum(1 for line in list(self.out) if re.match(r"request +\d+: 200 Hello from app-\d", line))

    def descendants(self) -> set[int]:
        found, todo = set(), [self.proc.pid]
        while todo:
            kids = children_of(todo.pop())
            found.update(kids)
            todo.extend(kids)
        return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_demo_stops_cleanly_on(sig: signal.Signals) -> None:
    demo = Demo()
    try:
        wait_until(lambda: demo.requests_answered() >= 3 or demo.proc.poll() is not None, 30, what="3 answers")
        assert demo.proc.poll() is None, "".join(demo.err)
        processes = demo.descendants()
        assert len(processes) >= 4  # applications, lb's master, its workers and checker
        workdir = Path(re.search(r"config: (\S+)/demo\.cfg\)", "".join(demo.out)).group(1))  # type: ignore[union-attr]
        assert workdir.is_dir()
        os.kill(demo.proc.pid, sig)
        assert demo.proc.wait(30) == 0
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
    wait_until(lambda: not any(alive(pid) for pid in processes), 10, what="the demo's processes to be gone")
    assert not workdir.exists()
    output = "".join(demo.out) + "".join(demo.err)
    assert "<BADREQ>" not in output
    assert "Traceback" not in output
    for event in ("generation starting", "generation active"):
        assert output.count(event) == 1, output
    assert output.count('"GET /demo/1 HTTP/1.1"') == 1
