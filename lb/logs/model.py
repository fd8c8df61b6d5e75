"""Logging settings as parsed from the configuration: standard library only (all processes).

`SyslogTarget` extends the shared `LogTarget` (lb/config/model.py) with what
lb.logs needs to open it; `ProxyLogArea` lives in `Proxy.areas["logs"]` and
holds what the shared `LogSettings` has no field for.  The compiled format is
stored here by the post-parse step (lb.logs.keywords) and used by the
workers after fork (lb.logs.runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lb.config.model import Location, LogTarget

AREA = "logs"

KIND_UDP, KIND_UNIX, KIND_FD = "udp", "unix", "fd"


@dataclass
class SyslogTarget(LogTarget):
    """One `log <target> ...` line, resolved (address parsed, names checked)."""

    kind: str = KIND_UDP  # udp | unix | fd
    host: str = ""
    port: int = 514
    family: int = 2  # socket.AF_INET (an int, to keep this module socket-free)
    path: str = ""  # unix datagram socket
    fd: int = -1  # fd@N, stdout (1), stderr (2)
    format_explicit: bool = False  # `format` written: log-send-hostname does not change it
    sample_ranges: tuple[tuple[int, int], ...] = ()  # `sample 1-2,5:6`: ((1, 2), (5, 5))
    sample_size: int = 0
    ref: int = 0  # identity of the global line a `log global` copy came from (0: own line)


@dataclass
class ProxyLogArea:
    """Per-proxy logging settings beyond LogSettings."""

    tag: str | None = None  # log-tag of this proxy (None: the global one)
    format_sd: str | None = None  # log-format-sd
    format_sd_loc: Location | None = None
    compiled: Any = None  # lb.logs.logformat.CompiledFormat (post-parse), None: no traffic line
    compiled_sd: Any = None
    accept_line: bool = False  # targets but no format: HAProxy's "Connect from" line at accept


def area_of(proxy: Any) -> ProxyLogArea:
    """The proxy's ProxyLogArea, created on first use."""
    area = proxy.areas.get(AREA)
    if area is None:
        area = proxy.areas[AREA] = ProxyLogArea()
    return area
