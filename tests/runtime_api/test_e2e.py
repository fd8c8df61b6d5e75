"""The stats socket of a real lb (2 workers): clients, protocol, effects on traffic.

Proves, against `lbctl start` with real backends and clients: socat and a
plain UNIX client get HAProxy's answers; one-shot `a; b` lines and the
interactive prompt; counters that follow the traffic sent; drain, maint,
weight 0 and forced health take a server out of the balancing and back;
`clear counters all`; and that abusive clients (silence, a 1 MB line, no
reading) neither block the master nor leak its descriptors.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from typing import Iterator

import pytest

from tests.runtime_api.lab import Backends, Lab, cli, text
from tests.scenarios.http.httpkit import request
from tests.support import LbProcess, lbctl, wait_until

SOCAT = "/usr/bin/socat"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, LbProcess]]:
    backends = Backends()
    directory = tmp_path_factory.mktemp("runtime")
    lab = Lab(directory, backends)
    config = lab.config().replace("level user\n", "level user\n    stats socket ipv4@127.0.0.1:{port} level operator\n")
    config = config.replace("{port}", str(lab.ports.setdefault("inet", _free())))
    lb = LbProcess(directory, config).start()
    wait_until(lambda: "L4OK" in text(lab.socket(), "show stat"), what="first check")
    try:
        yield lab, lb
    finally:
        lb.stop()
        backends.close()


def _free() -> int:
    from tests.support import free_port

    return free_port()


def stat_rows(lab: Lab) -> dict[tuple[str, str], dict[str, str]]:
    lines = text(lab.socket(), "show stat").splitlines()
    names = lines[0][2:].split(",")
    table = [line.split(",") for line in lines[1:]]
    return {(cells[0], cells[1]): dict(zip(names, cells, strict=False)) for cells in table}


def served_by(lab: Lab, count: int) -> dict[str, int]:
    """Send `count` requests on new connections; which origin answered each."""
    seen: dict[str, int] = {}
    before = {origin.name: len(origin.requests) for origin in lab.backends.web}
    for _ in range(count):
        assert request(lab.ports["fe"]).status == 200
    for origin in lab.backends.web:
        seen[origin.name] = len(origin.requests) - before[origin.name]
    return seen


def flood(path: str, data: bytes) -> bytes:
    """Send `data` as far as the server lets us; what it answered before closing."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def master_fds(lb: LbProcess) -> int:
    return len(os.listdir(f"/proc/{lb.pid}/fd"))


# -- clients and protocol ------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists(SOCAT), reason="socat is not installed")
def test_socat_one_liners(running: tuple[Lab, LbProcess]) -> None:
    lab, _lb = running
    def socat(line: str, address: str) -> str:
        return subprocess.run([SOCAT, "-", address], input=line + "\n", capture_output=True, text=True,
                              timeout=10).stdout  # fmt: skip

    info = socat("show info", f"UNIX-CONNECT:{lab.socket()}")
    assert info.startswith("Name: lb\nVersion: ") and "Nbproc: 2\n" in info and info.endswith("\n\n")
    assert socat("show stat", f"TCP:127.0.0.1:{lab.ports['inet']}").startswith("# pxname,svname,qcur,")
    assert socat("show backend; show cli level", f"UNIX-CONNECT:{lab.socket('operator')}") == (
        "# name\nbe\nbe_static\ntl\n\noperator\n\n")


def test_interactive_prompt_session(running: tuple[Lab, LbProcess]) -> None:
    lab, _lb = running
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(lab.socket())
        sock.sendall(b"prompt\n")
        assert sock.recv(100) == b"\n> "
        sock.sendall(b"show cli level\n")
        assert sock.recv(100) == b"admin\n\n> "
        sock.sendall(b"user\nshow cli level\n")
        data = b""
        while not data.endswith(b"user\n\n> "):
            data += sock.recv(100)
        assert data == b"\n> user\n\n> "
        sock.sendall(b"set weight be/s1 3\n")  # the session is now at level user
        assert sock.recv(100) == b"Permission denied\n\n> "
        sock.sendall(b"quit\n")
        assert sock.recv(100) == b""


def test_garbage_and_long_lines_are_answered_as_haproxy_and_change_nothing(running: tuple[Lab, LbProcess]) -> None:
    lab, lb = running
    before = servers_state(lab)
    assert cli(lab.socket(), b"\x00\xff\xfe garbage\n").startswith(b"Unknown command. Please enter one")
    assert cli(lab.socket(), b"\xfe\xfd bad words\n").startswith(b"Unknown command, but maybe")
    assert flood(lab.socket(), b"x" * (1 << 20)) == b""  # no end of line within the buffer: closed unanswered
    assert cli(lab.socket(), b"show backend\\;x\n").startswith(b"Unknown command")
    assert servers_state(lab) == before
    assert lb.proc is not None and lb.proc.poll() is None


def settled(lab: Lab) -> bool:
    first = stat_rows(lab)[("fe", "FRONTEND")]["stot"]
    time.sleep(1.2)
    return stat_rows(lab)[("fe", "FRONTEND")]["stot"] == first


def servers_state(lab: Lab) -> list[list[str]]:
    """`show servers state` without srv_time_since_last_change, which ticks by itself."""
    lines = text(lab.socket(), "show servers state").splitlines()
    names = lines[1][2:].split()
    tick = names.index("srv_time_since_last_change")
    return [line.split()[:tick] + line.split()[tick + 1 :] for line in lines[2:] if line.strip()]


def test_abusive_clients_neither_block_the_master_nor_leak_descriptors(running: tuple[Lab, LbProcess]) -> None:
    lab, lb = running
    baseline = master_fds(lb)
    silent = []
    for _ in range(3):  # connect and say nothing, with a short idle timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(lab.socket("operator"))
        sock.sendall(b"prompt\nset timeout cli 1\n")
        silent.append(sock)
    greedy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # asks for megabytes and never reads them
    greedy.connect(lab.socket())
    greedy.setblocking(False)
    try:
        greedy.sendall(b"prompt\nset timeout cli 1\n" + b"show stat typed\n" * 2000)
    except BlockingIOError:
        pass
    assert text(lab.socket(), "show cli level") == "admin\n"  # others are served meanwhile
    for sock in silent:
        sock.settimeout(10)
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data == b"\n> \n> "  # the prompts, then the close after the idle timeout
        sock.close()
    wait_until(lambda: master_fds(lb) <= baseline + 1, what="the greedy client closed by its timeout")
    greedy.close()
    wait_until(lambda: master_fds(lb) == baseline, what="no descriptor left behind")


def test_more_clients_than_maxconn_wait_in_the_backlog(running: tuple[Lab, LbProcess]) -> None:
    lab, _lb = running
    holders = []
    for _ in range(10):  # `stats maxconn` is 10
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(lab.socket())
        sock.sendall(b"prompt\n")
        holders.append(sock)
    late = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    late.connect(lab.socket())  # accepted by the kernel, not yet by the master
    late.sendall(b"show cli level\n")
    holders.pop().close()
    late.settimeout(10)
    assert late.recv(100) == b"admin\n\n"
    late.close()
    for sock in holders:
        sock.close()


def test_socket_files_have_the_configured_mode(running: tuple[Lab, LbProcess]) -> None:
    lab, _lb = running
    for level in ("admin", "operator", "user"):
        info = os.stat(lab.socket(level))
        assert stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
        assert info.st_uid == os.geteuid()


# -- counters and effects on traffic ------------------------------------------------------------


def test_counters_follow_the_traffic(running: tuple[Lab, LbProcess]) -> None:
    lab, _lb = running
    before = stat_rows(lab)
    seen = served_by(lab, 30)

    def delta(rows: dict, key: tuple[str, str], column: str) -> int:
        return int(rows[key][column]) - int(before[key][column])

    def moved() -> dict | None:
        """Every worker's share published (each publishes its columns once a second)."""
        rows = stat_rows(lab)
        servers = (("be", "s1"), "web1"), (("be", "s2"), "web2")
        done = delta(rows, ("fe", "FRONTEND"), "req_tot") == 30 and delta(rows, ("be", "BACKEND"), "stot") == 30 \
            and all(delta(rows, key, "lbtot") == seen[origin] for key, origin in servers)  # fmt: skip
        return rows if done else None

    rows = wait_until(moved, what="the requests counted")
    for key, origin in ((("be", "s1"), "web1"), (("be", "s2"), "web2")):
        assert delta(rows, key, "hrsp_2xx") == seen[origin]
    assert delta(rows, ("fe", "FRONTEND"), "stot") == 30
    # the master samples rates a moment after the workers publish their counts
    wait_until(lambda: int(stat_rows(lab)[("fe", "FRONTEND")]["rate_max"]) > 0, what="a session rate seen")


@pytest.mark.parametrize("change, undo", [
    ("set server be/s1 state maint", "set server be/s1 state ready"),
    ("set server be/s1 state drain", "set server be/s1 state ready"),
    ("disable server be/s1", "enable server be/s1"),
    ("set weight be/s1 0", "set weight be/s1 100%"),
    # checks would bring a checked server back at once: forced health goes with `disable health`
    ("disable health be/s1; set server be/s1 health down", "set server be/s1 health up; enable health be/s1"),
    ("disable health be/s1; set server be/s1 health stopping", "set server be/s1 health up; enable health be/s1"),
])  # fmt: skip
def test_a_server_taken_out_gets_no_new_requests(running: tuple[Lab, LbProcess], change: str, undo: str) -> None:
    lab, _lb = running
    assert text(lab.socket(), change).strip("\n") == ""
    wait_until(lambda: served_by(lab, 4)["web1"] == 0, what=f"no request for s1 after {change!r}")
    assert served_by(lab, 12) == {"web1": 0, "web2": 12}
    assert text(lab.socket(), undo).strip("\n") == ""
    wait_until(lambda: served_by(lab, 6)["web1"] > 0, what=f"s1 back after {undo!r}")


def test_forced_health_shows_and_the_checks_bring_it_back(running: tuple[Lab, LbProcess]) -> None:
    lab, _lb = running
    assert text(lab.socket(), "disable health be/s1") == ""
    assert text(lab.socket(), "set server be/s1 health down") == ""
    wait_until(lambda: stat_rows(lab)[("be", "s1")]["status"] == "DOWN", what="s1 DOWN")
    assert stat_rows(lab)[("be", "s1")]["check_status"] == ""  # no check columns while disabled
    assert text(lab.socket(), "enable health be/s1") == ""
    wait_until(lambda: stat_rows(lab)[("be", "s1")]["status"] == "UP", timeout=15, what="the checks bring it up")


def test_clear_counters_all_restarts_from_zero(running: tuple[Lab, LbProcess]) -> None:
    lab, _lb = running
    before = int(stat_rows(lab)[("fe", "FRONTEND")]["stot"])
    served_by(lab, 3)  # all counted before the clear: a clear voids what the workers published
    wait_until(lambda: int(stat_rows(lab)[("fe", "FRONTEND")]["stot"]) >= before + 3, what="3 sessions counted")
    # `before` may have missed sessions of earlier tests a worker had not published yet: wait until
    # nothing changes over more than one heartbeat (workers publish once a second)
    wait_until(lambda: settled(lab), what="every worker's counts published")
    assert text(lab.socket("operator"), "clear counters all") == "Permission denied\n"
    assert text(lab.socket(), "clear counters all") == ""
    rows = stat_rows(lab)
    assert rows[("fe", "FRONTEND")]["stot"] == rows[("be", "BACKEND")]["req_tot"] == "0"
    assert rows[("fe", "FRONTEND")]["rate_max"] == "0"
    served_by(lab, 5)
    wait_until(lambda: stat_rows(lab)[("fe", "FRONTEND")]["stot"] == "5", what="counting again from 0")


def test_set_maxconn_shows_and_frontend_pause_refuses_nothing_else(running: tuple[Lab, LbProcess]) -> None:
    lab, _lb = running
    assert text(lab.socket(), "set maxconn server be/s2 3") == ""
    assert text(lab.socket(), "set maxconn frontend fe 77") == ""
    rows = stat_rows(lab)
    assert rows[("be", "s2")]["slim"] == "3" and rows[("fe", "FRONTEND")]["slim"] == "77"
    assert text(lab.socket(), "set maxconn global 900") == ""
    assert "Maxconn: 900\n" in text(lab.socket(), "show info")
    for command in ("set maxconn server be/s2 10", "set maxconn frontend fe 500", "set maxconn global 0"):
        assert text(lab.socket(), command) == ""


def test_show_sess_says_which_workers_could_not_answer(running: tuple[Lab, LbProcess]) -> None:
    """Depends on the engine: workers that answer on their control channel list their
    streams; until then the master names the workers that could not."""
    lab, _lb = running
    answer = text(lab.socket(), "show sess")
    assert answer.endswith("could not list their sessions\n") or answer.startswith("0x") or answer == ""
    assert text(lab.socket("user"), "show sess") == "Permission denied\n"


def test_lbctl_status_and_server(running: tuple[Lab, LbProcess]) -> None:
    lab, lb = running
    shown = lbctl("status", "-f", str(lb.path))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].split()[:3] == ["NAME", "STATUS", "WEIGHT"]
    assert any(line.split()[:2] == ["be/s3", "MAINT"] for line in shown.stdout.splitlines())
    drained = lbctl("server", "drain", "be/s2", "-f", str(lb.path))
    assert drained.returncode == 0 and drained.stdout == "be/s2: state drain\n"
    assert stat_rows(lab)[("be", "s2")]["status"] == "DRAIN"
    assert lbctl("server", "ready", "be/s2", "-f", str(lb.path)).returncode == 0
    missing = lbctl("server", "weight", "be/nope", "5", "-f", str(lb.path))
    assert missing.returncode == 1 and missing.stderr == "Error: No such server.\n"
    as_json = lbctl("status", "--json", "-f", str(lb.path))
    assert '"name": "be/s1"' in as_json.stdout
