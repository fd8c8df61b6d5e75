"""`lb-haproxy -c` and `-cc` as tools call them: exit codes and HAProxy's lines (real processes)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.haproxy_cli.helpers import run_cli

BAD = """\
defaults
    mode http
    timeout client 5s
    timeout connect 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:8080
    baalnce roundrobin
    default_backend be
backend be
    timeout server 5x
    server s1 127.0.0.1:8000
"""
GOOD = BAD.replace("    baalnce roundrobin\n", "").replace("5x", "5s")


def alerts(stderr: str) -> list[str]:
    """ALERT lines without the pid (which differs between runs)."""
    return [re.sub(r"^\[ALERT\] +\(\d+\) : ", "", line) for line in stderr.splitlines() if line.startswith("[ALERT]")]


def test_ansible_validate_bad_config_exits_1_with_haproxys_alerts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cfg"
    bad.write_text(BAD)
    result = run_cli("-c", "-f", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert alerts(result.stderr) == [
        f"config : parsing [{bad}:8] : unknown keyword 'baalnce' in 'frontend' section; did you mean 'balance' maybe ?",
        f"config : parsing [{bad}:11] : unexpected character 'x' in 'timeout server'",
        f"config : Error(s) found in configuration file : {bad}",
        "config : Fatal errors found in configuration.",
    ]
    assert "haproxy version is 2.6.12-lb-" in result.stderr.splitlines()[0]


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="Debian's haproxy is not installed (.ci/run installs it)")
def test_alert_lines_are_haproxys_own(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cfg"
    bad.write_text(BAD)
    ours = run_cli("-c", "-f", "bad.cfg", cwd=tmp_path)
    theirs = subprocess.run(["haproxy", "-c", "-f", "bad.cfg"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=30)  # fmt: skip
    assert (ours.returncode, alerts(ours.stderr)) == (theirs.returncode, alerts(theirs.stderr))


def test_valid_config_and_quiet_mode(tmp_path: Path) -> None:
    good = tmp_path / "good.cfg"
    good.write_text(GOOD)
    result = run_cli("-c", "-f", str(good))
    assert (result.returncode, result.stdout) == (0, "Configuration file is valid\n")
    quiet = run_cli("-c", "-q", "-f", str(good))
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_no_listener_exits_2_and_a_directory_is_read_in_order(tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    (conf / "20-backend.cfg").write_text("backend be\n    server s1 127.0.0.1:8000\n")
    (conf / "10-defaults.cfg").write_text("defaults\n    mode http\n    timeout client 5s\n    timeout connect 5s\n"
                                          "    timeout server 5s\n")  # fmt: skip
    result = run_cli("-c", "-f", str(conf))
    assert result.returncode == 2
    assert "Configuration file has no error but will not start (no listener) => exit(2)." in result.stdout
    (conf / "30-frontend.cfg").write_text("frontend fe\n    bind 127.0.0.1:8080\n    default_backend be\n")
    assert run_cli("-c", "-f", str(conf)).returncode == 0


def test_missing_file_and_unknown_flag(tmp_path: Path) -> None:
    missing = run_cli("-c", "-f", str(tmp_path / "nope.cfg"))
    assert missing.returncode == 1
    assert alerts(missing.stderr) == [f"config : Cannot open configuration file/directory {tmp_path / 'nope.cfg'} : "
                                      "No such file or directory"]  # fmt: skip
    unknown = run_cli("-Z", "-f", "x.cfg")
    assert unknown.returncode == 1
    assert unknown.stdout.startswith("HAProxy version ")
    assert "Usage : lb-haproxy [-f <cfgfile|cfgdir>]*" in unknown.stderr


def test_zero_warning_flag_makes_warnings_fatal(tmp_path: Path) -> None:
    warned = tmp_path / "w.cfg"
    warned.write_text("frontend fe\n    bind 127.0.0.1:8080\n")  # missing timeouts: a warning
    assert run_cli("-c", "-f", str(warned)).returncode == 0
    result = run_cli("-c", "-dW", "-f", str(warned))
    assert result.returncode == 1
    assert "Some warnings were found and 'zero-warning' is set. Aborting." in result.stderr


@pytest.mark.parametrize("condition, status", [
    ("version_atleast(2.4)", 0), ("version_before(2.6)", 1), ("feature(OPENSSL)", 0), ("feature(LUA)", 1),
    ("defined(HAPROXY_LOCALPEER)", 1),  # -cc runs before the environment is prepared, as in HAProxy
    ("bad(", 2),
])  # fmt: skip
def test_check_condition_exit_codes(condition: str, status: int) -> None:
    result = run_cli("-cc", condition)
    assert result.returncode == status, result.stderr
    if status == 2:
        assert "Failed to evaluate condition: unparsable conditional expression 'bad('" in result.stderr


def test_version_flags() -> None:
    short = run_cli("-v")
    assert short.returncode == 0 and short.stdout.startswith("HAProxy version 2.6.12-lb-")
    verbose = run_cli("-vv")
    assert "Feature list : " in verbose.stdout and "+OPENSSL" in verbose.stdout


def test_tuning_lines_are_accepted_with_a_notice(tmp_path: Path) -> None:
    cfg = tmp_path / "tune.cfg"
    cfg.write_text("global\n    tune.idle-pool.shared on\n    tune.ssl.capture-buffer-size 1\n    busy-polling\n"
                   + GOOD.replace("bind 127.0.0.1:8080", "bind 127.0.0.1:8080 proto h1"))  # fmt: skip
    result = run_cli("-c", "-dW", "-f", str(cfg))  # notices are not warnings, even with zero-warning
    assert (result.returncode, result.stdout) == (0, "Configuration file is valid\n")
    assert f"[NOTICE]   ({result.stderr.split('(')[1].split(')')[0]}) : config : parsing [{cfg}:2] : " \
           "'tune.idle-pool.shared' has no effect in lb; accepted for compatibility." in result.stderr
    bad = tmp_path / "bad.cfg"
    bad.write_text("global\n    tune.idle-pool.shared maybe\n" + GOOD.replace("8080", "8080 proto h3"))
    alerts_seen = alerts(run_cli("-c", "-f", str(bad)).stderr)
    assert f"config : parsing [{bad}:2] : 'tune.idle-pool.shared' expects either 'on' or 'off' but got " \
           "'maybe'." in alerts_seen
    assert f"config : parsing [{bad}:9] : 'proto' :  unknown MUX protocol 'h3'" in alerts_seen


def test_a_stats_socket_counts_as_a_listener(tmp_path: Path) -> None:
    """As in HAProxy, a file of backends and a CLI socket is valid (the health-check reg-tests are such)."""
    cfg = tmp_path / "cli.cfg"
    cfg.write_text(f"global\n    stats socket {tmp_path}/stats.sock level admin\n"
                   "backend be\n    server s1 127.0.0.1:8000 check\n")  # fmt: skip
    result = run_cli("-c", "-f", str(cfg))
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "Configuration file is valid"  # after "Warnings were found."
