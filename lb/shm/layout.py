"""Shared-memory layout of one generation (master creates; workers and checker attach by fork).

Standard library only.  One anonymous MAP_SHARED region per generation,
laid out as a header followed by arrays (structure of arrays, so that a
worker reads one typed element per access on its hot path):

    offset 0  +--------------------------------------------------------------+
              | header  magic "LBSHM\\0\\0\\0" | major u16 | minor u16 |         |
              |         generation u32 | nslots u32 | nservers u32 |          |
              |         nbackends u32 | nproxies u32 | created_ms u64 | pad   |  64 bytes
              +--------------------------------------------------------------+
              | slots[nslots]      pid i32 | generation u32 | heartbeat u64 |  |
              |                    state u32 | pad                          |  32 bytes each
              +--------------------------------------------------------------+
              | srv_up[nservers]          u8   writer: checker              |
              | srv_status[nservers]      u8   (index in checker STATUSES)  |
              | srv_health[nservers]      u16  rise/fall counter            |
              | srv_code[nservers]        u16  last L7 status code          |
              | srv_duration[nservers]    u32  last check duration, ms      |
              | srv_change[nservers]      u64  last state change, epoch ms  |
              | srv_checks[nservers]      u64  checks run, failed << 32     |
              +--------------------------------------------------------------+
              | srv_admin[nservers]       u8   writer: master (runtime API) |
              | srv_weight[nservers]      u16  writer: master               |
              | versions[2]               u64  [0] checker: bumped when an  |
              |                                srv_up changes; [1] master:  |
              |                                when admin or weight changes |
              +--------------------------------------------------------------+
              | conns[nslots][nservers]   u32  writer: worker of the slot   |
              | queued[nslots][nservers]  u32  writer: worker of the slot   |
              | picks[nslots][nbackends]  u64  writer: worker of the slot   |
              | feconn[nslots][nproxies]  u32  writer: worker of the slot   |
              | actconn[nslots]           u32  writer: worker of the slot   |
              | counters[nslots][nobjects][NCOUNTERS] u64  worker of slot   |
              +--------------------------------------------------------------+

Every field has exactly one writer, so no cross-process lock exists: a
reader summing a column may see a value one event old, which balancing and
statistics accept.  Arrays are aligned to 8 bytes.  `nobjects` is nproxies +
nservers (proxies first, then servers in Config.all_servers() order).
"""

from __future__ import annotations

import struct

MAGIC = b"LBSHM\0\0\0"
MAJOR = 1
MINOR = 1
HEALTH_VERSION = 0  # versions[] cells: the checker's and the master's change counters
ADMIN_VERSION = 1

HEADER = struct.Struct("<8sHHIIIIIQ")
HEADER_SIZE = 64
SLOT = struct.Struct("<iIQI")
SLOT_SIZE = 32

# process slot states
SLOT_FREE = 0
SLOT_BOOTING = 1
SLOT_RUNNING = 2
SLOT_STOPPING = 3

# srv_admin values (master writes; `disabled` servers start in MAINT)
ADMIN_READY = 0
ADMIN_DRAIN = 1
ADMIN_MAINT = 2

# per-object counters, one u64 each
COUNTERS = (
    "sessions", "bytes_in", "bytes_out", "conn_errors", "resp_errors", "req_errors",
    "denied", "retries", "redispatches", "no_server", "requests", "cli_aborts", "srv_aborts",
    "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "queue_timeouts",
)  # fmt: skip
COUNTER = {name: index for index, name in enumerate(COUNTERS)}
NCOUNTERS = len(COUNTERS)


def _align(n: int) -> int:
    return (n + 7) & ~7


def arrays(nslots: int, nservers: int, nbackends: int, nproxies: int) -> list[tuple[str, str, int]]:
    """(name, struct format char, element count) of every array, in layout order."""
    nobjects = nproxies + nservers
    return [
        ("srv_up", "B", nservers),
        ("srv_status", "B", nservers),
        ("srv_health", "H", nservers),
        ("srv_code", "H", nservers),
        ("srv_duration", "I", nservers),
        ("srv_change", "Q", nservers),
        ("srv_checks", "Q", nservers),
        ("srv_admin", "B", nservers),
        ("srv_weight", "H", nservers),
        ("versions", "Q", 2),
        ("conns", "I", nslots * nservers),
        ("queued", "I", nslots * nservers),
        ("picks", "Q", nslots * nbackends),
        ("feconn", "I", nslots * nproxies),
        ("actconn", "I", nslots),
        ("counters", "Q", nslots * nobjects * NCOUNTERS),
    ]


def offsets(nslots: int, nservers: int, nbackends: int, nproxies: int) -> tuple[dict[str, tuple[int, str, int]], int]:
    """{array name: (offset, format, count)} and the total size in bytes."""
    position = HEADER_SIZE + nslots * SLOT_SIZE
    table = {}
    for name, fmt, count in arrays(nslots, nservers, nbackends, nproxies):
        position = _align(position)
        table[name] = (position, fmt, count)
        position += struct.calcsize(fmt) * max(count, 0)
    return table, _align(position)
