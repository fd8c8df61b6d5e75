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
              | beconn[nslots][nbackends] u32  writer: worker of the slot   |
              | bequeued[nslots][nbackends] u32 writer: worker of the slot  |
              | feconn[nslots][nproxies]  u32  writer: worker of the slot   |
              | actconn[nslots]           u32  writer: worker of the slot   |
              | counters[nslots][nobjects][NCOUNTERS] u64  writer: the      |
              |                                process of the slot          |
              | carried[nobjects][NCOUNTERS] u64  writer: master            |
              +--------------------------------------------------------------+

Every field has exactly one writer, so no cross-process lock exists: a
reader summing a column may see a value one event old, which balancing and
statistics accept.  Arrays are aligned to 8 bytes.  `nobjects` is nproxies +
nservers (proxies first, then servers in Config.all_servers() order).

Slots: 0 .. nworkers-1 are the workers, then the checker's slot
(`checker_slot`).  `carried` holds what objects of the same name counted
in generations that are gone (counters survive reloads): readers add it
to the sum of the slots' rows; only the master writes it.

Gauges and queues: `conns` counts a worker's requests (HTTP) or streams
(TCP) in flight on a server; `queued` those waiting for one server in
particular (persistence to a server at its maxconn); `bequeued` those
waiting for any server of a backend (every usable server at its maxconn);
`beconn` a worker's streams assigned to a backend (%bc, scur).
"""

from __future__ import annotations

import struct

MAGIC = b"LBSHM\0\0\0"
MAJOR = 1
MINOR = 2
HEALTH_VERSION = 0  # versions[] cells: the checker's and the master's change counters
ADMIN_VERSION = 1

HEADER = struct.Struct("<8sHHIIIIIQ")
HEADER_SIZE = 64
SLOT = struct.Struct("<iIQI")
SLOT_SIZE = 32

def slot_count(nworkers: int) -> int:
    """Slots of a generation: its workers, then the checker."""
    return nworkers + 1


# process slot states
SLOT_FREE = 0
SLOT_BOOTING = 1
SLOT_RUNNING = 2
SLOT_STOPPING = 3

# srv_admin values (master writes; `disabled` servers start in MAINT)
ADMIN_READY = 0
ADMIN_DRAIN = 1
ADMIN_MAINT = 2

# Per-object counters, one u64 each, in every slot's row (HAProxy's CSV name
# in brackets).  Cumulative unless said otherwise; "max" cells hold this
# slot's own maximum, "swrate" cells HAProxy's sliding sum over the last
# TIME_STATS_SAMPLES values (average = (sum + n - 1) // n).
COUNTERS = (
    "sessions",         # [stot] sessions (TCP streams, HTTP connections; servers: streams/requests)
    "bytes_in",         # [bin]
    "bytes_out",        # [bout]
    "denied_req",       # [dreq] requests denied by rules
    "denied_resp",      # [dresp] responses denied by rules
    "req_errors",       # [ereq] request errors
    "conn_errors",      # [econ] failed connection attempts to servers
    "resp_errors",      # [eresp] response errors (bad response, server aborts before headers)
    "retries",          # [wretr]
    "redispatches",     # [wredis]
    "lbtot",            # [lbtot] times a server was selected
    "requests",         # [req_tot] HTTP requests
    "cli_aborts",       # [cli_abrt] transfers aborted by the client
    "srv_aborts",       # [srv_abrt] transfers aborted by the server
    "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other",
    "queue_timeouts",   # requests that left a queue on timeout queue (no CSV column)
    "no_server",        # streams that found no usable server (no CSV column)
    "intercepted",      # [intercepted] requests answered by lb itself (stats page, use-service)
    "internal_errors",  # [eint] internal errors (a bug caught by the loop)
    "sessions_max",     # [smax] max: this slot's own highest concurrent sessions
    "queue_max",        # [qmax] max: this slot's own longest queue
    "last_session",     # [lastsess] epoch seconds of this slot's last session (0: none)
    "qtime",            # [qtime] swrate of queue times, ms
    "ctime",            # [ctime] swrate of connect times, ms
    "rtime",            # [rtime] swrate of response times, ms
    "ttime",            # [ttime] swrate of total times, ms
)  # fmt: skip
TIME_STATS_SAMPLES = 1024  # HAProxy's TIME_STATS_SAMPLES
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
        ("beconn", "I", nslots * nbackends),
        ("bequeued", "I", nslots * nbackends),
        ("feconn", "I", nslots * nproxies),
        ("actconn", "I", nslots),
        ("counters", "Q", nslots * nobjects * NCOUNTERS),
        ("carried", "Q", nobjects * NCOUNTERS),
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
