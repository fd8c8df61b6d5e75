"""Privileges and boot failures: children run as `user`/`group`, and a worker that cannot
boot stops the master instead of being forked again and again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import REPO, free_port, tag_of


def config(port: int, backend_port: int, global_extra: str) -> str:
    return f"""
global
    nbproc 2
{global_extra}
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{backend_port}
"""


def uid_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


@pytest.mark.skipif(os.getuid() != 0, reason="dropping privileges needs root")
def test_workers_run_as_the_configured_user_while_the_master_keeps_root(lb_factory, tag_servers):
    (s1,) = tag_servers("s1")
    port = free_port()
    lb = lb_factory(config(port, s1.port, "    user nobody\n    group nogroup"))
    assert tag_of(port) == "s1"
    assert uid_of(lb.pid) == 0  # the master re-reads the config and binds on reload
    nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True).stdout)
    assert {uid_of(pid) for pid in lb.workers()} == {nobody}


def test_a_worker_that_cannot_boot_stops_the_master(tmp_path, tag_servers):
    (s1,) = tag_servers("s1")
    path = tmp_path / "lb.cfg"
    path.write_text(config(free_port(), s1.port, f"    chroot {tmp_path}/does-not-exist"))
    proc = subprocess.run([sys.executable, "-m", "lb", "start", "--foreground", "-f", str(path),
                           "--log-format", "json"], capture_output=True, text=True, timeout=30, cwd=REPO)  # fmt: skip
    assert proc.returncode == 3  # EXIT_BOOT_ERROR: not respawned in a loop
    assert "failed to boot" in proc.stderr
    assert proc.stderr.count("FileNotFoundError") <= 2  # one traceback per worker, no fork loop
