"""End to end: the real `lbctl check` command, run as a process.

Proves that one run of `python -m lb check -f FILE` reports every problem of
a file in HAProxy's exact format on stderr, the verdict on stdout, and the
exit status an init script relies on (0 valid, 1 invalid, 2 no listener).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from lb import __version__

ROOT = Path(__file__).resolve().parents[2]

VALID = """\
global
    maxconn 1000

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend web
    bind 127.0.0.1:18080
    default_backend app

backend app
    balance roundrobin
    server a1 127.0.0.1:28080 check
    server a2 127.0.0.1:28081 check
"""

INVALID = """\
defaults
    timeout connect 5s
    timeout server 5s

frontend fe
    mode http
    bind 127.0.0.1:8080
    default_backend be_tcp
    use_backend nosuch

backend be_tcp
    mode tcp
    baalnce roundrobin
    server s1 127.0.0.1:9000 chekc
    server s1 127.0.0.1:9001 weight 300
    retries 1000
"""

INVALID_STDERR = """\
[NOTICE]   (PID) : lb version is VERSION
[ALERT]    (PID) : config : parsing [bad.cfg:13] : unknown keyword 'baalnce' in 'backend' section; did you mean 'balance' maybe ?
[ALERT]    (PID) : config : [bad.cfg:14] : 'server be_tcp/s1' : unknown keyword 'chekc'; did you mean 'check' maybe ?
[ALERT]    (PID) : config : parsing [bad.cfg:15] : backend 'be_tcp', another server named 's1' was already defined at line 14, please use distinct names.
[ALERT]    (PID) : config : parsing [bad.cfg:16] : 'retries' value 1000 is out of range, expects an integer between 0 and 100.
[ALERT]    (PID) : config : Error(s) found in configuration file : bad.cfg
[ALERT]    (PID) : config : http frontend 'fe' (bad.cfg:5) tries to use incompatible tcp backend 'be_tcp' (bad.cfg:11) as its default backend (see 'mode').
[ALERT]    (PID) : config : Proxy 'fe': unable to find required use_backend: 'nosuch'.
[WARNING]  (PID) : config : missing timeouts for frontend 'fe'.
   | While not properly invalid, you will certainly encounter various problems
   | with such a configuration. To fix this, please ensure that all following
   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.
[ALERT]    (PID) : config : Fatal errors found in configuration.
"""


def lbctl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "lb", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def with_placeholders(stderr: str) -> str:
    """The pid is the child's: replace it (and the version) to compare texts."""
    pids = set(re.findall(r"^\[[A-Z]+\] +\((\d+)\) : ", stderr, re.M))
    assert len(pids) <= 1, f"every line must carry the same pid: {pids}"
    for pid in pids:
        stderr = stderr.replace(f"({pid}) : ", "(PID) : ")
    return stderr.replace(f"lb version is {__version__}", "lb version is VERSION")


def test_valid_configuration(tmp_path: Path) -> None:
    (tmp_path / "good.cfg").write_text(VALID)
    result = lbctl(tmp_path, "check", "-f", "good.cfg")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Configuration file is valid\n", "")


def test_invalid_configuration_reports_everything_at_once(tmp_path: Path) -> None:
    (tmp_path / "bad.cfg").write_text(INVALID)
    result = lbctl(tmp_path, "check", "-f", "bad.cfg")
    assert result.returncode == 1
    assert result.stdout == ""
    assert with_placeholders(result.stderr) == INVALID_STDERR


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    """`haproxy -c -q` prints nothing at all, alerts included: only the exit status."""
    (tmp_path / "bad.cfg").write_text(INVALID)
    (tmp_path / "warn.cfg").write_text(VALID.replace("    timeout client 30s\n", ""))
    assert [(r.returncode, r.stdout, r.stderr) for r in (lbctl(tmp_path, "check", "-q", "-f", "bad.cfg"),
            lbctl(tmp_path, "check", "-q", "-f", "warn.cfg"))] == [(1, "", ""), (0, "", "")]  # fmt: skip


def test_warnings_only_is_still_valid(tmp_path: Path) -> None:
    (tmp_path / "warn.cfg").write_text(VALID.replace("    timeout client 30s\n", ""))
    result = lbctl(tmp_path, "check", "-f", "warn.cfg")
    assert result.returncode == 0
    assert result.stdout == "Warnings were found.\nConfiguration file is valid\n"
    assert with_placeholders(result.stderr).startswith("[WARNING]  (PID) : config : missing timeouts for frontend 'web'.\n")


def test_several_files_are_read_in_order(tmp_path: Path) -> None:
    head, tail = VALID.split("frontend web\n")
    (tmp_path / "1.cfg").write_text(head)
    (tmp_path / "2.cfg").write_text("frontend web\n" + tail)
    result = lbctl(tmp_path, "check", "-f", "1.cfg", "-f", "2.cfg")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Configuration file is valid\n", "")


def test_no_listener_exits_2(tmp_path: Path) -> None:
    (tmp_path / "nolisten.cfg").write_text(VALID.replace("    bind 127.0.0.1:18080\n", "    disabled\n"))
    result = lbctl(tmp_path, "check", "-f", "nolisten.cfg")
    assert result.returncode == 2
    assert result.stdout == "Configuration file has no error but will not start (no listener) => exit(2).\n"


def test_a_directory_stands_for_its_cfg_files_in_lexical_order(tmp_path: Path) -> None:
    """HAProxy's -f DIR: the *.cfg files directly in it, sorted; dot files,
    other extensions and subdirectories are skipped."""
    head, tail = VALID.split("frontend web\n")
    conf = tmp_path / "conf.d"
    (conf / "sub.cfg").mkdir(parents=True)
    (conf / "10-global.cfg").write_text(head)
    (conf / "20-proxies.cfg").write_text("frontend web\n" + tail)
    (conf / "05-ignored.cfg.bak").write_text("this is not read\n")
    (conf / ".00-hidden.cfg").write_text("neither is this\n")
    result = lbctl(tmp_path, "check", "-f", "conf.d")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Configuration file is valid\n", "")
    # Reversed order (proxies before defaults) proves the order: the timeouts are then missing.
    (conf / "10-global.cfg").rename(conf / "30-global.cfg")
    result = lbctl(tmp_path, "check", "-f", "conf.d")
    assert "missing timeouts for frontend 'web'" in result.stderr


def test_files_and_directories_mix_and_missing_paths_are_all_reported(tmp_path: Path) -> None:
    head, tail = VALID.split("frontend web\n")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "global.cfg").write_text(head)
    (tmp_path / "conf.d" / "web.cfg").write_text("frontend web\n" + tail)
    result = lbctl(tmp_path, "check", "-f", "global.cfg", "-f", "conf.d")
    assert (result.returncode, result.stderr) == (0, "")
    result = lbctl(tmp_path, "check", "-f", "nosuch.cfg", "-f", "conf.d", "-f", "nosuch.d")
    assert result.returncode == 1
    alerts = [line for line in with_placeholders(result.stderr).splitlines() if "Cannot open" in line]
    assert alerts == [
        "[ALERT]    (PID) : config : Cannot open configuration file/directory nosuch.cfg : No such file or directory",
        "[ALERT]    (PID) : config : Cannot open configuration file/directory nosuch.d : No such file or directory",
    ]
