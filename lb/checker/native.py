"""Protocol health checks as tcp-check rule sequences, as HAProxy 2.6 builds them (master, cli; run in checker).

    option pgsql-check user <user>            a StartupMessage; AuthenticationOk or a password request is UP
    option mysql-check [user <user> [post-41|pre-41]]   the server greeting; with a user, a login then QUIT
    option redis-check                        PING, expects +PONG
    option ldap-check                         an anonymous LDAPv3 bind, expects resultCode 0
    option smtpchk [EHLO|HELO <domain>]       the greeting, HELO/EHLO, QUIT, each answered 2xx

src/tcpcheck.c implements each as a ruleset of connect, send and expect
rules (`proxy_parse_pgsql_check_opt` ...); the rules below are the same,
with the same statuses and info texts (HAProxy computes some of them with
log-formats over `res.payload`, lb with small functions over the bytes
received), so that the check log lines (`option log-health-checks`) and
the stats `check_desc` read as HAProxy's.  They are compiled like a
tcp-check program (lb.checker.program) and run by the same Probe; being
protocol checks, their texts carry no "at step N of tcp-check".
"""

from __future__ import annotations

import struct
from typing import Any

from lb.checker import status as st
from lb.checker.expect import CONTINUE, FAIL, WAIT, Verdict
from lb.checker.model import KIND_PROTO, CheckSettings, ConnectRule, ExpectRule, Rule, SendRule
from lb.checker.rules import compile_regex, parse_hex
from lb.config.kw_proxy import BACKEND_SIDE, proxy_of
from lb.config.registry import KwContext, KwError, keyword

LDAP_BIND = "300C020101600702010304008000"  # anonymous bind request, LDAPv3
REDIS_PING = b"*1\r\n$4\r\nPING\r\n"
RFC4511 = "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"


def _connect() -> ConnectRule:
    return ConnectRule(default=True, linger=True)


def _expect(kind: str, pattern: str, **fields: Any) -> ExpectRule:
    rule = ExpectRule(kind=kind, pattern=pattern, **fields)
    if kind in ("string", "binary"):
        rule.data = pattern.encode("latin-1") if kind == "string" else parse_hex(pattern)
    elif kind in ("rstring", "rbinary"):
        rule.regex = compile_regex(pattern)
    return rule


def _sequence(*rules: Rule) -> list[Rule]:
    for index, rule in enumerate(rules):
        rule.index = index
    return list(rules)


def text_of(data: bytes) -> str:
    """A binary payload printed as a string sample: up to its first NUL."""
    return data.split(b"\0", 1)[0].decode("latin-1")


def cut_crlf(text: str) -> str:
    for mark in ("\r", "\n"):
        text = text.split(mark, 1)[0]
    return text


def smtp_text(data: bytes) -> str:
    """`%[res.payload(4,0),ltrim(' '),cut_crlf]`: the reply text after its code."""
    return cut_crlf(text_of(data[4:]).lstrip(" "))


def smtp_code(data: bytes) -> int | None:
    """`status-code res.payload(0,3)`: the reply code."""
    digits = data[:3]
    return int(digits) if len(digits) == 3 and digits.isdigit() else None


# -- the rulesets ------------------------------------------------------------------------------------


def redis_rules() -> list[Rule]:
    return _sequence(
        SendRule(data=REDIS_PING),
        _expect("string", "+PONG\r\n", error_status="L7STS", success_text=lambda data: "Redis server is ok",
                error_text=lambda data: cut_crlf(text_of(data))),
    )  # fmt: skip


def pgsql_rules(user: str) -> list[Rule]:
    name = user.encode("latin-1", "replace")
    startup = struct.pack("!I", 15 + len(name)) + bytes.fromhex("00030000") + b"user\0" + name + b"\0\0"
    return _sequence(
        _connect(),
        SendRule(data=startup, binary=True),
        _expect("rstring", "^E", inverse=True, min_recv=5, error_status="L7RSP",
                error_text=lambda data: text_of(data[6:])),
        _expect("rbinary", "^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)", min_recv=9,
                error_status="L7STS", success_text=lambda data: "PostgreSQL server is ok",
                error_text=lambda data: "PostgreSQL unknown error"),
    )  # fmt: skip


def mysql_login(user: str, post41: bool) -> bytes:
    name = user.encode("latin-1", "replace")
    if post41:
        body = bytes.fromhex("00820000" "00800001" "21") + b"\0" * 23 + name + b"\0\0"
    else:
        body = bytes.fromhex("0080" "000001") + name + b"\0\0"
    header = len(body).to_bytes(3, "little") + b"\x01"
    return header + body + bytes.fromhex("01000000" "01")  # then COM_QUIT


def mysql_rules(user: str | None, post41: bool = True) -> list[Rule]:
    rules: list[Rule] = [_connect()]
    if user is not None:
        rules.append(SendRule(data=mysql_login(user, post41), binary=True))
    rules.append(_expect("custom", "", custom=mysql_handshake(last=user is None)))
    if user is not None:
        rules.append(_expect("custom", "", custom=mysql_ok))
    return _sequence(*rules)


def ldap_rules() -> list[Rule]:
    return _sequence(
        SendRule(data=parse_hex(LDAP_BIND), binary=True),
        _expect("rbinary", "^30", min_recv=14, error_text=lambda data: "Not LDAPv3 protocol"),
        _expect("custom", "", custom=ldap_bind_response),
    )  # fmt: skip


def smtp_rules(command: str) -> list[Rule]:
    code_text = {"error_text": smtp_text, "status_code": smtp_code}
    return _sequence(
        _connect(),
        _expect("rstring", "^[0-9]{3}[ \r]", min_recv=4, error_status="L7RSP",
                error_text=lambda data: cut_crlf(text_of(data))),
        _expect("rstring", "^2[0-9]{2}[ \r]", min_recv=4, error_status="L7STS", **code_text),
        SendRule(data=command.encode("latin-1") + b"\r\n"),
        _expect("rstring", "^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]", error_status="L7STS", success_text=smtp_text,
                **code_text),
        SendRule(data=b"QUIT\r\n"),
        _expect("rstring", "^2[0-9]{2}[- \r]", min_recv=4, error_status="L7STS", success_text=smtp_text,
                **code_text),
    )  # fmt: skip


# -- custom expects (src/tcpcheck.c tcpcheck_mysql_expect_*, tcpcheck_ldap_expect_bindrsp) ----------


def _mysql_packet(data: bytes, offset: int, last_read: bool) -> Verdict:
    """The MySQL packet at `offset`: WAIT, an error packet's FAIL, or CONTINUE."""
    if len(data) < offset + 4:
        return Verdict(WAIT) if not last_read else Verdict(FAIL, st.L7RSP, "")
    size = int.from_bytes(data[offset : offset + 3], "little")
    if len(data) < offset + size + 4:
        return Verdict(WAIT) if not last_read else Verdict(FAIL, st.L7RSP, "")
    if data[offset + 4] == 0xFF:  # an error packet: field_count 0xff, error number, message
        code = int.from_bytes(data[offset + 5 : offset + 7], "little")
        return Verdict(FAIL, st.L7STS, data[offset + 7 :].decode("latin-1")).with_code(code)
    return Verdict(CONTINUE)


def _mysql_done(verdict: Verdict, data: bytes) -> Verdict:
    """The last rule reports the server version from the greeting, as HAProxy does."""
    if verdict.outcome != CONTINUE:
        return verdict
    return Verdict(CONTINUE, st.L7OK, text_of(data[5:]))


def mysql_handshake(last: bool) -> Any:
    """The server's greeting (the last rule without a user: its version is the info)."""

    def expect(rule: ExpectRule, data: bytes, last_read: bool) -> Verdict:
        verdict = _mysql_packet(data, 0, last_read)
        return _mysql_done(verdict, data) if last else verdict

    return expect


def mysql_ok(rule: ExpectRule, data: bytes, last_read: bool) -> Verdict:
    """The answer to the login, after the greeting in the same buffer."""
    greeting = 4 + int.from_bytes(data[0:3], "little") if len(data) >= 3 else 0
    return _mysql_done(_mysql_packet(data, greeting, last_read), data)


def ldap_bind_response(rule: ExpectRule, data: bytes, last_read: bool) -> Verdict:
    more = Verdict(WAIT) if not last_read else Verdict(FAIL, st.L7RSP, "")
    not_ldap = Verdict(FAIL, st.L7RSP, "Not LDAPv3 protocol")
    if len(data) < 2:
        return more
    size_byte, nbytes = data[1], 0
    if size_byte & 0x80:  # the message size on several bytes: 2 or 4 (Active Directory)
        nbytes = size_byte & 0x7F
        if len(data) < 2 + nbytes:
            return more
        if nbytes not in (2, 4):
            return not_ldap
        size = int.from_bytes(data[2 : 2 + nbytes], "big")
    else:
        size = size_byte
    pos = 2 + nbytes
    if len(data) < pos + size:
        return more
    if data[pos : pos + 4] != b"\x02\x01\x01\x61":  # messageID 1, bindResponse
        return not_ldap
    pos += 4
    pos += 1 + (data[pos] & 0x7F if data[pos] & 0x80 else 0)  # skip the bindResponse size
    if data[pos : pos + 2] != b"\x0a\x01":  # ldapResult: ENUMERATION
        return not_ldap
    code = data[pos + 2]
    if code:
        return Verdict(FAIL, st.L7STS, RFC4511).with_code(code)
    return Verdict(CONTINUE, st.L7OK, "Success")


# -- keywords -----------------------------------------------------------------------------------------


def _install(ctx: KwContext, name: str, rules: list[Rule]) -> None:
    proxy = proxy_of(ctx)
    settings = proxy.areas.get("checks")
    if settings is None:
        settings = proxy.areas["checks"] = CheckSettings()
    settings.kind, settings.kind_loc = KIND_PROTO, ctx.loc
    settings.native_rules, settings.native_name = rules, name


def _too_many(args: list[str], allowed: int) -> None:
    if len(args) > 2 + allowed:
        raise KwError(f"'{args[0]} {args[1]}' cannot handle unexpected argument '{args[2 + allowed]}'.")


@keyword("option redis-check", BACKEND_SIDE, doc="check servers with a Redis PING")
def kw_redis_check(ctx: KwContext, args: list[str]) -> None:
    _too_many(args, 0)
    _install(ctx, "redis-check", redis_rules())


@keyword("option ldap-check", BACKEND_SIDE, doc="check servers with an anonymous LDAPv3 bind")
def kw_ldap_check(ctx: KwContext, args: list[str]) -> None:
    _too_many(args, 0)
    _install(ctx, "ldap-check", ldap_rules())


@keyword("option pgsql-check", BACKEND_SIDE, doc="user <name>: check servers with a PostgreSQL startup message")
def kw_pgsql_check(ctx: KwContext, args: list[str]) -> None:
    _too_many(args, 2)
    if len(args) < 4 or not args[2] or not args[3]:
        raise KwError(f"'{args[0]} {args[1]}' expects 'user <username>' as argument.")
    if args[2] != "user":
        raise KwError(f"'{args[0]} {args[1]}' only supports optional values: 'user'.")
    _install(ctx, "pgsql-check", pgsql_rules(args[3]))


@keyword("option mysql-check", BACKEND_SIDE, doc="[user <name> [post-41|pre-41]]: check servers with a MySQL login")
def kw_mysql_check(ctx: KwContext, args: list[str]) -> None:
    _too_many(args, 3)
    if len(args) < 3 or not args[2]:
        _install(ctx, "mysql-check", mysql_rules(None))
        return
    if args[2] != "user":
        raise KwError(f"'{args[0]} {args[1]}' only supports optional values: 'user' (got '{args[2]}').")
    if len(args) < 4 or not args[3]:
        raise KwError(f"'{args[0]} {args[1]} {args[2]}' expects <username> as argument.")
    version = args[4] if len(args) > 4 and args[4] else "post-41"
    if version not in ("post-41", "pre-41"):
        raise KwError(f"keyword '{args[2]}' only supports 'post-41' and 'pre-41' (got '{version}').")
    _install(ctx, "mysql-check", mysql_rules(args[3], version == "post-41"))


@keyword("option smtpchk", BACKEND_SIDE, doc="[EHLO|HELO <domain>]: check servers with an SMTP greeting and HELO")
def kw_smtpchk(ctx: KwContext, args: list[str]) -> None:
    _too_many(args, 2)
    if len(args) >= 4 and args[2] in ("EHLO", "HELO") and args[3]:
        command = f"{args[2]} {args[3]}"
    else:
        command = "HELO localhost"  # HAProxy's default, whatever else was written
    _install(ctx, "smtpchk", smtp_rules(command))


__all__ = ["pgsql_rules", "mysql_rules", "redis_rules", "ldap_rules", "smtp_rules", "FAIL"]
