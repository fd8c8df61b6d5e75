"""`stats socket`, `stats timeout`, `stats maxconn` in the global section (master, cli).

    stats socket <address> [mode <octal>] [user <name>] [uid <n>] [group <name>]
                 [gid <n>] [level user|operator|admin] [name <name>] [expose-fd listeners]

The address is a path (`unix@` prefix optional) or `ipv4@ip:port`,
`ipv6@[ip]:port`, `ip:port`.  Users and groups are resolved here, so that
an unknown name is reported at its line as HAProxy does.  The master serves
the sockets (lb.runtime_api.server).
"""

from __future__ import annotations

import grp
import pwd

from lb.config.model import StatsSocket
from lb.config.registry import KwContext, KwError, global_keyword
from lb.config.types import parse_time

LEVELS = ("user", "operator", "admin")


@global_keyword("stats", doc="stats socket <address> [mode M] [user U] [group G] [level L] | stats timeout|maxconn")
def kw_stats(ctx: KwContext, args: list[str]) -> None:
    what = args[1] if len(args) > 1 else ""
    if what == "socket":
        ctx.config.global_.stats_sockets.append(parse_stats_socket(args[2:], ctx))
    elif what == "timeout":
        try:
            timeout = parse_time(args[2] if len(args) > 2 else "")
        except ValueError as exc:
            raise KwError(f"'stats timeout' : {exc}") from None
        if timeout <= 0:
            raise KwError("'stats timeout' expects a positive value")
        ctx.config.global_.stats_timeout = timeout
    elif what == "maxconn":
        text = args[2] if len(args) > 2 else ""
        if not text.isdigit() or int(text) <= 0:
            raise KwError("'stats maxconn' expects a positive value")
        ctx.config.global_.stats_maxconn = int(text)
    elif what == "bind-process":
        ctx.warn("'stats bind-process' has no effect in lb: the master serves every stats socket.")
    else:
        raise KwError(f"'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '{what}')")


def parse_stats_socket(words: list[str], ctx: KwContext) -> StatsSocket:
    if not words or not words[0]:
        raise KwError("'stats socket' in global section expects an address or a path to a UNIX socket")
    sock = StatsSocket(path=words[0], loc=ctx.loc)
    parse_address(sock, words[0])
    rest = words[1:]
    while rest:
        word = rest.pop(0)
        value = rest.pop(0) if rest else ""
        apply_option(sock, word, value)
    return sock


def parse_address(sock: StatsSocket, address: str) -> None:
    """Fill family/host/port from `ipv4@`, `ipv6@`, `unix@`, `ip:port` or a path."""
    for prefix, family in (("ipv4@", "ipv4"), ("ipv6@", "ipv6")):
        if address.startswith(prefix):
            sock.family = family
            sock.host, sock.port = split_host_port(address[len(prefix) :], address)
            return
    if address.startswith("fd@"):  # inherited, listening: varnishtest gives every instance one
        from lb.config.types import parse_inherited_fd

        try:
            sock.port = parse_inherited_fd(address)[0]  # the descriptor, in `port` (sockserver opens family fd)
        except ValueError as exc:
            raise KwError(f"'stats socket' : {exc}") from None
        sock.family = "fd"
        return
    if address.startswith(("abns@", "sockpair@", "udp@", "quic")):
        raise KwError(f"'stats socket' : address '{address}' is not supported by lb (use a path or ipv4@/ipv6@)")
    if address.startswith("unix@") or address.startswith("/") or ":" not in address:
        sock.family = "unix"
        if not sock.file:
            raise KwError("'stats socket' in global section expects an address or a path to a UNIX socket")
        return
    host, port = split_host_port(address, address)
    sock.family, sock.host, sock.port = ("ipv6" if ":" in host else "ipv4"), host, port


def split_host_port(text: str, address: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        raise KwError(f"'stats socket' : missing port number in '{address}'")
    for char in port:
        if not char.isdigit():
            raise KwError(f"'stats socket' : invalid character '{char}' in port number '{port}' in '{address}'")
    if not port or not 1 <= int(port) <= 65535:
        raise KwError(f"'stats socket' : invalid port '{port}' in '{address}'")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or ("::" if ":" in host else "0.0.0.0"), int(port)


def apply_option(sock: StatsSocket, word: str, value: str) -> None:
    if word == "mode":
        if not value or len(value) > 4 or any(c not in "01234567" for c in value):
            raise KwError(f"'stats socket' : ''mode' : missing or invalid mode '{value}' (octal integer expected)'")
        sock.mode = int(value, 8)
    elif word == "level":
        if value not in LEVELS:
            raise KwError(f"'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got '{value}')'")
        sock.level = value
    elif word == "user":
        try:
            sock.uid = pwd.getpwnam(value).pw_uid
        except KeyError:
            raise KwError(f"'stats socket' : ''user' : unknown user name '{value}''") from None
    elif word == "group":
        try:
            sock.gid = grp.getgrnam(value).gr_gid
        except KeyError:
            raise KwError(f"'stats socket' : ''group' : unknown group name '{value}''") from None
    elif word in ("uid", "gid"):
        if not value.isdigit():
            raise KwError(f"'stats socket' : '{word}' expects an integer argument.")
        setattr(sock, word, int(value))
    elif word == "expose-fd":
        sock.expose_fd = value == "listeners"
    elif word == "name":
        sock.name = value
    else:
        raise KwError(f"'stats socket' : unknown keyword '{word}'.")
