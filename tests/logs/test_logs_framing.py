"""Syslog framing: the eight header formats, PRI, `len` truncation, level filters (recorded HAProxy 2.6 datagrams)."""

from __future__ import annotations

import calendar
import re
from datetime import datetime

import pytest

from lb.logs import syslog
from lb.logs.runtime import Target
from lb.logs.targets import Sink
from tests.logs.recorded import scenario

# ft_syslog's `log` lines, in order (the 9th, `local0 notice`, filters info out)
SYSLOG_TARGETS = [("local", "local0"), ("rfc3164", "local1"), ("rfc5424", "local2"), ("short", "local3"),
                  ("priority", "local4"), ("timed", "local5"), ("iso", "local6"), ("raw", "local7"),
                  ("local", "local7")]  # fmt: skip
_LEGACY = re.compile(r"(\w{3}) ([ \d]\d) (\d\d):(\d\d):(\d\d)")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def sent_at(datagram: str) -> float:
    """When HAProxy framed the datagram, from its own header (UTC recording)."""
    iso = _ISO.search(datagram)
    if iso:
        return datetime.fromisoformat(iso.group()).timestamp()
    legacy = _LEGACY.search(datagram)
    if legacy is None:
        return 0.0  # short, priority, raw: no date in the header
    month, day, hour, minute, second = legacy.groups()
    month_number = syslog._MONTHS.index(month) + 1
    return float(calendar.timegm((2026, month_number, int(day), int(hour), int(minute), int(second), 0, 0, 0)))


def body_of_syslog_scenario() -> bytes:
    raw = scenario("syslog_formats")["syslog"][7]  # the `raw` target: the body alone
    return raw.rstrip("\n").encode("latin-1")


@pytest.mark.parametrize("index", range(len(SYSLOG_TARGETS)))
def test_each_format_frames_like_haproxy(index: int) -> None:
    datagrams = scenario("syslog_formats")["syslog"]
    fmt, facility = SYSLOG_TARGETS[index]
    datagram = datagrams[index]
    pid = int(re.search(r"\[(\d+)\]| (\d+) - - ", datagrams[0] + datagrams[2]).group(1))  # type: ignore[union-attr]
    framer = syslog.Framer(fmt, syslog.facility_code(facility), "haproxy", pid)
    header = framer.header(syslog.LOG_INFO, sent_at(datagram))
    assert syslog.frame(header, body_of_syslog_scenario(), 1024) == datagram.encode("latin-1")


def test_len_cuts_header_and_body_together() -> None:
    item = scenario("http_truncated")
    datagram = item["syslog"][0].encode("latin-1")
    pid = int(re.search(rb"\[(\d+)\]", datagram).group(1))  # type: ignore[union-attr]
    framer = syslog.Framer("local", syslog.facility_code("local2"), "haproxy", pid)
    framed = syslog.frame(framer.header(syslog.LOG_INFO, sent_at(item["syslog"][0])), item["lines"][0].encode(), 100)
    assert framed == datagram and len(framed) == 101  # 100 bytes, then the line feed


@pytest.mark.parametrize(("facility", "level", "fmt", "expected"), [
    ("local0", "info", "local", "<134>"), ("local1", "info", "rfc3164", "<142>"), ("kern", "emerg", "priority", "<0>"),
    ("local7", "debug", "priority", "<191>"), ("daemon", "err", "short", "<3>"), ("local7", "err", "timed", "<3>"),
    ("local0", "alert", "local", "<129>"), ("local0", "notice", "local", "<133>"), ("user", "warning", "raw", ""),
])
def test_priority(facility: str, level: str, fmt: str, expected: str) -> None:
    framer = syslog.Framer(fmt, syslog.facility_code(facility), "lb", 1)
    assert framer.header(syslog.level_code(level), 0.0).decode().startswith(expected)
    if not expected:
        assert framer.header(syslog.level_code(level), 0.0) == b""


def test_rfc5424_with_hostname_tag_and_structured_data() -> None:
    framer = syslog.Framer("rfc5424", 16, "lb", 77, hostname="myhost")
    header = framer.header(6, 1795715127.527051, '[exampleSDID@32473 iut="3"]').decode()
    assert header == '<134>1 2026-11-26T17:45:27.527051+00:00 myhost lb 77 - [exampleSDID@32473 iut="3"] '


def test_legacy_day_is_space_padded() -> None:
    assert syslog.legacy_timestamp(calendar.timegm((2026, 1, 5, 3, 4, 5, 0, 0, 0))) == "Jan  5 03:04:05"


def test_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown log facility 'local9'"):
        syslog.facility_code("local9")
    assert syslog.level_code("bogus") == -1
    with pytest.raises(ValueError, match="unknown log format"):
        syslog.Framer("json", 16, "lb", 1)


class ListSink(Sink):
    def __init__(self) -> None:
        super().__init__("list")
        self.messages: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.messages.append(data)


@pytest.mark.parametrize(("level", "minlevel", "sent", "expected_pri"), [
    ("debug", "emerg", ["info", "err", "emerg"], ["<6>", "<3>", "<0>"]),  # everything, untouched
    ("notice", "emerg", ["info", "err", "debug"], ["<3>"]),  # less severe than notice: filtered
    ("debug", "err", ["info", "alert", "emerg"], ["<6>", "<3>", "<3>"]),  # more severe than err: capped to err
])
def test_level_filter_and_minlevel_cap(level: str, minlevel: str, sent: list[str], expected_pri: list[str]) -> None:
    sink = ListSink()
    target = Target(sink, syslog.Framer("short", 16, "lb", 1), 1024, syslog.level_code(level),
                    syslog.level_code(minlevel))
    for name in sent:
        target.send(syslog.level_code(name), b"x", 0.0)
    assert [m[: m.index(b">") + 1].decode() for m in sink.messages] == expected_pri


def test_sample_ranges_pick_messages_by_position() -> None:
    sink = ListSink()
    target = Target(sink, syslog.Framer("raw", 16, "lb", 1), 1024, 7, 0, ranges=((1, 2), (5, 5)), sample_size=6)
    for number in range(1, 13):
        target.send(6, str(number).encode(), 0.0)
    assert sink.messages == [b"1\n", b"2\n", b"5\n", b"7\n", b"8\n", b"11\n"]
