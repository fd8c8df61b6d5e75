"""Protocol checks (pgsql, mysql, redis, ldap, smtp) against scripted servers: HAProxy 2.6's bytes and verdicts.

The scripts are those of HAProxy's reg-tests/checks/*-check.vtc: the
request bytes lb sends are compared with the ones those tests validate,
and the statuses and info texts with the log lines they expect.
"""

from __future__ import annotations

import socket
from typing import Callable

import pytest

from lb.checker import status as st
from tests.checker.helpers import Listener, alerts, parse, run_probe, target_of

PG_REQUEST = bytes.fromhex("00000017000300007573657200706f7374677265730000")  # user "postgres", 23 bytes
MYSQL_GREETING = bytes.fromhex(
    "4A0000000A382E302E3139000A0000006F3C025E6249410D00FFFFFF0200FFC715000000000000000000007C182159106E276114432"
    "2200063616368696E675F736861325F70617373776F726400")  # MySQL 8.0.19's, from mysql-check.vtc
MYSQL_AUTH_ERROR = bytes.fromhex(
    "67000002FFE304436C69656E7420646F6573206E6F7420737570706F72742061757468656E7469636174696F6E2070726F746F636F6C"
    "20726571756573746564206279207365727665723B20636F6E736964657220757067726164696E67204D7953514C20636C69656E74")


def script(steps: list[tuple[str, bytes | int]]) -> tuple[Callable[[socket.socket], None], list[bytes]]:
    """A serve(): ("recv", n) reads n bytes (recorded), ("send", data) writes."""
    received: list[bytes] = []

    def serve(conn: socket.socket) -> None:
        conn.settimeout(3)
        for action, arg in steps:
            if action == "send":
                conn.sendall(arg)  # type: ignore[arg-type]
                continue
            data = b""
            while len(data) < arg:  # type: ignore[operator]
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            received.append(data)

    return serve, received


def probe(tmp_path, option: str, steps: list):
    serve, received = script(steps)
    server = Listener(serve)
    try:
        config = parse(tmp_path, f"backend be\n    {option}\n    server s 127.0.0.1:{server.port} check\n")
        outcome = run_probe(target_of(config))
    finally:
        server.close()
    return st.STATUSES[outcome.status].code, outcome.code, outcome.info, received


def test_pgsql(tmp_path) -> None:
    option = "option pgsql-check user postgres"
    auth_ok = bytes.fromhex("520000000800000000")
    assert probe(tmp_path, option, [("recv", 23), ("send", auth_ok)]) == ("L7OK", 0, "PostgreSQL server is ok",
                                                                          [PG_REQUEST])  # fmt: skip
    sasl = bytes.fromhex("52000000170000000A534352414D2D5348412D3235360000")  # a password is asked: UP anyway
    assert probe(tmp_path, option, [("recv", 23), ("send", sasl)])[:3] == ("L7OK", 0, "PostgreSQL server is ok")
    fatal = bytes.fromhex("450000000B53464154414C00")
    assert probe(tmp_path, option, [("recv", 23), ("send", fatal)])[:3] == ("L7RSP", 0, "FATAL")
    junk = b"Not a PostgreSQL response"
    assert probe(tmp_path, option, [("recv", 23), ("send", junk)])[:3] == ("L7STS", 0, "PostgreSQL unknown error")


def test_mysql(tmp_path) -> None:
    assert probe(tmp_path, "option mysql-check", [("send", MYSQL_GREETING)])[:3] == ("L7OK", 0, "8.0.19")
    post41 = probe(tmp_path, "option mysql-check user user", [("send", MYSQL_GREETING), ("recv", 47),
                                                               ("send", bytes.fromhex("0700000200000002000000"))])
    assert post41[:3] == ("L7OK", 0, "8.0.19") and len(post41[3][0]) == 47
    assert post41[3][0][:4] == bytes.fromhex("26000001") and post41[3][0][-5:] == bytes.fromhex("0100000001")
    pre41 = probe(tmp_path, "option mysql-check user user pre-41", [("send", MYSQL_GREETING), ("recv", 20),
                                                                     ("send", bytes.fromhex("03000002000000"))])
    assert pre41[:3] == ("L7OK", 0, "8.0.19") and len(pre41[3][0]) == 20
    refused = probe(tmp_path, "option mysql-check user pouet", [("send", MYSQL_GREETING), ("recv", 48),
                                                                ("send", MYSQL_AUTH_ERROR)])
    assert refused[:3] == ("L7STS", 1251, "Client does not support authentication protocol requested by server; "
                                          "consider upgrading MySQL client")  # fmt: skip


def test_redis(tmp_path) -> None:
    ping = b"*1\r\n$4\r\nPING\r\n"
    assert probe(tmp_path, "option redis-check", [("recv", 14), ("send", b"+PONG\r\n")]) == (
        "L7OK", 0, "Redis server is ok", [ping])  # fmt: skip
    assert probe(tmp_path, "option redis-check", [("recv", 14), ("send", b"-Error message\r\n")])[:3] == (
        "L7STS", 0, "-Error message")  # fmt: skip


def test_ldap(tmp_path) -> None:
    bind = bytes.fromhex("300C020101600702010304008000")
    ok = probe(tmp_path, "option ldap-check", [("recv", 14), ("send", bytes.fromhex("300C02010161070A010004000400"))])
    assert ok == ("L7OK", 0, "Success", [bind])
    wrong_op = bytes.fromhex("300C02010160070A010004000400")
    assert probe(tmp_path, "option ldap-check", [("recv", 14), ("send", wrong_op)])[:3] == (
        "L7RSP", 0, "Not LDAPv3 protocol")  # fmt: skip
    refused = bytes.fromhex("300C02010161070A010104000400")
    assert probe(tmp_path, "option ldap-check", [("recv", 14), ("send", refused)])[:3] == (
        "L7STS", 1, "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9")  # fmt: skip
    long_form = [("recv", 14), ("send", bytes.fromhex("308400000010020101618400000007" "0A01")),
                 ("send", bytes.fromhex("0004000400"))]  # sizes on 4 bytes (Active Directory), in two pieces
    assert probe(tmp_path, "option ldap-check", long_form)[:3] == ("L7OK", 0, "Success")


def test_smtp(tmp_path) -> None:
    steps = [("send", b"220 smtp-check.vtc SMTP Server\r\n"), ("recv", 16), ("send", b"250 smtp-check.vtc\r\n"),
             ("recv", 6), ("send", b"221 smtp-check.vtc closing\r\n")]
    assert probe(tmp_path, "option smtpchk", steps) == ("L7OK", 221, "smtp-check.vtc closing",
                                                        [b"HELO localhost\r\n", b"QUIT\r\n"])  # fmt: skip
    multi = [("send", b"220 smtp-check.vtc SMTP Server\r\n"), ("recv", 17),
             ("send", b"250-smtp-check.vtc\r\n250-KEYWORD\r\n250 LAST KEYWORD\r\n"), ("recv", 6),
             ("send", b"221 smtp-check.vtc closing\r\n")]
    assert probe(tmp_path, "option smtpchk EHLO domain.tld", multi)[3] == [b"EHLO domain.tld\r\n", b"QUIT\r\n"]
    assert probe(tmp_path, "option smtpchk", [("send", b"I'm not a SMTP server\r\n")])[:3] == (
        "L7RSP", 0, "I'm not a SMTP server")  # fmt: skip
    busy = [("send", b"421 Service not available\r\n")]
    assert probe(tmp_path, "option smtpchk", busy)[:3] == ("L7STS", 421, "Service not available")


@pytest.mark.parametrize("line, message", [
    ("option pgsql-check", "'option pgsql-check' expects 'user <username>' as argument."),
    ("option pgsql-check login x", "'option pgsql-check' only supports optional values: 'user'."),
    ("option mysql-check login x", "'option mysql-check' only supports optional values: 'user' (got 'login')."),
    ("option mysql-check user", "'option mysql-check user' expects <username> as argument."),
    ("option mysql-check user x post-42", "keyword 'user' only supports 'post-41' and 'pre-41' (got 'post-42')."),
    ("option redis-check x", "'option redis-check' cannot handle unexpected argument 'x'."),
    ("option smtpchk EHLO a b", "'option smtpchk' cannot handle unexpected argument 'b'."),
])  # fmt: skip
def test_option_errors(tmp_path, line: str, message: str) -> None:
    assert alerts(tmp_path, f"backend be\n    {line}\n    server s 127.0.0.1:9 check\n") == [message]


def test_a_later_tcp_check_option_replaces_the_protocol(tmp_path) -> None:
    config = parse(tmp_path, "backend be\n    option redis-check\n    option tcp-check\n"
                             "    server s 127.0.0.1:9 check\n")  # fmt: skip
    assert target_of(config).kind == "tcp-check"
