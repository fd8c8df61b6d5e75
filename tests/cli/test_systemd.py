"""systemd integration: etc/lb.service and the master's sd_notify messages.

The unit is checked by `systemd-analyze verify` (Debian package `systemd`)
with the lbctl path pointed at an executable that exists here.  The
readiness protocol is checked against a real `lbctl start --foreground` with
a real unix datagram socket as $NOTIFY_SOCKET, the way systemd runs it.
"""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from lb.sdnotify import ReadinessNotifier, notify, readiness_state
from tests.support import REPO, LbProcess, TagServer, free_port, tag_of

UNIT = REPO / "etc" / "lb.service"


def read_unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_declares_notify_validating_reload_and_mixed_kill() -> None:
    service = read_unit()["Service"]
    assert service["Type"] == "notify"
    assert service["ExecStart"].split()[1:3] == ["start", "--foreground"]
    assert service["ExecReload"].split()[1] == "reload"  # lbctl reload validates before signalling
    assert service["KillMode"] == "mixed"


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    lbctl = tmp_path / "lbctl"
    lbctl.write_text("#!/bin/sh\nexit 0\n")
    lbctl.chmod(0o755)
    unit = tmp_path / "lb.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/lbctl", str(lbctl)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_systemd_analyze_catches_a_bad_unit(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key is reported."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    unit = tmp_path / "lb.service"
    text = UNIT.read_text().replace("KillMode=mixed", "KilMode=mixed")
    unit.write_text(text.replace("/usr/local/bin/lbctl", "/bin/true"))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "Unknown key 'KilMode'" in result.stderr


# -- sd_notify ---------------------------------------------------------------------------


class Gen:
    def __init__(self, number: int, state: str) -> None:
        self.number, self.state = number, state


def test_readiness_state_follows_the_generations() -> None:
    assert readiness_state([Gen(1, "starting")], False) is None
    assert readiness_state([Gen(1, "active")], False) == "ready"
    assert readiness_state([Gen(1, "active"), Gen(2, "starting")], False) == "reloading"
    assert readiness_state([Gen(1, "stopping"), Gen(2, "active")], False) == "ready"
    assert readiness_state([Gen(1, "active")], True) == "stopping"


def datagram_socket(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    return sock


def test_notify_sends_one_datagram_to_a_path_or_an_abstract_name(tmp_path: Path) -> None:
    with datagram_socket(str(tmp_path / "notify")) as sock:
        assert notify(["READY=1", "STATUS=x"], {"NOTIFY_SOCKET": str(tmp_path / "notify")})
        assert sock.recv(4096) == b"READY=1\nSTATUS=x"
    name = f"lb-test-{os.getpid()}"
    with datagram_socket("\0" + name) as sock:
        assert notify(["READY=1"], {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"READY=1"


def test_notify_without_a_socket_does_nothing_and_never_raises(tmp_path: Path) -> None:
    assert notify(["READY=1"], {}) is False
    assert notify(["READY=1"], {"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False
    assert notify(["READY=1"], {"NOTIFY_SOCKET": "vsock:2:1234"}) is False


def test_notifier_sends_each_change_once(tmp_path: Path) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "n")}
    with datagram_socket(env["NOTIFY_SOCKET"]) as sock:
        sock.settimeout(0.5)
        notifier = ReadinessNotifier(env)
        for gens in ([Gen(1, "starting")], [Gen(1, "active")], [Gen(1, "active")]):
            notifier.update(gens, False)
        assert sock.recv(4096).split(b"\n")[:2] == [b"READY=1", b"STATUS=generation 1 active"]
        with pytest.raises(socket.timeout):
            sock.recv(4096)


def messages(sock: socket.socket) -> dict[str, str]:
    return dict(line.split("=", 1) for line in sock.recv(4096).decode().split("\n"))


TCP_CONFIG = """\
global
    nbproc 2
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server one 127.0.0.1:{backend}
"""


def test_master_tells_notify_socket_ready_reloading_stopping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = TagServer("one")
    port = free_port()
    notify_path = str(tmp_path / "notify")
    sock = datagram_socket(notify_path)
    monkeypatch.setenv("NOTIFY_SOCKET", notify_path)
    lb = LbProcess(tmp_path, TCP_CONFIG.format(port=port, backend=backend.port))
    try:
        lb.start(wait=False)
        ready = messages(sock)
        # READY=1 comes once the listeners serve: a connection is relayed at once.
        assert (ready["READY"], ready["STATUS"], ready["MAINPID"]) == ("1", "generation 1 active", str(lb.pid))
        assert tag_of(port) == "one"
        os.kill(lb.pid, signal.SIGHUP)
        reloading = messages(sock)
        assert reloading["RELOADING"] == "1"
        assert 0 < int(reloading["MONOTONIC_USEC"]) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert messages(sock)["STATUS"] == "generation 2 active"
        assert lb.generation() == 2
        os.kill(lb.pid, signal.SIGTERM)
        assert messages(sock)["STOPPING"] == "1"
        assert lb.proc is not None and lb.proc.wait(15) == 0
    finally:
        lb.stop()
        sock.close()
        backend.close()
