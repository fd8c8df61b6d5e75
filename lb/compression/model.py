"""HTTP compression settings as parsed from the configuration: standard library only (all processes).

`CompressionSettings` lives in `Proxy.areas["compression"]` (one per proxy
that has a `compression` line, or inherited one from its defaults);
`CompressionLimits` in `Global.extras["compression"]` (the global
ceilings and zlib tuning).  The keyword handlers (lb.compression.keywords)
fill them in the master or the cli; workers read them after fork.

Lists keep HAProxy's order: `compression algo a b` prepends a, then b, to
the proxy's list (comp_append_algo), so the list holds the algorithms
last-configured first, followed by those inherited from the defaults.  The
order matters when a client accepts any encoding (`*`): the first
algorithm of the list is taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AREA = "compression"
GLOBAL_KEY = "compression"

# Algorithm names as `compression algo` takes them (HAProxy's cfg_name), with the
# token a client names them by in Accept-Encoding and the server in Content-Encoding.
ALGORITHM_TOKENS = {"identity": "identity", "deflate": "deflate", "raw-deflate": "deflate", "gzip": "gzip"}

DIRECTION_RESPONSE = "response"
DIRECTION_REQUEST = "request"
DIRECTION_BOTH = "both"


@dataclass
class CompressionSettings:
    """The `compression` lines of one proxy (HAProxy's struct comp)."""

    algos: list[str] = field(default_factory=list)  # cfg names, last configured first
    types: list[str] = field(default_factory=list)  # MIME type prefixes, last configured first
    offload: bool = False  # never inherited from a defaults section (HAProxy ignores it there)
    direction: str = DIRECTION_RESPONSE


@dataclass
class CompressionLimits:
    """Global ceilings (per worker: HAProxy's are per process) and zlib tuning."""

    max_rate: int = 0  # maxcomprate, in bytes per second of compressor input (0: none)
    max_cpu: int = 100  # maxcompcpuusage, percent of one CPU this worker may be busy
    max_memory: int = 0  # maxzlibmem, bytes of compressor state (0: none)
    level: int = 1  # tune.comp.maxlevel: the zlib level used
    mem_level: int = 8  # tune.zlib.memlevel
    window_bits: int = 15  # tune.zlib.windowsize


def settings_of(proxy: Any) -> CompressionSettings | None:
    """The proxy's compression settings, None when it has no `compression` line (nor its defaults)."""
    return proxy.areas.get(AREA)


def settings_for(proxy: Any) -> CompressionSettings:
    """The proxy's compression settings, created on first use."""
    settings = proxy.areas.get(AREA)
    if settings is None:
        settings = proxy.areas[AREA] = CompressionSettings()
    return settings


def limits_of(glob: Any) -> CompressionLimits:
    """The global compression limits (defaults when the global section sets none)."""
    limits = glob.extras.get(GLOBAL_KEY)
    return limits if limits is not None else CompressionLimits()


def limits_for(glob: Any) -> CompressionLimits:
    limits = glob.extras.get(GLOBAL_KEY)
    if limits is None:
        limits = glob.extras[GLOBAL_KEY] = CompressionLimits()
    return limits
