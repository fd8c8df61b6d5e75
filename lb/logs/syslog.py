"""Syslog framing: facilities, levels and the eight HAProxy header formats (worker, master, checker).

A traffic line or an event text becomes one message: `header + body`, cut to
the target's `len` (header included, as HAProxy's `__do_send_log()`), then a
line feed.  Headers per format (HAProxy 2.6 `build_log_header()`; recorded
lines in tests/logs/data/haproxy26.json):

    local     <134>Nov 26 17:39:44 lb[4242]: body             (the default)
    rfc3164   <142>Nov 26 17:39:44 localhost lb[4242]: body   (host: log-send-hostname)
    rfc5424   <150>1 2026-11-26T17:39:44.527051+00:00 - lb 4242 - - body
    priority  <166>body
    short     <6>body           (level only: no facility)
    timed     <6>2026-11-26T17:39:44.527067+00:00 body
    iso       2026-11-26T17:39:44.527071+00:00 body
    raw       body

PRI = facility * 8 + level.  The seconds-resolution headers are cached per
(second, level), so a busy worker builds them once a second.
"""

from __future__ import annotations

import time

FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
FORMATS = ("local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw")

LOG_EMERG, LOG_ALERT, LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG = range(8)

DEFAULT_LEN = 1024  # HAProxy's MAX_SYSLOG_LEN
MIN_LEN, MAX_LEN = 80, 65535
DEFAULT_PORT = 514

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def facility_code(name: str) -> int:
    """`local0` -> 16; ValueError with HAProxy's text for an unknown name."""
    try:
        return FACILITIES.index(name)
    except ValueError:
        raise ValueError(f"unknown log facility '{name}'") from None


def level_code(name: str) -> int:
    """`info` -> 6; -1 for an unknown name (callers word their own error)."""
    return LEVELS.index(name) if name in LEVELS else -1


def legacy_timestamp(now: float) -> str:
    """`Nov  6 07:08:09` (RFC3164: day padded with a space), local time."""
    tm = time.localtime(now)
    return f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"


def iso_timestamp(now: float) -> str:
    """`2026-11-26T17:39:44.527051+00:00`: local time, microseconds, numeric offset."""
    whole = round(now * 1_000_000)
    tm = time.localtime(whole // 1_000_000)
    micros = whole % 1_000_000
    offset = tm.tm_gmtoff
    sign = "+" if offset >= 0 else "-"
    offset = abs(offset) // 60
    return (f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
            f".{micros:06d}{sign}{offset // 60:02d}:{offset % 60:02d}")


class Framer:
    """Builds the header of one target's messages (format, facility, tag, pid, host).

    Created per target in each process; `header(level, now)` is the only call
    on the traffic path and returns bytes ready to prepend.
    """

    __slots__ = ("format", "facility", "tag", "pid", "hostname", "_cache_second", "_cache_level", "_cache")

    def __init__(self, fmt: str, facility: int, tag: str, pid: int, hostname: str | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown log format '{fmt}'")
        self.format = fmt
        self.facility = facility
        self.tag = tag
        self.pid = pid
        self.hostname = hostname
        self._cache_second = -1  # the legacy header cached for this second and level
        self._cache_level = -1
        self._cache = b""

    def priority(self, level: int) -> int:
        """PRI as HAProxy writes it: `short` and `timed` carry the level only."""
        if self.format in ("short", "timed"):
            return level
        return self.facility * 8 + level

    def header(self, level: int, now: float, structured_data: str = "-") -> bytes:
        """The header for a message at `level` sent at `now`; `structured_data`
        is the rfc5424 SD field (log-format-sd), ignored by other formats."""
        fmt = self.format
        if fmt == "raw":
            return b""
        if fmt == "local" or fmt == "rfc3164":
            second = int(now)
            if second != self._cache_second or level != self._cache_level:
                self._cache = self._legacy_header(level, now).encode()
                self._cache_second, self._cache_level = second, level
            return self._cache
        if fmt in ("priority", "short"):
            return f"<{self.priority(level)}>".encode()
        if fmt == "timed":
            return f"<{level}>{iso_timestamp(now)} ".encode()
        if fmt == "iso":
            return f"{iso_timestamp(now)} ".encode()
        return self._rfc5424_header(level, now, structured_data or "-").encode()

    def _legacy_header(self, level: int, now: float) -> str:
        host = ""
        if self.format == "rfc3164":
            # RFC3164 requires a host field: HAProxy writes "localhost" unless
            # log-send-hostname names one.
            host = f"{self.hostname or 'localhost'} "
        return f"<{self.priority(level)}>{legacy_timestamp(now)} {host}{self.tag}[{self.pid}]: "

    def _rfc5424_header(self, level: int, now: float, structured_data: str) -> str:
        host = self.hostname or "-"
        return (f"<{self.priority(level)}>1 {iso_timestamp(now)} {host} {self.tag or '-'} {self.pid} - "
                f"{structured_data} ")


def frame(header: bytes, body: bytes, max_len: int) -> bytes:
    """header + body cut to `max_len` bytes in total, then a line feed (never cut)."""
    room = max_len - len(header)
    if len(body) > room:
        body = body[: max(room, 0)]
    return header + body + b"\n"
