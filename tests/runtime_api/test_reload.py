"""The stats socket across reloads: always reachable, runtime changes and counters kept.

Proves, on a real lb with 2 workers: clients connecting to the stats socket
in a loop while the master reloads never fail (the listening socket is kept);
admin state, weights and maxconn set at runtime and the counters survive a
reload for servers that keep their name, while a weight changed in the file
wins; a new socket path opens, the old one is removed.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from tests.runtime_api.lab import Backends, Lab, text
from tests.scenarios.http.httpkit import request
from tests.support import LbProcess, wait_until


class Prober:
    """Connects to the socket and asks `show cli level` as fast as it can."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.ok = 0
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(10)
                    sock.connect(self.path)
                    sock.sendall(b"show cli level\n")
                    answer = b""
                    while chunk := sock.recv(100):
                        answer += chunk
                if answer != b"admin\n\n":
                    raise ConnectionError(f"answer {answer!r}")
                self.ok += 1
            except OSError as exc:
                self.failures.append(repr(exc))

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(15)


def test_reloads_keep_the_socket_runtime_state_and_counters(tmp_path: Path) -> None:
    backends = Backends()
    lab = Lab(tmp_path, backends)
    lb = LbProcess(tmp_path, lab.config()).start()
    admin = lab.socket()
    try:
        for command in ("set server be/s1 state drain", "set weight be/s2 3", "set maxconn server be/s2 4",
                        "disable health be/s1"):  # fmt: skip
            assert text(admin, command) == "", command
        for _ in range(6):
            assert request(lab.ports["fe"]).status == 200
        wait_until(lambda: "be,BACKEND," in text(admin, "show stat") and backend_requests(admin) == 6,
                   what="6 requests counted")  # fmt: skip
        prober = Prober(admin)
        wait_until(lambda: prober.ok > 5, what="prober running")
        for _ in range(3):
            lb.reload()
        wait_until(lambda: prober.ok > 30, what="more answers after the reloads")
        prober.finish()
        assert prober.failures == []
        rows = {line.split(",")[1]: line.split(",") for line in text(admin, "show stat 3 -1 -1").splitlines()[1:]}
        assert rows["s1"][17] == "DRAIN" and rows["s2"][18] == "3" and rows["s2"][6] == "4"
        assert rows["s1"][36] == ""  # health checks still disabled
        assert backend_requests(admin) == 6  # counters carried over three reloads

        moved = lab.config().replace("weight 5 maxconn 10", "weight 7 maxconn 10")
        moved = moved.replace(f"{tmp_path}/user.sock", f"{tmp_path}/user2.sock")
        lb.reload(moved)
        assert text(admin, "get weight be/s2") == "7 (initial 7)\n"  # the file's new weight wins
        assert "DRAIN" in text(admin, "show stat 3 4 1")
        wait_until(lambda: not (tmp_path / "user.sock").exists(), what="old socket removed")
        assert text(str(tmp_path / "user2.sock"), "show cli level") == "user\n"
    finally:
        lb.stop()
        backends.close()


def backend_requests(admin: str) -> int:
    for line in text(admin, "show stat").splitlines():
        cells = line.split(",")
        if cells[:2] == ["be", "BACKEND"]:
            return int(cells[48])
    return -1
