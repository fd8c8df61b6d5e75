"""Protocol checks against real servers: PostgreSQL, MariaDB and Redis from Debian, started by the tests.

Each server runs as an unprivileged instance in a temporary directory on
127.0.0.1 (as the `postgres`/`mysql` users through runuser when the tests run
as root).  A missing binary skips its tests with the package to install
(.ci/run installs postgresql, mariadb-server and redis-server).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from lb.checker import status as st
from tests.checker.helpers import RedisServer, parse, run_probe, target_of
from tests.support import LbProcess, free_port, wait_until


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as(user: str, command: list[str]) -> list[str]:
    """`command` as `user` when we are root (the servers refuse to run as root), else as ourselves."""
    return ["runuser", "-u", user, "--", *command] if os.getuid() == 0 else command


@contextlib.contextmanager
def server_directory(prefix: str, user: str) -> Iterator[Path]:
    """A private directory the server's user owns; outside pytest's own (root-only) temporary tree."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.getuid() == 0:
        shutil.chown(path, user)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def postgresql() -> Iterator[int]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    with server_directory("lb-test-pg-", "postgres") as work:
        port = free_port()
        subprocess.run(_as("postgres", [initdb, "-D", f"{work}/data", "-U", "postgres", "-A", "trust", "--no-sync"]),
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        options = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -F"
        data = f"{work}/data"
        hba = Path(data, "pg_hba.conf")  # first match wins: these two roles meet other methods than trust
        hba.write_text("host all blocked 127.0.0.1/32 reject\nhost all secret 127.0.0.1/32 scram-sha-256\n"
                       + hba.read_text())  # fmt: skip
        subprocess.run(_as("postgres", [pg_ctl, "-D", data, "-o", options, "-l", f"{work}/log", "-w", "start"]),
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        try:
            yield port
        finally:
            subprocess.run(_as("postgres", [pg_ctl, "-D", data, "-m", "immediate", "stop"]), capture_output=True,
                           timeout=60)  # fmt: skip


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            return bool(conn.recv(16))
    except OSError:
        return False


@pytest.fixture(scope="module")
def mariadb() -> Iterator[int]:
    install, server = shutil.which("mariadb-install-db"), shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if not install or not os.path.exists(server):
        pytest.skip("MariaDB is not installed (Debian package mariadb-server; .ci/run installs it)")
    user = ["--user=mysql"] if os.getuid() == 0 else []
    with server_directory("lb-test-mariadb-", "mysql") as work:
        subprocess.run([install, *user, f"--datadir={work}/data", "--auth-root-authentication-method=normal",
                        "--skip-test-db"], check=True, capture_output=True, timeout=120)  # fmt: skip
        port = free_port()
        proc = subprocess.Popen([server, "--no-defaults", *user, f"--datadir={work}/data", f"--port={port}",
                                 "--bind-address=127.0.0.1", f"--socket={work}/sock", f"--pid-file={work}/pid",
                                 f"--log-error={work}/error.log"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            wait_until(lambda: _answers(port), 60, what="mariadbd to greet")
            yield port
        finally:
            proc.terminate()
            proc.wait(30)


@pytest.fixture(scope="module")
def redis() -> Iterator[int]:
    if not os.path.exists(RedisServer.BINARY):
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    server = RedisServer()
    yield server.port
    server.close()


def check(tmp_path: Path, option: str, port: int) -> tuple[str, int, str]:
    config = parse(tmp_path, f"backend be\n    {option}\n    server s 127.0.0.1:{port} check\n")
    outcome = run_probe(target_of(config))
    return st.STATUSES[outcome.status].code, outcome.code, outcome.info


def test_pgsql_check(tmp_path, postgresql) -> None:
    assert check(tmp_path, "option pgsql-check user postgres", postgresql) == ("L7OK", 0, "PostgreSQL server is ok")
    # a password asked (SCRAM) is an answering server too, as HAProxy sees it
    assert check(tmp_path, "option pgsql-check user secret", postgresql) == ("L7OK", 0, "PostgreSQL server is ok")
    # pg_hba rejects: PostgreSQL's ErrorResponse, whose severity HAProxy reports
    assert check(tmp_path, "option pgsql-check user blocked", postgresql) == ("L7RSP", 0, "FATAL")


def test_mysql_check(tmp_path, mariadb) -> None:
    status, code, version = check(tmp_path, "option mysql-check", mariadb)
    assert (status, code) == ("L7OK", 0) and "MariaDB" in version  # the greeting's server version
    assert check(tmp_path, "option mysql-check user root", mariadb) == ("L7OK", 0, version)
    status, code, info = check(tmp_path, "option mysql-check user nosuchuser", mariadb)
    assert (status, code) == ("L7STS", 1045) and "Access denied for user 'nosuchuser'" in info


def test_redis_check(tmp_path, redis) -> None:
    assert check(tmp_path, "option redis-check", redis) == ("L7OK", 0, "Redis server is ok")


def test_pgsql_check_end_to_end(lb_factory, postgresql) -> None:
    """A real lb: the pool's server is checked with the protocol, logged as HAProxy logs it, then taken down."""
    port, dead = free_port(), free_port()
    lb: LbProcess = lb_factory(f"""
global
    nbproc 1
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    default_backend pg
backend pg
    option pgsql-check user postgres
    option log-health-checks
    server db1 127.0.0.1:{postgresql} check inter 200ms rise 1 fall 1
    server db2 127.0.0.1:{dead} check inter 200ms rise 1 fall 1
""")  # fmt: skip
    up = wait_until(lambda: next((line for line in lb.stderr_lines if "server pg/db1 succeeded" in line), None),
                    15, what="db1 checked")  # fmt: skip
    assert up.endswith('succeeded, reason: Layer7 check passed, code: 0, info: "PostgreSQL server is ok", '
                       f"check duration: {up.split('check duration: ')[1].split('ms')[0]}ms, status: 1/1 UP.")
    failed = wait_until(lambda: next((line for line in lb.stderr_lines if "server pg/db2 failed" in line), None),
                        15, what="db2 failed")  # fmt: skip
    assert 'reason: Layer4 connection problem, info: "Connection refused"' in failed and "status: 0/1 DOWN." in failed
