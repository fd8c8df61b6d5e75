"""pidfile, lb.util process helpers, lb.control's pidfile and generation lookups (master, cli)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

import pytest

import lb.control
import lb.errors
from lb import pidfile
from lb.control import default_pidfile, verify_master
from lb.util import peer_address, pid_alive


@pytest.fixture
def zombie() -> Iterator[int]:
    """A child that has exited but is not reaped yet."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    deadline = time.monotonic() + 10
    try:
        while _state(pid) != "Z":
            assert time.monotonic() < deadline, "child never became a zombie"
            time.sleep(0.005)
        yield pid
    finally:
        os.waitpid(pid, 0)


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def dead_pid() -> int:
    """The pid of a child that has exited and been reaped."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_pid_alive_for_this_process() -> None:
    assert pid_alive(os.getpid())


def test_pid_alive_treats_a_zombie_as_gone(zombie: int) -> None:
    assert not pid_alive(zombie)


def test_pid_alive_for_a_reaped_child(dead_pid: int) -> None:
    assert not pid_alive(dead_pid)


def test_pid_alive_for_another_users_process() -> None:
    assert pid_alive(1)  # init: kill(1, 0) succeeds as root, EPERM otherwise; either way alive


@pytest.mark.parametrize("sockaddr, expected", [
    (("127.0.0.1", 80), ("127.0.0.1", 80)),
    (("::1", 443, 0, 0), ("::1", 443)),
    (("::ffff:10.1.2.3", 5000, 0, 0), ("10.1.2.3", 5000)),
    (("::ffff:127.0.0.1", 1, 0, 0), ("127.0.0.1", 1)),
    (("2001:db8::ffff:1", 9, 0, 0), ("2001:db8::ffff:1", 9)),
    (("fe80::1%lo", 7, 0, 1), ("fe80::1%lo", 7)),
])  # fmt: skip
def test_peer_address(sockaddr: tuple, expected: tuple[str, int]) -> None:
    assert peer_address(sockaddr) == expected


# -- pidfile -------------------------------------------------------------------------


def test_pidfile_write_read_remove(tmp_path: Path) -> None:
    path = str(tmp_path / "lb.pid")
    pidfile.write(path, os.getpid())
    assert Path(path).read_text() == f"{os.getpid()}\n"
    assert list(tmp_path.iterdir()) == [Path(path)]  # the temporary file was renamed, not left behind
    assert pidfile.read(path) == os.getpid()
    pidfile.remove(path, os.getpid())
    assert not Path(path).exists()


def test_pidfile_read_none_for_missing_empty_garbage(tmp_path: Path) -> None:
    path = tmp_path / "lb.pid"
    assert pidfile.read(str(path)) is None
    for text in ("", "\n", "abc\n", "-5\n", "0\n"):
        path.write_text(text)
        assert pidfile.read(str(path)) is None, text


def test_pidfile_read_none_when_process_gone(tmp_path: Path, dead_pid: int) -> None:
    path = str(tmp_path / "lb.pid")
    pidfile.write(path, dead_pid)
    assert pidfile.read(path) is None


def test_pidfile_read_none_for_zombie(tmp_path: Path, zombie: int) -> None:
    path = str(tmp_path / "lb.pid")
    pidfile.write(path, zombie)
    assert pidfile.read(path) is None


def test_pidfile_remove_leaves_a_newer_masters_file(tmp_path: Path) -> None:
    path = str(tmp_path / "lb.pid")
    pidfile.write(path, 12345)
    pidfile.remove(path, 999)
    assert Path(path).read_text() == "12345\n"
    pidfile.remove(str(tmp_path / "missing.pid"), 1)  # no error


# -- lb.control ------------------------------------------------------------------------


def test_default_pidfile_derives_from_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    relative = default_pidfile(["lb.cfg"])
    assert relative == default_pidfile([str(tmp_path / "lb.cfg")])
    directory, name = os.path.split(relative)
    assert directory == str(tmp_path / "run" / "lb")  # the private runtime directory, not /tmp
    prefix, digest = name[: -len(".pid")].rsplit("-", 1)
    assert prefix == "lb" and name.endswith(".pid")
    assert len(digest) == 10 and int(digest, 16) >= 0
    assert default_pidfile(["other.cfg"]) != relative
    assert default_pidfile(["a.cfg", "b.cfg"]) != default_pidfile(["b.cfg", "a.cfg"])


def _fake_title(monkeypatch: pytest.MonkeyPatch, title: str) -> None:
    monkeypatch.setattr(lb.control, "process_title", lambda pid: title)


@pytest.mark.parametrize("title", ["sleep 1000", "", "python -m lb start", "lb: worker 1/2 gen 1"])
def test_verify_master_refuses_other_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, title: str) -> None:
    path = tmp_path / "lb.pid"
    path.write_text("4242\n")
    _fake_title(monkeypatch, title)
    with pytest.raises(lb.errors.NotRunning, match="not an lb master"):
        verify_master(4242, str(path))


def test_verify_master_refuses_a_pid_younger_than_its_pidfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lb.pid"
    path.write_text("4242\n")
    os.utime(path, (1000.0, 1000.0))
    _fake_title(monkeypatch, "lb: master gen 3")
    monkeypatch.setattr(lb.control, "process_start_time", lambda pid: 5000.0)  # started after the file
    with pytest.raises(lb.errors.NotRunning, match="reused"):
        verify_master(4242, str(path))
    monkeypatch.setattr(lb.control, "process_start_time", lambda pid: 900.0)
    verify_master(4242, str(path))  # started before it wrote the file: this is the master


def test_process_start_time_of_this_process_and_a_missing_one(dead_pid: int) -> None:
    started = lb.control.process_start_time(os.getpid())
    assert started is not None and abs(started - time.time()) < 3600
    assert lb.control.process_start_time(dead_pid) is None
