"""`lb-haproxy` running: HAProxy's modes, signals, exit codes, systemd, -sf reloads (real processes).

Exit statuses are those of HAProxy 2.6.12, measured with /usr/sbin/haproxy:
under -W the master exits 130 after SIGINT and 0 after SIGTERM or
SIGUSR1; without -W the process dies by SIGINT or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.haproxy_cli.helpers import COMMAND, HaproxyProcess, haproxy_env, tcp_config
from tests.scenarios.process.test_reload import Load
from tests.support import REPO, TagServer, free_port, tag_of, wait_until


@pytest.fixture
def backend():
    server = TagServer("s1")
    yield server
    server.close()


@pytest.fixture
def started():
    processes: list[HaproxyProcess] = []

    def start(*args: str, **kwargs) -> HaproxyProcess:
        process = HaproxyProcess(*args, **kwargs)
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.stop()


def write(tmp_path: Path, text: str, name: str = "haproxy.cfg") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("flags, sig, expected", [
    (["-W", "-db"], signal.SIGINT, 130),
    (["-W", "-db"], signal.SIGTERM, 0),
    (["-W", "-db"], signal.SIGUSR1, 0),
    (["-db"], signal.SIGTERM, -signal.SIGTERM),
    (["-d"], signal.SIGINT, -signal.SIGINT),
])  # fmt: skip
def test_exit_status_after_a_signal(tmp_path, backend, started, flags, sig, expected) -> None:
    port = free_port()
    lb = started(*flags, "-f", write(tmp_path, tcp_config(port, backend.port)))
    lb.wait_active()
    assert tag_of(port) == "s1"
    lb.proc.send_signal(sig)
    assert lb.wait() == expected


def test_daemon_mode_writes_the_pidfile_and_returns_once_up(tmp_path, backend) -> None:
    port = free_port()
    pidfile = tmp_path / "haproxy.pid"
    cfg = write(tmp_path, tcp_config(port, backend.port))
    launcher = subprocess.run([*COMMAND, "-D", "-f", cfg, "-p", str(pidfile)], capture_output=True, text=True,
                              cwd=REPO, timeout=30)  # fmt: skip
    assert (launcher.returncode, launcher.stdout) == (0, "")
    pid = int(pidfile.read_text())
    try:
        assert tag_of(port) == "s1"  # up before the launcher returned
        os.kill(pid, signal.SIGUSR1)  # graceful stop
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2],
                   what="daemon gone")  # fmt: skip
    finally:
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)


def test_daemon_mode_reports_a_bind_failure(tmp_path, backend) -> None:
    squatter = socket.create_server(("127.0.0.1", 0))  # no SO_REUSEPORT: nobody can bind beside it
    port = squatter.getsockname()[1]
    cfg = write(tmp_path, tcp_config(port, backend.port))
    launcher = subprocess.run([*COMMAND, "-D", "-f", cfg], capture_output=True, text=True, cwd=REPO, timeout=30)
    squatter.close()
    assert launcher.returncode == 1
    assert "cannot bind socket (Address already in use)" in launcher.stderr
    assert "[haproxy.main()] Some protocols failed to start their listeners! Exiting." in launcher.stderr


def test_systemd_notify_ready_reload_and_stop(tmp_path, backend, started) -> None:
    notify_path = str(tmp_path / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(20)
    port = free_port()
    env = {**haproxy_env(), "NOTIFY_SOCKET": notify_path}
    lb = started("-Ws", "-f", write(tmp_path, tcp_config(port, backend.port)), "-S", "/tmp/none.sock", env=env)

    def fields() -> list[str]:
        return notify.recv(512).decode().split("\n")

    ready = fields()
    assert ready[0] == "READY=1" and f"MAINPID={lb.pid}" in ready
    assert tag_of(port) == "s1"
    assert "the master CLI (-S /tmp/none.sock) is not supported by lb yet" in lb.text()
    lb.proc.send_signal(signal.SIGUSR2)  # HAProxy's master-worker reload signal
    assert fields()[0] == "RELOADING=1"
    assert fields()[0] == "READY=1"
    lb.wait_active(count=2)
    assert tag_of(port) == "s1"
    lb.proc.send_signal(signal.SIGTERM)
    assert fields()[0] == "STOPPING=1"
    assert lb.wait() == 0
    notify.close()


def test_directories_are_read_again_on_reload(tmp_path, backend, started) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    port, extra = free_port(), free_port()
    (conf / "10-main.cfg").write_text(tcp_config(port, backend.port))
    lb = started("-W", "-f", str(conf))
    lb.wait_active()
    (conf / "20-extra.cfg").write_text(f"frontend extra\n    bind 127.0.0.1:{extra}\n    default_backend be\n")
    lb.proc.send_signal(signal.SIGHUP)
    lb.wait_active(count=2)
    assert tag_of(extra) == "s1"


def test_inherited_listening_socket(tmp_path, backend, started) -> None:
    """`bind fd@<n>`: a socket the caller bound (varnishtest, systemd) is served as is."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    fd = listener.fileno()
    os.set_inheritable(fd, True)
    env = {**haproxy_env(), "PX_FD": str(fd)}
    lb = started("-db", "-f", write(tmp_path, tcp_config(port, backend.port, bind='"fd@${PX_FD}"')), env=env,
                 pass_fds=(fd,))  # fmt: skip
    listener.close()  # the parent's copy: only lb holds the socket now
    lb.wait_active()
    assert [tag_of(port) for _ in range(4)] == ["s1"] * 4


def listening_inodes(pid: int, port: int) -> set[int]:
    """Inodes of the sockets `pid` listens on at `port` (from /proc/net/tcp and /proc/<pid>/fd)."""
    wanted = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
                wanted.add(int(fields[9]))
    held = set()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if link.startswith("socket:["):
            held.add(int(link[8:-1]))
    return wanted & held


def test_sf_reload_under_load_fails_nothing(tmp_path, backend, started) -> None:
    """An init script's reload: a new process takes the listeners, then soft-stops the old one."""
    port = free_port()
    pidfile = tmp_path / "haproxy.pid"
    cfg = write(tmp_path, tcp_config(port, backend.port))
    old = started("-db", "-f", cfg, "-p", str(pidfile))
    old.wait_active()
    load = Load(port, clients=8)
    wait_until(lambda: load.ok > 50, what="load running")
    for _round in range(3):
        previous = int(pidfile.read_text())
        inodes = listening_inodes(previous, port)
        assert len(inodes) == 2  # one socket per worker slot (nbproc 2)
        new = started("-db", "-f", cfg, "-p", str(pidfile), "-sf", str(previous))
        new.wait_active()
        assert "binding alongside" not in new.text()  # the old sockets were taken, not doubled
        assert listening_inodes(new.pid, port) == inodes
        wait_until(lambda pid=new.pid: int(pidfile.read_text()) == pid, what="pidfile rewritten")
        before = load.ok
        wait_until(lambda before=before: load.ok > before + 50, what="load flowing on the new process")
        old.wait(timeout=30)  # SIGUSR1: the old one drained and left
        assert old.proc.returncode == 0
        old = new
    load.finish()
    assert load.failures == []
    assert load.ok > 300


def test_st_terminates_the_old_process(tmp_path, backend, started) -> None:
    port = free_port()
    cfg = write(tmp_path, tcp_config(port, backend.port))
    old = started("-db", "-f", cfg)
    old.wait_active()
    new = started("-db", "-f", cfg, "-st", str(old.pid))
    new.wait_active()
    assert old.wait(timeout=20) == -signal.SIGTERM  # standalone: dies by the signal
    assert tag_of(port) == "s1"


def test_inherited_stats_socket(tmp_path, backend, started) -> None:
    """varnishtest adds `stats socket fd@${cli}` to every configuration: the runtime API answers on it."""
    cli = socket.create_server(("127.0.0.1", 0))
    fd = cli.fileno()
    os.set_inheritable(fd, True)
    port = free_port()
    env = {**haproxy_env(), "CLI_FD": str(fd)}
    cfg = tcp_config(port, backend.port, extra_global='    stats socket "fd@${CLI_FD}" level admin')
    lb = started("-db", "-f", write(tmp_path, cfg), env=env, pass_fds=(fd,))
    address = cli.getsockname()
    cli.close()
    lb.wait_active()
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(b"show info\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert f"Pid: {lb.pid}".encode() in answer
