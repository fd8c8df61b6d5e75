"""`stats socket|timeout|maxconn` parsing, safe runtime files, the control socket protocol (master, cli; unit).

HAProxy's diagnostics for bad `stats` lines; lb.safefiles refusing
directories others can write and never writing through a symlink; the
control protocol's answers without a master process; the config diff lines
`lbctl reload` prints; the stats socket client against a small server.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

import lb.config
from lb import safefiles
from lb.config.diff import config_diff
from lb.controlsock import ControlProtocol, Reply
from lb.errors import LbError
from lb.stats.client import StatsSocketError, address_of, admin_socket_of, parse_csv, query, socket_of


def load(tmp_path: Path, global_lines: str, backend: str = "    server s1 127.0.0.1:9\n") -> lb.config.model.Config:
    path = tmp_path / "lb.cfg"
    path.write_text(f"global\n{global_lines}\ndefaults\n    timeout connect 1s\n    timeout client 1s\n"
                    f"    timeout server 1s\nfrontend f\n    bind 127.0.0.1:8000\n    default_backend b\n"
                    f"backend b\n{backend}")  # fmt: skip
    return lb.config.load([str(path)])


def test_stats_socket_forms(tmp_path: Path) -> None:
    config = load(tmp_path, f"    stats socket {tmp_path}/a.sock mode 660 level admin user root group root\n"
                            "    stats socket ipv4@127.0.0.1:9999 level user\n"
                            "    stats socket [::1]:9998\n    stats timeout 2m\n    stats maxconn 3")  # fmt: skip
    assert not config.alerts, [d.message for d in config.alerts]
    first, second, third = config.global_.stats_sockets
    assert (first.family, first.file, first.mode, first.level, first.uid, first.gid) == (
        "unix", f"{tmp_path}/a.sock", 0o660, "admin", 0, 0)
    assert (second.family, second.host, second.port, second.level) == ("ipv4", "127.0.0.1", 9999, "user")
    assert (third.family, third.host, third.port, third.level) == ("ipv6", "::1", 9998, "operator")
    assert (config.global_.stats_timeout, config.global_.stats_maxconn) == (120_000, 3)
    assert [address_of(s) for s in (first, second, third)] == [f"unix@{tmp_path}/a.sock", "ipv4@127.0.0.1:9999",
                                                              "ipv6@[::1]:9998"]  # fmt: skip
    assert admin_socket_of(config) == socket_of(config, "operator") == f"unix@{tmp_path}/a.sock"


@pytest.mark.parametrize("line, message", [
    ("stats socket", "'stats socket' in global section expects an address or a path to a UNIX socket"),
    ("stats socket /x.sock level foo",
     "'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got 'foo')'"),
    ("stats socket /x.sock mode 999",
     "'stats socket' : ''mode' : missing or invalid mode '999' (octal integer expected)'"),
    ("stats socket /x.sock user nosuchuser", "'stats socket' : ''user' : unknown user name 'nosuchuser''"),
    ("stats socket /x.sock group nosuchgrp", "'stats socket' : ''group' : unknown group name 'nosuchgrp''"),
    ("stats socket /x.sock bogus", "'stats socket' : unknown keyword 'bogus'."),
    ("stats socket ipv4@127.0.0.1:abc",
     "'stats socket' : invalid character 'a' in port number 'abc' in 'ipv4@127.0.0.1:abc'"),
    ("stats maxconn 0", "'stats maxconn' expects a positive value"),
    ("stats foo", "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got 'foo')"),
])  # fmt: skip
def test_stats_errors_as_haproxy(tmp_path: Path, line: str, message: str) -> None:
    config = load(tmp_path, f"    {line}")
    assert [d.message for d in config.alerts][:1] == [message]


def test_private_runtime_directory(tmp_path: Path) -> None:
    path = str(tmp_path / "run")
    assert safefiles.ensure_private_dir(path) == path
    assert oct(os.stat(path).st_mode & 0o777) == "0o700"
    os.chmod(path, 0o770)
    with pytest.raises(LbError, match="other users may write"):
        safefiles.ensure_private_dir(path)
    os.symlink(tmp_path, tmp_path / "link")
    with pytest.raises(LbError, match="not a directory"):
        safefiles.ensure_private_dir(str(tmp_path / "link"))


def test_files_in_world_writable_directories_are_refused(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o1777)
    with pytest.raises(LbError, match="writable by other users"):
        safefiles.check_directory(str(tmp_path / "lb.pid"), "pidfile")
    os.chmod(tmp_path, 0o755)
    safefiles.check_directory(str(tmp_path / "lb.pid"), "pidfile")


@pytest.mark.parametrize("length", [60, safefiles.SUN_PATH_MAX])
def test_a_socket_path_up_to_the_unix_limit_binds(length: int) -> None:
    """The temporary name bound before the rename must fit too (a suffix of 20 bytes
    once refused every path past 87 bytes with 'AF_UNIX path too long')."""
    import tempfile

    from lb.sockserver import Spec, open_unix

    with tempfile.TemporaryDirectory(dir="/tmp") as directory:  # 0700, and short
        os.chmod(directory, 0o700)
        path = os.path.join(directory, "s" * (length - len(directory) - 1))
        assert len(path) == length
        sock, _inode = open_unix(Spec(key=("unix", path), family="unix", path=path))
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(path)
            assert os.listdir(directory) == [os.path.basename(path)]  # no temporary left
        finally:
            sock.close()


def test_exclusive_creation_never_follows_a_name(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "planted").symlink_to(victim)
    with pytest.raises(LbError, match="cannot create"):
        safefiles.create_exclusive(str(tmp_path / "planted"))
    (tmp_path / "target").symlink_to(victim)
    safefiles.write_atomically(str(tmp_path / "target"), b"123\n")
    assert victim.read_text() == "precious" and (tmp_path / "target").read_text() == "123\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planted", "target", "victim"]  # no temporary left


class FakeMaster:
    pid = 4242

    def __init__(self) -> None:
        self.reloads: list[Reply] = []
        self.stops: list[bool] = []

    def describe(self) -> dict:
        return {"ok": True, "pid": self.pid}

    def request_stop(self, now: bool) -> None:
        self.stops.append(now)

    def request_reload(self, reply: Reply) -> None:
        self.reloads.append(reply)

    def run_cli(self, line: str) -> str:
        return f"ran {line}\n"


def test_control_protocol() -> None:
    master = FakeMaster()
    for request, answer in ((b'{"cmd": "hello"}\n', b'{"ok": true, "pid": 4242}\n'),
                            (b'{"cmd": "stop", "now": true}\n', b'{"ok": true, "pid": 4242}\n'),
                            (b'{"cmd": "cli", "line": "show info"}\n', b'{"ok": true, "output": "ran show info\\n"}\n'),
                            (b"garbage\n", b'{"ok": false, "errors": ["malformed request"]}\n')):  # fmt: skip
        protocol = ControlProtocol(master)
        protocol.feed(request)
        assert protocol.run() == answer and protocol.closing
    assert master.stops == [True]
    protocol = ControlProtocol(master)
    protocol.feed(b'{"cmd": "reload"}\n')
    assert protocol.run() == b"" and protocol.waiting() and not protocol.closing
    master.reloads[0].answer = {"ok": True, "generation": 2}
    assert protocol.run() == b'{"ok": true, "generation": 2}\n' and protocol.closing


def test_config_diff(tmp_path: Path) -> None:
    old = load(tmp_path, "", "    server s1 127.0.0.1:9\n    server s2 127.0.0.1:10 check\n")
    new = load(tmp_path, "", "    server s1 127.0.0.1:9 weight 3 backup\n    server s3 127.0.0.1:11\n")
    assert config_diff(old, new) == [
        "+ server b/s3", "- server b/s2", "~ server b/s1: 127.0.0.1:9 -> 127.0.0.1:9 weight 3 backup"]


def test_client_query_and_errors(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        assert conn.recv(100) == b"show stat\n"
        conn.sendall(b"# pxname,svname,status,-,x,\nbe,s1,UP,-,\"a,b\",\n\n")
        conn.close()

    thread = threading.Thread(target=answer)
    thread.start()
    text = query(f"unix@{path}", "show stat")
    thread.join()
    assert parse_csv(text) == [{"pxname": "be", "svname": "s1", "status": "UP", "x": "a,b"}]
    with pytest.raises(StatsSocketError, match="cannot connect to stats socket unix@/nonexistent.sock"):
        query("unix@/nonexistent.sock", "show info")
    server.close()
