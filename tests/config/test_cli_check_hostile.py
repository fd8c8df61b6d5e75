"""End to end: `lbctl check` on files that are not configurations (a real process each).

/dev/zero, /dev/urandom, a binary, a sparse 1 GB file, a 2 MB line, a FIFO, a directory:
every problem is a config error at `file:line` on stderr, the exit status
is 1 (or the verdict of what a FIFO held), no traceback, and the run ends
without reading more than the reader's bounds.  Where HAProxy 2.6 has the
same behaviour, its `haproxy -c` output is compared byte for byte (the
version notices aside).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lb.config.reader import MAX_LINE_BYTES
from tests.support import REPO

HAPROXY = None if os.environ.get("LB_TESTS_WITHOUT_HAPROXY") else (
    shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None))
SUMMARY = [b"Error(s) found in configuration file : {path}", b"Fatal errors found in configuration."]


def lbctl_check(cwd: Path, path: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "lb", "check", "-f", path], cwd=cwd, env=env,
                          capture_output=True, timeout=120)  # fmt: skip


def messages(stderr: bytes) -> list[bytes]:
    """The diagnostics without the `[LEVEL] (pid) : config : ` heads and the version notices."""
    out = []
    for line in stderr.split(b"\n")[:-1]:
        if line.startswith(b"[NOTICE]"):
            continue
        out.append(re.sub(rb"^\[(ALERT|WARNING)\] +\(\d+\) : config : ", rb"[\1] ", line))
    return out


def assert_refused(result: subprocess.CompletedProcess[bytes], path: str) -> list[bytes]:
    assert b"Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 1 and result.stdout == b""
    found = messages(result.stderr)
    assert found[-2:] == [b"[ALERT] " + line.replace(b"{path}", path.encode()) for line in SUMMARY]
    return found


def test_dev_zero_is_refused_at_line_1(tmp_path: Path) -> None:
    found = assert_refused(lbctl_check(tmp_path, "/dev/zero"), "/dev/zero")
    assert found[0] == b"[ALERT] parsing [/dev/zero:1]: Stray NUL character at position 1."


def test_dev_urandom_is_refused_with_located_errors(tmp_path: Path) -> None:
    found = assert_refused(lbctl_check(tmp_path, "/dev/urandom"), "/dev/urandom")
    located = [line for line in found if line.startswith(b"[ALERT] parsing [")]
    assert located, found
    numbers = [int(re.match(rb"\[ALERT\] parsing \[/dev/urandom:(\d+)\]", line).group(1)) for line in located]
    assert numbers == sorted(numbers)


def test_a_binary_file_is_refused(tmp_path: Path) -> None:
    found = assert_refused(lbctl_check(tmp_path, sys.executable), sys.executable)
    assert re.fullmatch(rb"\[ALERT\] parsing \[.*:1\]: Stray NUL character at position \d+\.", found[-3])


def test_a_sparse_gigabyte_is_refused_at_its_first_byte(tmp_path: Path) -> None:
    huge = tmp_path / "huge.cfg"
    with open(huge, "wb") as fh:
        fh.truncate(1 << 30)
    found = assert_refused(lbctl_check(tmp_path, "huge.cfg"), "huge.cfg")
    assert found[0] == b"[ALERT] parsing [huge.cfg:1]: Stray NUL character at position 1."


def test_a_2mb_line_is_reported_and_the_rest_of_the_file_checked(tmp_path: Path) -> None:
    (tmp_path / "long.cfg").write_bytes(b"global\n" + b"x" * (2 << 20) + b"\n    maxconn abc\n")
    found = assert_refused(lbctl_check(tmp_path, "long.cfg"), "long.cfg")
    assert found[0] == f"[ALERT] parsing [long.cfg:2]: line too long (more than {MAX_LINE_BYTES} bytes), " \
                       "skipping it.".encode()
    assert found[1].startswith(b"[ALERT] parsing [long.cfg:3] : 'maxconn' expects an integer")


def test_a_fifo_is_checked_like_a_file(tmp_path: Path) -> None:
    fifo = tmp_path / "lb.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w") as fh:
            fh.write("global\n    maxconn 10\nfrontend fe\n    bind 127.0.0.1:18080\n    timeout client 1s\n"
                     "    default_backend be\nbackend be\n    timeout connect 1s\n    timeout server 1s\n")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result = lbctl_check(tmp_path, "lb.fifo")
    writer.join(10)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"Configuration file is valid\n", b"")


def test_a_directory_of_hostile_files_reports_each(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.cfg").write_bytes(b"global\n\0\0\0\n    maxconn 10\n")
    (tmp_path / "conf.d" / "b.cfg").write_bytes(b"x" * (MAX_LINE_BYTES + 1) + b"\n")
    result = lbctl_check(tmp_path, "conf.d")
    assert b"Traceback" not in result.stderr and result.returncode == 1
    assert messages(result.stderr) == [
        b"[ALERT] parsing [conf.d/a.cfg:2]: Stray NUL character at position 1.",
        b"[ALERT] Error(s) found in configuration file : conf.d/a.cfg",
        f"[ALERT] parsing [conf.d/b.cfg:1]: line too long (more than {MAX_LINE_BYTES} bytes), skipping it.".encode(),
        b"[ALERT] Error(s) found in configuration file : conf.d/b.cfg",
        b"[ALERT] Fatal errors found in configuration.",
    ]


# -- side by side with HAProxy 2.6 -----------------------------------------------------------


def _random_file(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path.write_bytes(bytes(rng.getrandbits(8) for _ in range(4096)))


CASES = {
    "long_line_error_far.cfg": b"global\n  log-tag " + b"z" * 100 + b' "b' + b"w" * 150 + b"\n",
    "long_line_error_near.cfg": b'global\n  log-tag "a' + b"y" * 150 + b"\n",
    "nul_then_more.cfg": b"global\nabc\0\n    maxconn 10\n",
    "nul_on_last_line.cfg": b"global\nabc\0def\n",
    "nul_alone.cfg": b"global\n\0\n",
    "blanks_in_error.cfg": b'global\n  log-tag "a\tb\x01c\x1b\n',
    "utf8_in_error.cfg": "global\n  log-tag 'é\n".encode(),
    "binary_words.cfg": b"global\n  \xff\xfe\xfd x\n",
}


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")
@pytest.mark.parametrize("name", [*CASES, "random1.bin", "random2.bin", "random3.bin"])
def test_same_diagnostics_as_haproxy(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name in CASES:
        path.write_bytes(CASES[name])
    else:
        _random_file(path, int(name[6]))
    ours = lbctl_check(tmp_path, name)
    theirs = subprocess.run([HAPROXY, "-c", "-f", name], cwd=tmp_path, capture_output=True, timeout=60)  # type: ignore[list-item]
    assert ours.returncode == theirs.returncode == 1
    assert messages(ours.stderr) == messages(theirs.stderr)
