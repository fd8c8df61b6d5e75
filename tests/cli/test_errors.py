"""Every lbctl verb, tried as a new user would: errors, not tracebacks (real lbctl processes).

Each case runs `python -m lb ...` and checks the exit status documented in
the command's --help (and README), that the last stderr line (the first for
most) is `Error: ...`, and that no traceback is printed.  Permission cases
run lbctl without the capabilities that let root read anything
(`setpriv --bounding-set=-dac_override,-dac_read_search`), so they hold as
root too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, free_port

GOOD = """\
global
    nbproc 1
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind {bind}
    default_backend be
backend be
    server s 127.0.0.1:9
"""


def lbctl(*args: str, unprivileged: bool = False, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lb", *args]
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to test permission errors as root")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-net_bind_service", "--", *command]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)  # fmt: skip


def assert_error(result: subprocess.CompletedProcess[str], status: int, *words: str, first: bool = True) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    line = lines[0] if first else next(line for line in lines if line.startswith("Error: "))
    assert line.startswith("Error: "), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def unreadable(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text("x\n")
    path.chmod(0)
    return path


# -- lbctl logs (the README's own example printed a traceback) ------------------------------


def test_logs_missing_file() -> None:
    assert_error(lbctl("logs", "--file", "/nonexistent.log", "--summary"), 1, "No such file or directory")


def test_logs_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert_error(lbctl("logs", "-f", str(tmp_path)), 1, "Is a directory")


def test_logs_permission_denied(unreadable: Path) -> None:
    assert_error(lbctl("logs", "-f", str(unreadable), unprivileged=True), 4, "Permission denied")


@pytest.mark.parametrize("address", ["nowhere", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:port", "localhost:5514",
                                     "[::1:5514", ":0"])  # fmt: skip
def test_logs_bad_listen_address(address: str) -> None:
    assert_error(lbctl("logs", "--listen", address), 2, "--listen")


def test_logs_listen_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        assert_error(lbctl("logs", "--listen", f"127.0.0.1:{port}"), 1, "Address already in use")


def test_logs_listen_on_an_address_not_here() -> None:
    assert_error(lbctl("logs", "--listen", "192.0.2.1:5514"), 1, "Cannot assign requested address")


def test_logs_listen_on_a_privileged_port_without_the_right() -> None:
    assert_error(lbctl("logs", "--listen", "127.0.0.1:514", unprivileged=True), 4, "Permission denied")


@pytest.mark.parametrize(("args", "option"), [
    (["--status", "7xx"], "--status"), (["--slower-than", "fast"], "--slower-than"),
    (["--log-format", "%[unclosed"], "--log-format"), (["--log-format", "%nosuchvar"], "--log-format"),
    (["--max-lines", "-1"], "--max-lines"), (["-F"], "--follow"),
    (["--file", "x", "--listen", "127.0.0.1:1"], "--listen"),
])  # fmt: skip
def test_logs_bad_option_values(args: list[str], option: str) -> None:
    assert_error(lbctl("logs", *args), 2, option)


# -- lbctl check, start, stop, reload ------------------------------------------------------


def test_check_reports_unreadable_files_as_haproxy_does(tmp_path: Path, unreadable: Path) -> None:
    """check speaks HAProxy's language (alerts, exit 1), as `haproxy -c` does."""
    result = lbctl("check", "-f", str(tmp_path / "missing.cfg"), "-f", str(unreadable), unprivileged=True)
    assert (result.returncode, "Traceback" in result.stderr) == (1, False)
    missing = f"Cannot open configuration file/directory {tmp_path}/missing.cfg : No such file or directory"
    assert missing in result.stderr
    assert f"Could not open configuration file {unreadable} : Permission denied" in result.stderr


@pytest.mark.parametrize("verb", ["start", "reload"])
def test_start_and_reload_with_a_missing_configuration(verb: str, tmp_path: Path) -> None:
    result = lbctl(verb, "-f", str(tmp_path / "missing.cfg"))
    assert_error(result, 6, "Cannot open configuration file/directory", first=False)
    assert result.stderr.splitlines()[-1].startswith("Error: ")


def test_stop_without_a_master(tmp_path: Path) -> None:
    (tmp_path / "lb.cfg").write_text(GOOD.format(bind=f"127.0.0.1:{free_port()}"))
    assert_error(lbctl("stop", "-f", str(tmp_path / "lb.cfg")), 7, "no running master")


def test_start_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "lb.cfg").write_text(GOOD.format(bind=f"127.0.0.1:{port}"))
        result = lbctl("start", "--foreground", "-f", str(tmp_path / "lb.cfg"))
    assert_error(result, 1, f"cannot bind socket (Address already in use) [127.0.0.1:{port}]")


def test_start_on_an_address_not_here(tmp_path: Path) -> None:
    (tmp_path / "lb.cfg").write_text(GOOD.format(bind="192.0.2.1:18080"))
    assert_error(lbctl("start", "--foreground", "-f", str(tmp_path / "lb.cfg")), 1, "Cannot assign requested address")


def test_start_with_a_pidfile_in_a_missing_directory(tmp_path: Path) -> None:
    config = GOOD.format(bind=f"127.0.0.1:{free_port()}")
    config = config.replace("nbproc 1", f"nbproc 1\n    pidfile {tmp_path}/no/lb.pid")
    (tmp_path / "lb.cfg").write_text(config)
    result = lbctl("start", "--foreground", "-f", str(tmp_path / "lb.cfg"), "--log-format", "json")
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors and "No such file or directory" in errors[0], result.stderr


@pytest.mark.parametrize(("args", "option"), [
    (["start", "-f", "x.cfg", "--log-format", "xml"], "--log-format"),
    (["stop", "-f", "x.cfg", "--timeout", "soon"], "--timeout"),
    (["stop", "-f", "x.cfg", "--timeout", "-1"], "--timeout"),
    (["reload", "-f", "x.cfg", "--timeout", "-5"], "--timeout"), (["start"], "-f"), (["check"], "-f"),
    (["demo", "--interval", "0"], "--interval"), (["demo", "--duration", "-1"], "--duration"),
    (["check", "-f", "x.cfg", "--bogus"], "--bogus"), (["nosuchverb"], "nosuchverb"),
])  # fmt: skip
def test_usage_errors_exit_2_with_a_hint(args: list[str], option: str) -> None:
    result = lbctl(*args)
    assert_error(result, 2, option)
    assert result.stderr.splitlines()[-1].startswith("Try 'lbctl")


# -- lbctl top --------------------------------------------------------------------------------


def test_top_without_a_socket(tmp_path: Path) -> None:
    assert_error(lbctl("top", "--socket", str(tmp_path / "admin.sock")), 7, "cannot connect", "No such file")


def test_top_on_a_socket_nobody_listens_on(tmp_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(tmp_path / "admin.sock"))
    stale.close()  # the file stays, as after a crash
    assert_error(lbctl("top", "--socket", str(tmp_path / "admin.sock")), 7, "Connection refused")


def test_top_on_a_socket_without_permission(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "admin.sock"))
        server.listen()
        os.chmod(tmp_path / "admin.sock", 0)  # not even its owner may connect
        if os.geteuid() != 0:
            pytest.skip("needs a socket owned by another user")
        assert_error(lbctl("top", "--socket", str(tmp_path / "admin.sock"), unprivileged=True), 4, "Permission denied")


def test_top_on_something_that_is_not_a_stats_socket(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "lb", "top", "--socket", f"ipv4@127.0.0.1:{port}"], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        conn, _ = server.accept()
        conn.recv(100)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and err.startswith("Error: ") and "did not answer 'show stat'" in err, err


def test_top_config_problems(tmp_path: Path) -> None:
    (tmp_path / "lb.cfg").write_text(GOOD.format(bind="127.0.0.1:18080"))
    assert_error(lbctl("top", "-f", str(tmp_path / "lb.cfg")), 1, "no 'stats socket'")
    assert_error(lbctl("top", "-f", str(tmp_path / "missing.cfg")), 6, "configuration has errors")
    assert_error(lbctl("top", "-f", str(tmp_path / "lb.cfg"), "--socket", "/x"), 2, "either")
    assert_error(lbctl("top", "--socket", "ipv4@127.0.0.1"), 2, "--socket")


# -- --help documents every status -------------------------------------------------------------


@pytest.mark.parametrize("verb", ["check", "start", "stop", "reload", "logs", "demo", "top"])
def test_help_lists_the_exit_statuses(verb: str) -> None:
    result = lbctl(verb, "--help")
    assert result.returncode == 0
    text = result.stdout
    assert "Exit status:" in text and "  0   success" in text and "  2   " in text
