"""Value parsers of lb.config.types: one table per parser, valid and invalid rows."""

from __future__ import annotations

import socket

import pytest

from lb.config.types import (
    TimeValueError,
    is_suspicious_time,
    parse_bind_address,
    parse_int,
    parse_network,
    parse_server_address,
    parse_size,
    parse_time,
    split_address,
    split_host_port,
)

V4, V6 = int(socket.AF_INET), int(socket.AF_INET6)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", 0),
        ("1500", 1500),  # a bare number is in milliseconds
        ("100us", 1),  # microseconds round up to the next millisecond
        ("1001us", 2),
        ("250ms", 250),
        ("5s", 5_000),
        ("2m", 120_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        ("24d", 2_073_600_000),
        ("2147483647", 2_147_483_647),  # the largest value HAProxy accepts
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text) == expected


def test_parse_time_default_unit() -> None:
    assert parse_time("3", default_unit="s") == 3000


@pytest.mark.parametrize(
    "text, bad_char",
    [("abc", "a"), ("5x", "x"), ("10sec", "e"), ("5 s", " "), ("-1", "-"), ("1.5s", "."), ("", ""), ("5mss", "s")],
)
def test_parse_time_rejects_with_the_offending_character(text: str, bad_char: str) -> None:
    with pytest.raises(TimeValueError) as info:
        parse_time(text)
    assert info.value.bad_char == bad_char
    assert f"unexpected character '{bad_char}' in time value '{text}'" in str(info.value)
    assert "us, ms, s, m, h or d" in str(info.value)


@pytest.mark.parametrize("text", ["2147483648", "25d", "600h"])
def test_parse_time_overflow_states_the_maximum(text: str) -> None:
    with pytest.raises(TimeValueError) as info:
        parse_time(text)
    assert info.value.bad_char is None
    assert str(info.value) == f"timer overflow in argument '{text}' (maximum value is 2147483647 ms or ~24.8 days)"


@pytest.mark.parametrize("text, expected", [("5", True), ("99", True), ("100", False), ("0", False), ("5s", False)])
def test_is_suspicious_time(text: str, expected: bool) -> None:
    assert is_suspicious_time(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [("0", 0), ("512", 512), ("16k", 16384), ("16K", 16384), ("2m", 2 * 1024**2), ("1g", 1024**3)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "k", "1t", "1.5k", "-1", "16 k"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="k, m or g"):
        parse_size(text)


@pytest.mark.parametrize(
    "text, low, high, expected",
    [("0", 0, 10, 0), ("10", 0, 10, 10), ("+7", 0, 10, 7), ("-3", -5, 5, -3), ("007", 0, 10, 7)],
)
def test_parse_int(text: str, low: int, high: int, expected: int) -> None:
    assert parse_int(text, low, high) == expected


@pytest.mark.parametrize("text", ["", "abc", "1_000", " 5", "5 ", "1e3", "0x10", "٣", "1.0"])
def test_parse_int_rejects_non_decimal_and_states_the_range(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_int(text, 1, 64, "nbproc")
    assert str(info.value) == f"'nbproc' expects an integer between 1 and 64, got '{text}'."


@pytest.mark.parametrize("text, value", [("0", 0), ("65", 65), ("-1", -1)])
def test_parse_int_out_of_range_states_the_range(text: str, value: int) -> None:
    with pytest.raises(ValueError) as info:
        parse_int(text, 1, 64, "nbproc")
    assert str(info.value) == f"'nbproc' value {value} is out of range, expects an integer between 1 and 64."


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.2.3.4:80", ("1.2.3.4", "80")),
        (":80", ("", "80")),
        ("[::1]:80", ("::1", "80")),
        ("[::1]", ("::1", "")),
        ("1.2.3.4", ("1.2.3.4", "")),
        ("::1", ("::1", "")),  # bare IPv6, no port (check addresses)
    ],
)
def test_split_host_port(text: str, expected: tuple[str, str]) -> None:
    assert split_host_port(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (":::80", ("::", "80")),  # HAProxy: the last colon separates the port
        ("fe80::1:8080", ("fe80::1", "8080")),
        ("[fe80::1]:8080", ("fe80::1", "8080")),
        ("1.2.3.4", ("1.2.3.4", "")),
    ],
)
def test_split_address_uses_the_last_colon(text: str, expected: tuple[str, str]) -> None:
    assert split_address(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:80", [("127.0.0.1", 80, V4)]),
        (":80", [("", 80, V4)]),
        ("*:80", [("", 80, V4)]),
        ("0.0.0.0:80", [("0.0.0.0", 80, V4)]),
        ("[::1]:8443", [("::1", 8443, V6)]),
        ("[::]:80", [("::", 80, V6)]),
        (":::80", [("::", 80, V6)]),
        ("ipv6@:80", [("::", 80, V6)]),
        ("ipv6@[::1]:80", [("::1", 80, V6)]),
        ("ipv4@127.0.0.2:80", [("127.0.0.2", 80, V4)]),
        ("ipv4@:80", [("", 80, V4)]),
        ("tcp4@127.0.0.1:80", [("127.0.0.1", 80, V4)]),
        ("tcp6@[::1]:80", [("::1", 80, V6)]),
        ("tcp@127.0.0.1:80", [("127.0.0.1", 80, V4)]),
        ("127.0.0.1:8000-8002", [("127.0.0.1", p, V4) for p in (8000, 8001, 8002)]),
        (":65535", [("", 65535, V4)]),
    ],
)
def test_parse_bind_address(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert parse_bind_address(text) == expected


def test_parse_bind_address_resolves_names_once() -> None:
    [(host, port, family)] = parse_bind_address("localhost:8080")
    assert host in ("127.0.0.1", "::1") and port == 8080 and family in (V4, V6)


@pytest.mark.parametrize(
    "text, message",
    [
        ("127.0.0.1", "missing port specification in '127.0.0.1'"),
        ("127.0.0.1:", "missing port specification in '127.0.0.1:'"),
        ("127.0.0.1:0", "'port' value 0 is out of range, expects an integer between 1 and 65535."),
        ("127.0.0.1:65536", "'port' value 65536 is out of range, expects an integer between 1 and 65535."),
        ("127.0.0.1:http", "'port' expects an integer between 1 and 65535, got 'http'."),
        ("127.0.0.1:90-80", "invalid port range '90-80' in '127.0.0.1:90-80'"),
        ("ipv6@127.0.0.1:80", "address '127.0.0.1' does not match its ipv6@ prefix"),
        ("ipv4@[::1]:80", "address '::1' does not match its ipv4@ prefix"),
        ("/run/lb.sock", "UNIX socket '/run/lb.sock' is not supported by lb"),
        ("unix@/run/lb.sock", "unsupported address family 'unix@' in 'unix@/run/lb.sock'"),
        ("udp@:53", "unsupported address family 'udp@' in 'udp@:53'"),
        ("[::1:80", "missing ']' in address '[::1:80'"),
        ("host.invalid:80", "could not resolve address 'host.invalid'"),
    ],
)
def test_parse_bind_address_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_bind_address(text)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080, V4)),
        ("127.0.0.1", ("127.0.0.1", 0, V4)),  # no port: the client's destination port
        ("[::1]:80", ("::1", 80, V6)),
        ("[::1]", ("::1", 0, V6)),
        ("ipv4@127.0.0.1:80", ("127.0.0.1", 80, V4)),
    ],
)
def test_parse_server_address(text: str, expected: tuple[str, int, int]) -> None:
    assert parse_server_address(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        (":80", "missing address in ':80'"),
        ("::1", "invalid address ':' (the last ':' separates the port"),
        ("127.0.0.1:0", "'port' value 0 is out of range"),
        ("host.invalid:80", "could not resolve address 'host.invalid'"),
    ],
)
def test_parse_server_address_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_server_address(text)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "text, expected",
    [("10.0.0.0/8", "10.0.0.0/8"), ("10/8", "10.0.0.0/8"), ("10.12/16", "10.12.0.0/16"),
     ("127.0.0.1", "127.0.0.1/32"), ("::1", "::1/128"), ("2001:db8::/32", "2001:db8::/32")],
)  # fmt: skip
def test_parse_network(text: str, expected: str) -> None:
    assert str(parse_network(text)) == expected


@pytest.mark.parametrize("text", ["10.0.0.0/33", "nope", "1.2.3.4.5"])
def test_parse_network_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid network"):
        parse_network(text)
