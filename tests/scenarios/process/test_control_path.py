"""lbctl stop/reload go through the master's control socket and never signal a stranger.

Proves the defects of issue 10 are gone: a stale pidfile naming a pid the
kernel gave to another program (`sleep`) makes `lbctl stop` refuse, not
kill; the default pidfile lives in lb's private runtime directory and is
removed on every way out, reloads included; pidfiles and sockets in a
directory other users can write are refused; `lbctl reload` reports the
outcome the master saw: the new generation and what it changes, or the
errors that kept the running one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lb.controlsock import config_digest
from tests.support import REPO, LbProcess, free_port, lbctl, tag_of


def config(port: int, servers: str, extra_global: str = "") -> str:
    return f"""
global
    nbproc 2
{extra_global}
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
{servers}
"""


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG_RUNTIME_DIR for lbctl and the masters it starts."""
    base = tmp_path / "xdg"
    base.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(base))
    return base / "lb"


def run_lbctl(*args: str) -> subprocess.CompletedProcess[str]:
    """lbctl with this process's environment (lbctl() from tests.support inherits it too)."""
    return lbctl(*args)


def test_start_reload_with_diff_and_errors_then_stop(tmp_path: Path, runtime_dir: Path, tag_servers) -> None:
    s1, s2 = tag_servers("s1", "s2")
    port = free_port()
    path = tmp_path / "lb.cfg"
    path.write_text(config(port, f"    server s1 127.0.0.1:{s1.port}"))
    started = run_lbctl("start", "-f", str(path))
    assert started.returncode == 0, started.stderr
    digest = config_digest([str(path)])
    pid_path, sock_path = runtime_dir / f"lb-{digest}.pid", runtime_dir / f"lb-{digest}.sock"
    try:
        assert oct(runtime_dir.stat().st_mode & 0o777) == "0o700"
        pid = int(pid_path.read_text())
        assert sock_path.exists() and tag_of(port) == "s1"
        path.write_text(config(port, f"    server s1 127.0.0.1:{s1.port} weight 5\n    server s2 127.0.0.1:{s2.port}"))
        reloaded = run_lbctl("reload", "-f", str(path))
        assert reloaded.returncode == 0, reloaded.stderr
        assert reloaded.stdout.splitlines() == [
            "+ server be/s2",
            f"~ server be/s1: 127.0.0.1:{s1.port} -> 127.0.0.1:{s1.port} weight 5",
            "lb reloaded: generation 2 active (was 1)",
        ]
        path.write_text(config(port, f"    server s1 127.0.0.1:{s1.port}", f"    stats socket {tmp_path}/admin.sock")
                        .replace("default_backend be", "default_backend be\n    timeout tunnel 1s"))  # fmt: skip
        os.chmod(tmp_path, 0o777)  # the new stats socket's directory becomes writable by anyone
        refused = run_lbctl("reload", "-f", str(path))
        os.chmod(tmp_path, 0o700)
        assert refused.returncode == 6
        assert "writable by other users" in refused.stderr
        assert refused.stderr.endswith("Error: reload failed; generation 2 keeps running.\n")
    finally:
        stopped = run_lbctl("stop", "-f", str(path), "--timeout", "20")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f"lb stopped (master pid {pid})\n"
    assert not pid_path.exists() and not sock_path.exists()
    assert run_lbctl("stop", "-f", str(path)).returncode == 7


def test_stale_pidfile_and_pid_reuse_kill_nothing(tmp_path: Path, runtime_dir: Path) -> None:
    """The issue's defect: a pidfile left behind names a pid now used by `sleep`."""
    path = tmp_path / "lb.cfg"
    pid_path = tmp_path / "lb.pid"
    path.write_text(config(free_port(), "    server s1 127.0.0.1:9", f"    pidfile {pid_path}"))
    sleeper = subprocess.Popen(["sleep", "1000"])
    try:
        pid_path.write_text(f"{sleeper.pid}\n")
        for verb in (("stop",), ("stop", "--now"), ("reload",)):
            result = run_lbctl(*verb, "-f", str(path))
            assert result.returncode == 7, (verb, result.stderr)
            assert "not an lb master" in result.stderr and "not signalling it" in result.stderr
        assert sleeper.poll() is None  # alive: nothing was signalled
    finally:
        sleeper.kill()
        sleeper.wait()


def test_pidfile_removed_when_a_reloaded_master_stops(tmp_path: Path, runtime_dir: Path, tag_servers) -> None:
    """A reloaded config has no pidfile of its own: the master must remember the default one."""
    (s1,) = tag_servers("s1")
    path = tmp_path / "lb.cfg"
    path.write_text(config(free_port(), f"    server s1 127.0.0.1:{s1.port}"))
    lb = LbProcess(tmp_path, path.read_text()).start(extra=[])
    pid_path = runtime_dir / f"lb-{config_digest([str(lb.path)])}.pid"
    assert pid_path.read_text() == f"{lb.pid}\n"
    lb.reload()
    assert lb.stop(signal.SIGTERM) == 0
    assert not pid_path.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGQUIT])
def test_pidfile_and_sockets_removed_on_every_stop_signal(tmp_path: Path, runtime_dir: Path, tag_servers,
                                                          sig: int) -> None:  # fmt: skip
    (s1,) = tag_servers("s1")
    pid_path = tmp_path / "lb.pid"
    extra = f"    pidfile {pid_path}\n    stats socket {tmp_path}/admin.sock"
    lb = LbProcess(tmp_path, config(free_port(), f"    server s1 127.0.0.1:{s1.port}", extra)).start()
    assert pid_path.exists() and (tmp_path / "admin.sock").exists()
    assert lb.stop(sig) == 0
    assert not pid_path.exists() and not (tmp_path / "admin.sock").exists()
    assert not list(runtime_dir.glob("*.sock"))


def test_startup_failure_leaves_no_pidfile(tmp_path: Path, runtime_dir: Path) -> None:
    pid_path = tmp_path / "lb.pid"
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    path = tmp_path / "lb.cfg"
    path.write_text(config(free_port(), "    server s1 127.0.0.1:9",
                           f"    pidfile {pid_path}\n    stats socket {shared}/admin.sock"))  # fmt: skip
    result = run_lbctl("start", "-f", str(path))
    assert result.returncode == 1
    assert f"refusing socket {shared}/admin.sock: its directory {shared} is writable by other users" in result.stderr
    assert not pid_path.exists() and not list(shared.iterdir())


def test_pidfile_in_a_world_writable_directory_is_refused(tmp_path: Path, runtime_dir: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    path = tmp_path / "lb.cfg"
    path.write_text(config(free_port(), "    server s1 127.0.0.1:9", f"    pidfile {shared}/lb.pid"))
    result = run_lbctl("start", "-f", str(path))
    assert result.returncode == 1
    assert f"refusing pidfile {shared}/lb.pid: its directory {shared} is writable by other users" in result.stderr
    assert not list(shared.iterdir())


def test_a_symlink_at_the_pidfile_path_is_replaced_not_followed(tmp_path: Path, runtime_dir: Path, tag_servers) -> None:
    (s1,) = tag_servers("s1")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    pid_path = tmp_path / "lb.pid"
    pid_path.symlink_to(victim)
    lb = LbProcess(tmp_path, config(free_port(), f"    server s1 127.0.0.1:{s1.port}", f"    pidfile {pid_path}"))
    lb.start()
    assert victim.read_text() == "precious\n"
    assert not pid_path.is_symlink() and pid_path.read_text() == f"{lb.pid}\n"
    lb.stop()


def test_an_unsafe_runtime_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "xdg"
    base.mkdir(mode=0o700)
    (base / "lb").mkdir(mode=0o700)
    os.chmod(base / "lb", 0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(base))
    path = tmp_path / "lb.cfg"
    path.write_text(config(free_port(), "    server s1 127.0.0.1:9"))
    result = subprocess.run([sys.executable, "-m", "lb", "start", "-f", str(path)], capture_output=True, text=True,
                            timeout=60, cwd=REPO)  # fmt: skip
    assert result.returncode != 0
    assert f"refusing runtime directory {base}/lb: other users may write to it" in result.stderr
