"""Health checks end to end: `lbctl start` in front of real loopback servers (mode tcp).

Each test starts a real lb (master, 2 workers, the checker) and proves what
clients see: a stopped server is marked down (with HAProxy's log line) and
gets no new connection while the others serve without error; it comes back
after `rise` successes; backup failover and give-back; a real redis-server
checked with PING; all servers down closes client connections; a killed
checker is restarted with the health state intact; a reload keeps a down
server down.
"""

from __future__ import annotations

import os
import re
import signal
import socket

import pytest

from tests.checker.helpers import CHECKS, RedisServer, down_line, lb_config as config, up_line
from tests.support import TagServer, free_port, tag_of, wait_until

def restart(server: TagServer) -> TagServer:
    return TagServer(server.name, port=server.port)


@pytest.fixture
def servers(tag_servers):
    return tag_servers("A", "B", "C")


def test_stopped_server_is_marked_down_and_comes_back(lb_factory, servers):
    a, b, c = servers
    port = free_port()
    lb = lb_factory(config(port, "\n".join(f"    server {s.name} 127.0.0.1:{s.port} {CHECKS}" for s in servers)))
    assert {tag_of(port) for _ in range(9)} == {"A", "B", "C"}
    b.close()
    line = down_line(lb, "B")
    # refused; or reset, when B closed with a check's connection still in its accept queue
    assert re.fullmatch(r'\[WARNING\]  \(\d+\) : Server be/B is DOWN, reason: Layer4 connection problem, '
                        r'info: "Connection (refused|reset by peer)", check duration: \d+ms\. 2 active and 0 backup servers '
                        r'left\. 0 sessions active, 0 requeued, 0 remaining in queue\.', line)
    assert lb.wait_event("server_state", server="B", state="DOWN")  # the JSON event follows the text line
    # from now on no connection reaches B and none fails
    seen = [tag_of(port) for _ in range(30)]
    assert set(seen) == {"A", "C"}
    b2 = restart(b)
    try:
        line = up_line(lb, "B")
        assert re.fullmatch(r"\[WARNING\]  \(\d+\) : Server be/B is UP, reason: Layer4 check passed, check "
                            r"duration: \d+ms\. 3 active and 0 backup servers online\. 0 sessions requeued, "
                            r"0 total in queue\.", line)
        assert "B" in {tag_of(port) for _ in range(9)}
    finally:
        b2.close()


def test_log_health_checks_shows_rise_and_fall(lb_factory, servers):
    a, b, c = servers
    port = free_port()
    lb = lb_factory(config(port, f"    server B 127.0.0.1:{b.port} {CHECKS}\n    server A 127.0.0.1:{a.port}",
                           extra="    option log-health-checks"))
    b.close()
    down_line(lb, "B")
    b2 = restart(b)
    try:
        up_line(lb, "B")
    finally:
        b2.close()
    b_lines = [l.split(" : ", 1)[1] for l in lb.stderr_lines if l.startswith("[") and "be/B" in l]
    statuses = [l.rsplit("status: ", 1)[1] for l in b_lines if l.startswith("Health check")]
    assert "1/2 UP." in statuses and "0/2 DOWN." in statuses
    assert statuses[statuses.index("0/2 DOWN.") + 1:][:2] == ["1/2 DOWN.", "2/2 UP."]
    # the state lines carry no reason: the health-check lines told it
    assert "Server be/B is DOWN. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, " \
           "0 remaining in queue." in b_lines


def test_backup_failover_and_give_back(lb_factory, tag_servers):
    """The article's MySQL active/passive pair: the replica only serves while the primary is down."""
    primary, replica = tag_servers("mysql-primary", "mysql-replica")
    port = free_port()
    lb = lb_factory(config(port, f"""    option tcp-check
    server mysql-primary 127.0.0.1:{primary.port} {CHECKS}
    server mysql-replica 127.0.0.1:{replica.port} {CHECKS} backup""", balance="leastconn"))
    assert {tag_of(port) for _ in range(6)} == {"mysql-primary"}
    primary.close()
    line = down_line(lb, "mysql-primary")
    assert line.endswith("0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, "
                         "0 remaining in queue.")
    assert 'info: "Connection refused at initial connection step of tcp-check"' in line
    assert {tag_of(port) for _ in range(6)} == {"mysql-replica"}
    back = restart(primary)
    try:
        assert up_line(lb, "mysql-primary").endswith(
            "1 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.")
        assert {tag_of(port) for _ in range(6)} == {"mysql-primary"}
    finally:
        back.close()


def test_redis_ping_and_all_servers_down(lb_factory):
    redis = RedisServer()
    port = free_port()
    try:
        lb = lb_factory(config(port, f"""    option tcp-check
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
    server r1 127.0.0.1:{redis.port} {CHECKS}"""))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"PING\r\n")
            assert conn.recv(64) == b"+PONG\r\n"
    finally:
        redis.close()
    line = down_line(lb, "r1")
    assert "reason: Layer4 connection problem, info: \"Connection refused at initial connection step of " \
           "tcp-check\"" in line or "reason: Socket error" in line
    alert = wait_until(lambda: next((l for l in lb.stderr_lines if "has no server available" in l), None), 15.0)
    assert re.fullmatch(r"\[ALERT\]    \(\d+\) : backend 'be' has no server available!", alert)
    # no server: the client connection is closed at once
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.settimeout(5)
        try:
            assert conn.recv(64) == b""
        except ConnectionResetError:
            pass


def test_killed_checker_restarts_with_state_intact(lb_factory, servers):
    a, b, _c = servers
    port = free_port()
    lb = lb_factory(config(port, f"    server A 127.0.0.1:{a.port} {CHECKS}\n    server B 127.0.0.1:{b.port} {CHECKS}"))
    b.close()
    down_line(lb, "B")
    (checker,) = wait_until(lambda: lb.checkers(), 10.0, what="the checker process")
    os.kill(checker, signal.SIGKILL)
    wait_until(lambda: (pids := lb.checkers()) and pids != [checker], 15.0, what="a new checker")
    assert set(tag_of(port) for _ in range(10)) == {"A"}
    b2 = restart(b)
    try:
        # only a checker that knew B was down can report it coming UP
        up_line(lb, "B")
    finally:
        b2.close()
    assert len([l for l in lb.stderr_lines if re.match(r"\[WARNING\].*Server be/B is DOWN", l)]) == 1


def test_reload_keeps_a_down_server_down(lb_factory, servers):
    a, b, _c = servers
    port = free_port()
    text = config(port, f"    server A 127.0.0.1:{a.port} {CHECKS}\n    server B 127.0.0.1:{b.port} {CHECKS}")
    lb = lb_factory(text)
    b.close()
    down_line(lb, "B")
    before = lb.generation()
    assert lb.reload(text) > before
    # the new generation's workers never try B, and its checker does not announce B down again
    assert set(tag_of(port) for _ in range(10)) == {"A"}
    b2 = restart(b)
    try:
        up_line(lb, "B")
    finally:
        b2.close()
    assert len([l for l in lb.stderr_lines if re.match(r"\[WARNING\].*Server be/B is DOWN", l)]) == 1
