"""Value parsers for configuration words: small pure functions (master, cli).

Each takes the text as written and returns the value, or raises ValueError
with a message that names the offending text and the allowed range, ready to
be shown after `parsing [file:line] : `.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import socket

TIME_MAX_MS = 2_147_483_647  # HAProxy: "maximum value is 2147483647 ms or ~24.8 days"

_TIME_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_TIME_RE = re.compile(r"(\d+)(us|ms|s|m|h|d)?")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SIZE_RE = re.compile(r"^(\d+)([kKmMgG]?)$")


class TimeValueError(ValueError):
    """A bad time value; `bad_char` is the first unexpected character ('' at the
    end of the text), None when the value is well-formed but too large."""

    def __init__(self, message: str, text: str, bad_char: str | None) -> None:
        super().__init__(message)
        self.text, self.bad_char = text, bad_char


def parse_time(text: str, default_unit: str = "ms") -> int:
    """`5s` -> 5000 ms.  Units us ms s m h d; a bare number is in `default_unit`.

    Microseconds round up to the next millisecond, as HAProxy does.
    """
    match = _TIME_RE.match(text)
    if not match or match.end() != len(text):
        bad = text[match.end()] if match else text[:1]
        raise TimeValueError(
            f"unexpected character '{bad}' in time value '{text}' (expects a number with unit us, ms, s, m, h or d)",
            text,
            bad,
        )
    value, unit = int(match.group(1)), match.group(2) or default_unit
    ms = math.ceil(value * _TIME_UNITS_MS[unit])
    if ms > TIME_MAX_MS:
        raise TimeValueError(
            f"timer overflow in argument '{text}' (maximum value is 2147483647 ms or ~24.8 days)", text, None
        )
    return ms


def is_suspicious_time(text: str) -> bool:
    """A unitless value under 100 is probably meant in seconds (HAProxy warns)."""
    return text.isdigit() and 0 < int(text) < 100


def parse_size(text: str) -> int:
    """`16k` -> 16384.  Suffixes k, m, g (powers of 1024)."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"invalid size '{text}' (expects a number with an optional k, m or g suffix)")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


_INT_RE = re.compile(r"^[+-]?[0-9]+$")


def is_integer(text: str) -> bool:
    """Decimal ASCII digits with an optional sign."""
    return bool(_INT_RE.match(text))


def parse_int(text: str, low: int, high: int, what: str = "value") -> int:
    """A decimal integer within [low, high], or ValueError naming the range.

    Only ASCII digits with an optional sign: Python's int() would also take
    `1_000`, ` 5` or non-ASCII digits, which HAProxy does not.
    """
    if not is_integer(text):
        raise ValueError(f"'{what}' expects an integer between {low} and {high}, got '{text}'.")
    value = int(text, 10)
    if not low <= value <= high:
        raise ValueError(f"'{what}' value {value} is out of range, expects an integer between {low} and {high}.")
    return value


def parse_port(text: str) -> int:
    return parse_int(text, 1, 65535, "port")


def split_host_port(text: str) -> tuple[str, str]:
    """`[::1]:80` -> ("::1", "80"); `1.2.3.4:80` -> ("1.2.3.4", "80"); `:80` -> ("", "80")."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"missing ']' in address '{text}'")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected '{rest}' after ']' in address '{text}'")
        return host, rest[1:]
    if text.count(":") > 1:  # bare IPv6 without a port
        return text, ""
    host, _, port = text.partition(":")
    return host, port


def address_family(host: str) -> int:  # kept for other modules
    """AF_INET or AF_INET6 for a literal address; ValueError for anything else."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"invalid address '{host}'") from None
    return socket.AF_INET6 if ip.version == 6 else socket.AF_INET


# Address prefixes of HAProxy's str2sa_range(): the TCP ones lb binds, and
# the others, which it rejects with a clear message.
_FAMILY_PREFIXES = {"ipv4@": socket.AF_INET, "tcp4@": socket.AF_INET, "ipv6@": socket.AF_INET6,
                    "tcp6@": socket.AF_INET6, "tcp@": None}  # fmt: skip
_UNSUPPORTED_PREFIXES = ("unix@", "abns@", "abnsz@", "fd@", "sockpair@", "udp@", "udp4@", "udp6@", "quic4@",
                         "quic6@", "uxst@", "uxdg@", "rhttp@", "mptcp@", "mptcp4@", "mptcp6@")  # fmt: skip


def split_address(text: str) -> tuple[str, str]:
    """HAProxy's rule for `bind` and `server` addresses: brackets aside, the
    LAST colon separates the port, so `:::80` is port 80 on `::` (and `::1`
    alone is port 1 on `::`, as in HAProxy)."""
    if text.startswith("["):
        return split_host_port(text)
    host, colon, port = text.rpartition(":")
    return (host, port) if colon else (text, "")


def _strip_family(text: str) -> tuple[int | None, str]:
    """(family forced by a prefix or None, text without the prefix)."""
    lowered = text.lower()
    for prefix in _UNSUPPORTED_PREFIXES:
        if lowered.startswith(prefix):
            raise ValueError(f"unsupported address family '{prefix}' in '{text}' (lb only uses TCP over IPv4 and IPv6)")
    if text.startswith("/"):
        raise ValueError(f"UNIX socket '{text}' is not supported by lb (only TCP over IPv4 and IPv6)")
    for prefix, family in _FAMILY_PREFIXES.items():
        if lowered.startswith(prefix):
            return family, text[len(prefix) :]
    return None, text


def _resolve(host: str, family: int | None) -> tuple[str, int]:
    """A literal address or a name resolved once, now (HAProxy resolves at start)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        found = int(socket.AF_INET6 if ip.version == 6 else socket.AF_INET)
        if family is not None and family != found:
            raise ValueError(f"address '{host}' does not match its ipv{4 if family == socket.AF_INET else 6}@ prefix")
        return host, found
    if ":" in host:  # not a valid IPv6 literal, and no name has a colon
        raise ValueError(
            f"invalid address '{host}' (the last ':' separates the port; write IPv6 addresses in brackets: '[addr]:port')"
        )
    try:
        infos = socket.getaddrinfo(host, None, family or socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValueError(f"could not resolve address '{host}'") from None
    found, _, _, _, sockaddr = infos[0]
    return str(sockaddr[0]), int(found)


def parse_bind_address(text: str) -> list[tuple[str, int, int]]:
    """One address of a `bind` line -> [(host, port, family), ...].

    Accepts `ip:port`, `:port`, `*:port`, `[v6]:port`, `:::port`, host names,
    the `ipv4@` `ipv6@` `tcp@` `tcp4@` `tcp6@` prefixes and port ranges
    `ip:8000-8003`.  An empty host or `*` means any IPv4 address (0.0.0.0),
    or `::` with an IPv6 prefix, as HAProxy does.
    """
    family, rest = _strip_family(text)
    host, port_text = split_address(rest)
    if not port_text:
        raise ValueError(f"missing port specification in '{text}'")
    if host in ("", "*"):
        host, family = ("::", int(socket.AF_INET6)) if family == socket.AF_INET6 else ("", int(socket.AF_INET))
    else:
        host, family = _resolve(host, family)
    first, _, last = port_text.partition("-")
    low = parse_port(first)
    high = parse_port(last) if last else low
    if high < low:
        raise ValueError(f"invalid port range '{port_text}' in '{text}'")
    return [(host, port, family) for port in range(low, high + 1)]


def parse_inherited_fd(text: str) -> tuple[int, str, int, int]:
    """`fd@<n>`: a listening socket this process inherited (a supervisor, a
    test harness or systemd bound it) -> (fd, host, port, family), the
    address being the socket's own, as HAProxy reads it with getsockname()."""
    number = text[3:]
    if not number.isdigit():
        raise ValueError(f"file descriptor '{number}' is not a valid integer in '{text}'")
    fd = int(number)
    try:
        probe = socket.socket(fileno=os.dup(fd))
    except OSError as exc:
        raise ValueError(f"cannot use file descriptor '{fd}' : {exc.strerror}.") from None
    with probe:
        if probe.type != socket.SOCK_STREAM or probe.family not in (socket.AF_INET, socket.AF_INET6):
            raise ValueError(f"socket on file descriptor '{fd}' is of the wrong type.")
        name = probe.getsockname()
    return fd, name[0], name[1], int(probe.family)


def parse_server_address(text: str) -> tuple[str, int, int]:
    """A `server` address -> (host, port, family).  Port 0 means "the client's
    destination port", as HAProxy does for a server written without a port.
    Host names are resolved once, here (HAProxy resolves at start too)."""
    family, rest = _strip_family(text)
    host, port_text = split_address(rest)
    if not host:
        raise ValueError(f"missing address in '{text}'")
    port = parse_port(port_text) if port_text else 0
    host, found = _resolve(host, family)
    return host, port, found


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """`10.0.0.0/8`, `127.0.0.1`, abbreviated `10/8` or `10.12/16`."""
    addr, slash, mask = text.partition("/")
    if ":" not in addr and addr.count(".") < 3 and slash:
        addr = ".".join((addr.split(".") + ["0", "0", "0"])[:4])
    try:
        return ipaddress.ip_network(f"{addr}/{mask}" if slash else addr, strict=False)
    except ValueError:
        raise ValueError(f"invalid network '{text}'") from None
