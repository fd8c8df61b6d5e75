"""Dates of log lines, both ways (worker formats them, cli parses them back).

HAProxy's three shapes (src/tools.c date2str_log, gmt2str_log, localdate2str_log):

    %t %tr          26/Nov/2026:17:39:30.984          local time, milliseconds
    %T %trg         26/Nov/2026:17:39:30 +0000        UTC
    %Tl %trl        26/Nov/2026:17:39:30 +0100        local time with its offset

Formatting is cached per second: a worker logging thousands of lines a
second computes the calendar fields once.
"""

from __future__ import annotations

import calendar
import time

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTHS)}
MILLIS_TEXT = tuple(f".{ms:03d}" for ms in range(1000))  # formatting three digits costs more than a lookup


def split_time(epoch: float) -> tuple[int, int]:
    """(whole seconds, milliseconds), milliseconds truncated as HAProxy's tv_usec / 1000.

    Rounding to the microsecond first keeps a date parsed back from `.984`
    (stored as ...983999) printing `.984` again (half up, as the compiled
    renderer in lb.logs.render rounds).
    """
    second = int(epoch)
    micros = int((epoch - second) * 1_000_000 + 0.5)
    if micros >= 1_000_000:  # .9999996 rounds up into the next second
        return second + 1, 0
    return second, micros // 1000


def _calendar(tm: time.struct_time) -> str:
    return f"{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"


def _offset(tm: time.struct_time) -> str:
    minutes = tm.tm_gmtoff // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


class LocalMillis:
    """%t: `26/Nov/2026:17:39:30.984` (local time)."""

    __slots__ = ("_second", "_prefix")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, epoch: float) -> str:
        second, millis = split_time(epoch)
        if second != self._second:
            self._prefix = _calendar(time.localtime(second))
            self._second = second
        return self._prefix + MILLIS_TEXT[millis]


class _CachedSeconds:
    """A date to the second, re-rendered only when the second changes."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, epoch: float) -> str:
        second = split_time(epoch)[0]
        if second != self._second:
            self._text = self.render(second)
            self._second = second
        return self._text

    @staticmethod
    def render(second: int) -> str:
        raise NotImplementedError


class GmtSeconds(_CachedSeconds):
    """%T: `26/Nov/2026:17:39:30 +0000`."""

    __slots__ = ()

    @staticmethod
    def render(second: int) -> str:
        return _calendar(time.gmtime(second)) + " +0000"


class LocalSeconds(_CachedSeconds):
    """%Tl: `26/Nov/2026:17:39:30 +0100` (local time and its UTC offset)."""

    __slots__ = ()

    @staticmethod
    def render(second: int) -> str:
        tm = time.localtime(second)
        return f"{_calendar(tm)} {_offset(tm)}"


def parse_log_date(text: str) -> float:
    """Any of the three shapes back to an epoch (ValueError when it is none of them)."""
    day, month, rest = text[:2], text[3:6], text[7:]
    if text[2:3] != "/" or text[6:7] != "/" or month not in _MONTH_NUMBER:
        raise ValueError(f"not a log date: {text!r}")
    year, hour, minute, second = int(rest[0:4]), int(rest[5:7]), int(rest[8:10]), int(rest[11:13])
    fields = (year, _MONTH_NUMBER[month], int(day), hour, minute, second)
    tail = rest[13:]
    if tail.startswith("."):
        local = time.mktime((*fields, 0, 0, -1))
        return local + int(tail[1:4]) / 1000
    if tail[:1] == " " and len(tail) == 6:
        sign = -1 if tail[1] == "-" else 1
        offset = sign * (int(tail[2:4]) * 3600 + int(tail[4:6]) * 60)
        return calendar.timegm((*fields, 0, 0, 0)) - offset
    raise ValueError(f"not a log date: {text!r}")


def isoformat(epoch: float) -> str:
    """`2026-11-26T17:39:30.984+00:00`: local time with milliseconds (for JSON output)."""
    second, millis = split_time(epoch)
    tm = time.localtime(second)
    offset = tm.tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    offset = abs(offset)
    return (f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
            f".{millis:03d}{sign}{offset // 60:02d}:{offset % 60:02d}")
